//! The training loop of a classifier (cross-entropy on logits, any optimizer), shared by every
//! classification job, with checkpoints after each epoch and exact resumption.
//!
//! Per epoch $e$: the training rows in the loader's seeded order for $e$, batches of $B$; per batch
//! `zero_grad`, $\ell = \frac1B\sum_i \operatorname{CE}(f(x_i), y_i)$, `backward`, `step`. The
//! epoch's training loss is $\frac1N\sum_{\text{batches}} B_b\,\ell_b$, summed in f64 in batch
//! order (the same bits on any thread count). Then the held-out loss and accuracy in eval mode.
//!
//! What makes `--resume` exact: the checkpoint after epoch $e$ holds the parameters, the
//! optimizer's whole state, the loader's next epoch (its order is a function of seed and epoch)
//! and the loop's generator; the run's seed and batch size are checked against the checkpoint's.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use super::guard::{check_loss, check_parameters};
use super::job::Hyper;
use super::reporter::Reporter;
use super::result::{Figure, FinalMetrics};
use super::run_dir::publish_final;
use crate::autograd::no_grad;
use crate::checkpoint::{TrainState, load_checkpoint, load_state_dict, read_checkpoint, save_checkpoint};
use crate::data::DataLoader;
use crate::data::split::check_split_sides;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::ops::loss::Reduction;
use crate::optim::Optimizer;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// A validation set: the epoch with the best validation accuracy (the first, on ties) is the one
/// whose test figures are reported.
#[derive(Debug, Clone)]
pub struct Validation {
    pub x: Tensor,
    pub y: Tensor,
}

/// An optimizer that rescales the gradients to a total 2-norm of at most `max_norm`
/// ([`clip_grad_norm`](crate::optim::clip_grad_norm)) before each step of `inner`; its state is
/// `inner`'s.
pub struct ClipGradNorm<O: Optimizer> {
    pub inner: O,
    pub max_norm: f64,
}

impl<O: Optimizer> Optimizer for ClipGradNorm<O> {
    fn step(&mut self) -> Result<()> {
        crate::optim::clip_grad_norm(self.inner.params(), self.max_norm, 2.0)?;
        self.inner.step()
    }
    fn params(&self) -> &[Tensor] {
        self.inner.params()
    }
    fn lr(&self) -> f64 {
        self.inner.lr()
    }
    fn set_lr(&mut self, lr: f64) {
        self.inner.set_lr(lr)
    }
    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        self.inner.state_tensors()
    }
    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.inner.load_state_tensors(state)
    }
}

/// Salts that keep the split, the shuffling and the loop generator independent for one seed.
const SPLIT_SALT: u64 = 0x5EED_5B11;
const LOADER_SALT: u64 = 0x5EED_10AD;
const LOOP_SALT: u64 = 0x5EED_100B;

/// Inputs (`[N, ...]`, float) and class labels (`[N]`, i64), split into training and held-out rows.
#[derive(Debug, Clone)]
pub struct ClassifierData {
    pub train_x: Tensor,
    pub train_y: Tensor,
    pub test_x: Tensor,
    pub test_y: Tensor,
}

impl ClassifierData {
    /// A seeded random split: `round(N · test_fraction)` held-out rows, the rest for training.
    pub fn split(x: Tensor, y: Tensor, test_fraction: f64, seed: u64) -> Result<ClassifierData> {
        let n = x.shape().first().copied().unwrap_or(0);
        if y.shape() != [n] || y.dtype() != DType::I64 {
            return Err(Error::mismatch(
                "ClassifierData::split",
                &x.shape(),
                &y.shape(),
                "labels must be i64 [N]",
            ));
        }
        if !(0.0..1.0).contains(&test_fraction) {
            return Err(Error::invalid(
                "ClassifierData::split",
                format!("test_fraction {test_fraction} not in [0, 1)"),
            ));
        }
        let perm = Generator::new(seed ^ SPLIT_SALT).permutation(n);
        let n_test = (n as f64 * test_fraction).round() as usize;
        check_split_sides(
            "the data file",
            &[("training", n - n_test), ("held-out", n_test)],
            Some(test_fraction.min(1.0 - test_fraction)),
        )?;
        let idx = |rows: &[usize]| Tensor::from_vec(rows.iter().map(|&i| i as i64).collect(), &[rows.len()]);
        let (test, train) = (idx(&perm[..n_test])?, idx(&perm[n_test..])?);
        Ok(ClassifierData {
            train_x: x.index_select(0, &train)?,
            train_y: y.index_select(0, &train)?,
            test_x: x.index_select(0, &test)?,
            test_y: y.index_select(0, &test)?,
        })
    }
}

/// The number of rows whose arg-max logit is the label.
fn count_correct(logits: &Tensor, y: &Tensor) -> Result<usize> {
    let pred = logits.argmax(Some(-1), false)?.to_vec::<i64>()?;
    let y = y.to_vec::<i64>()?;
    Ok(pred.iter().zip(&y).filter(|(p, y)| p == y).count())
}

/// Mean cross-entropy and accuracy of `model` on `(x, y)`, without gradients, in batches of
/// `batch_size` rows (the model's mode is left as it is).
pub fn evaluate(model: &dyn Module, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<(f64, f64)> {
    let n = y.numel();
    if n == 0 {
        return Err(Error::shape("evaluate", &y.shape(), "no rows to evaluate"));
    }
    no_grad(|| {
        let (mut loss, mut correct) = (0.0f64, 0usize);
        let mut start = 0;
        while start < n {
            let len = batch_size.max(1).min(n - start);
            let (xb, yb) = (x.narrow(0, start, len)?, y.narrow(0, start, len)?);
            let logits = model.forward(&xb)?;
            loss += logits.cross_entropy(&yb, Reduction::Sum)?.item()?;
            correct += count_correct(&logits, &yb)?;
            start += len;
        }
        Ok((loss / n as f64, correct as f64 / n as f64))
    })
}

/// Trains `model` with `optimizer` on `data` for `hp.epochs` epochs in all (continuing from the
/// checkpoint `resume` if given), checkpointing after every epoch and at the end; returns the
/// final figures with the held-out accuracy as headline.
pub fn fit_classifier(
    name: &str,
    model: &mut dyn Module,
    optimizer: &mut dyn Optimizer,
    data: &ClassifierData,
    hp: &Hyper,
    resume: Option<&Path>,
    rep: &mut Reporter,
) -> Result<FinalMetrics> {
    fit_classifier_validated(name, model, optimizer, data, None, hp, resume, rep)
}

/// [`fit_classifier`] with an optional validation set: each epoch also records `val_loss` and
/// `val_accuracy` (columns [`CLASSIFIER_VAL_COLUMNS`](super::CLASSIFIER_VAL_COLUMNS)), and the figures reported are those of the
/// epoch with the best validation accuracy (`best_epoch`; its checkpoint is
/// `checkpoints/epoch_NNN.safetensors`), not the last one. Without validation it is
/// [`fit_classifier`].
#[allow(clippy::too_many_arguments)]
pub fn fit_classifier_validated(
    name: &str,
    model: &mut dyn Module,
    optimizer: &mut dyn Optimizer,
    data: &ClassifierData,
    validation: Option<&Validation>,
    hp: &Hyper,
    resume: Option<&Path>,
    rep: &mut Reporter,
) -> Result<FinalMetrics> {
    let started = Instant::now();
    let mut loader = DataLoader::new(vec![data.train_x.clone(), data.train_y.clone()], hp.batch_size)?
        .shuffle(hp.seed.wrapping_add(LOADER_SALT));
    let mut rng = Generator::new(hp.seed.wrapping_add(LOOP_SALT));
    let meta = BTreeMap::from([
        ("model".to_string(), name.to_string()),
        ("seed".to_string(), hp.seed.to_string()),
        ("batch_size".to_string(), hp.batch_size.to_string()),
        ("lr".to_string(), hp.lr.to_string()),
    ]);
    let mut done = 0;
    if let Some(path) = resume {
        let stored = read_checkpoint(path)?.train_state()?.meta;
        for key in ["model", "seed", "batch_size"] {
            if stored.get(key) != meta.get(key) {
                return Err(Error::file(
                    path,
                    format!(
                        "the checkpoint's {key} is {:?}, this run's is {:?}: resuming would not continue the same run",
                        stored.get(key).map_or("(none)", String::as_str),
                        meta[key]
                    ),
                ));
            }
        }
        let st = load_checkpoint(path, &*model, Some(&mut *optimizer))?;
        if st.loader_batch != 0 {
            return Err(Error::file(
                path,
                "checkpoint taken mid-epoch; this loop resumes at epoch boundaries",
            ));
        }
        done = st.epoch;
        loader.set_epoch(st.loader_epoch);
        if let Some(g) = st.rng {
            rng = g;
        }
        rep.restore(&st.history_columns, st.history)?;
    }
    let state = |epoch: u64, loader: &DataLoader, rng: &Generator, rep: &Reporter| TrainState {
        epoch,
        rng: Some(rng.clone()),
        loader_epoch: loader.epoch(),
        loader_batch: 0,
        history_columns: rep.columns().to_vec(),
        history: rep.history().to_vec(),
        meta: meta.clone(),
    };
    for epoch in done + 1..=hp.epochs {
        optimizer.set_lr(hp.lr * hp.lr_decay.powi(epoch as i32 - 1));
        model.train();
        rep.start_epoch(epoch, hp.epochs, loader.len());
        let (mut loss_sum, mut correct, mut n) = (0.0f64, 0usize, 0usize);
        for (step, batch) in loader.iter().enumerate() {
            let b = batch?;
            let (x, y) = (&b[0], &b[1]);
            optimizer.zero_grad();
            let logits = model.forward(x)?;
            let loss = logits.cross_entropy(y, Reduction::Mean)?;
            loss.backward()?;
            optimizer.step()?;
            let (l, rows) = (loss.item()?, y.numel());
            check_loss(name, epoch, step + 1, l, optimizer.lr())?;
            loss_sum += l * rows as f64;
            n += rows;
            correct += count_correct(&logits, y)?;
            rep.batch(l, rows);
        }
        let samples_per_s = rep.samples_per_s();
        model.eval();
        let (test_loss, test_acc) = evaluate(&*model, &data.test_x, &data.test_y, 512)?;
        let n = n.max(1) as f64;
        let mut row =
            vec![epoch as f64, loss_sum / n, test_loss, correct as f64 / n, test_acc, samples_per_s];
        if let Some(v) = validation {
            let (val_loss, val_acc) = evaluate(&*model, &v.x, &v.y, 512)?;
            row.extend([val_loss, val_acc]);
        }
        check_parameters(name, &*model, epoch, optimizer.lr())?;
        rep.end_epoch(row)?;
        save_checkpoint(
            rep.epoch_checkpoint(epoch),
            &*model,
            Some(&*optimizer),
            &state(epoch, &loader, &rng, rep),
        )?;
        publish_final(&rep.epoch_checkpoint(epoch), &rep.final_checkpoint())?;
    }
    let epochs = done.max(hp.epochs);
    if done >= hp.epochs {
        // No epoch ran in this call (a library caller resuming a finished run).
        save_checkpoint(
            rep.final_checkpoint(),
            &*model,
            Some(&*optimizer),
            &state(epochs, &loader, &rng, rep),
        )?;
    }
    let Some(last) = rep.history().last().cloned() else {
        return Err(Error::invalid("train", "no epoch was run (--epochs 0)"));
    };
    let mut values = Vec::new();
    let mut notes = Vec::new();
    let reported = match validation {
        None => last.clone(),
        Some(_) => {
            // The first epoch with the highest validation accuracy (column 7).
            let mut best = &last;
            for r in rep.history() {
                if r.get(7) > best.get(7) || (r.get(7) == best.get(7) && r[0] < best[0]) {
                    best = r;
                }
            }
            notes.push(format!(
                "best validation epoch's checkpoint: {}",
                rep.epoch_checkpoint(best[0] as u64).display()
            ));
            best.clone()
        }
    };
    values.push(("accuracy".to_string(), reported[4].into()));
    values.push(("test_loss".into(), reported[2].into()));
    values.push(("train_accuracy".into(), reported[3].into()));
    if validation.is_some() {
        values.push(("val_accuracy".into(), reported[7].into()));
        values.push(("best_epoch".into(), Figure::Count(reported[0] as u64)));
    }
    values.extend([
        ("final_loss".to_string(), last[1].into()),
        ("epochs".into(), Figure::Count(epochs)),
        ("samples_per_s".into(), last[5].into()),
        ("fit_s".into(), started.elapsed().as_secs_f64().into()),
    ]);
    Ok(FinalMetrics {
        model: name.to_string(),
        tags: Vec::new(),
        headline: ("held-out accuracy".into(), "accuracy".into()),
        values,
        notes,
    })
}

/// Loads `checkpoint` into `model` (parameters only) and evaluates it on `(x, y)` in eval mode.
/// `on` says which rows these are, for the headline `accuracy on <on>: …` (the file's name, or
/// `the test period of FILE`): an evaluation file may hold training rows, so the headline does not
/// call them held out.
pub fn eval_classifier(
    name: &str,
    model: &mut dyn Module,
    checkpoint: &Path,
    x: &Tensor,
    y: &Tensor,
    on: &str,
) -> Result<FinalMetrics> {
    let started = Instant::now();
    load_state_dict(checkpoint, &*model)?;
    model.eval();
    let (loss, acc) = evaluate(&*model, x, y, 512)?;
    Ok(FinalMetrics {
        model: name.to_string(),
        tags: Vec::new(),
        headline: (format!("accuracy on {on}"), "accuracy".into()),
        values: vec![
            ("accuracy".into(), acc.into()),
            ("loss".into(), loss.into()),
            ("samples".into(), Figure::Count(y.numel() as u64)),
            ("predict_s".into(), started.elapsed().as_secs_f64().into()),
        ],
        notes: vec![format!("checkpoint: {}", checkpoint.display())],
    })
}
