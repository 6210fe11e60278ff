//! The date-translation task of `examples/seq2seq.rs` and `glassgrad train seq2seq`: dates written in
//! words to ISO dates, padded batches, exact-match evaluation, and the train job.

use super::model::{Cell, Seq2Seq, Seq2SeqConfig};
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::rng::Generator;
use crate::tensor::Tensor;

/// Right-pads id sequences with `pad` into an $(N, \max_n \mathrm{len})$ i64 tensor.
pub fn pad_batch(seqs: &[Vec<i64>], pad: i64) -> Result<Tensor> {
    let l = seqs.iter().map(Vec::len).max().unwrap_or(0);
    let mut flat = Vec::with_capacity(seqs.len() * l);
    for s in seqs {
        flat.extend(s.iter().copied().chain(std::iter::repeat(pad)).take(l));
    }
    Tensor::from_vec(flat, &[seqs.len(), l])
}

/// Encoded examples: (source ids, target ids ending in eos).
pub type EncodedPairs = Vec<(Vec<i64>, Vec<i64>)>;

/// The dates task of `examples/seq2seq.rs` and `glassgrad train seq2seq`, encoded: the source
/// vocabulary from the training sentences, the target vocabulary the digits and `-`.
pub struct DateData {
    pub task: crate::data::dates::DateTask,
    pub src_vocab: crate::data::dates::Vocab,
    pub tgt_vocab: crate::data::dates::Vocab,
    pub train: EncodedPairs,
    pub test: EncodedPairs,
}

/// Generates `n_train` + `n_test` dates (disjoint dates, seeded) and encodes them.
pub fn date_data(n_train: usize, n_test: usize, seed: u64) -> Result<DateData> {
    use crate::data::dates::{DateTask, Vocab, source_tokens};
    let task = DateTask::new(n_train, n_test, seed)?;
    if task.leaks() {
        return Err(Error::invalid("date_data", "a test date appears in training"));
    }
    let words: Vec<String> = task.train.iter().flat_map(|e| source_tokens(&e.source)).collect();
    let src_vocab = Vocab::build(words.iter().map(String::as_str));
    let tgt_vocab = Vocab::build("0123456789-".split("").filter(|s| !s.is_empty()));
    let train = encode_dates(&task.train, &src_vocab, &tgt_vocab);
    let test = encode_dates(&task.test, &src_vocab, &tgt_vocab);
    Ok(DateData { task, src_vocab, tgt_vocab, train, test })
}

fn encode_dates(
    ex: &[crate::data::dates::DateExample],
    src: &crate::data::dates::Vocab,
    tgt: &crate::data::dates::Vocab,
) -> EncodedPairs {
    use crate::data::dates::{source_tokens, target_tokens};
    ex.iter()
        .map(|e| (src.encode(&source_tokens(&e.source), false), tgt.encode(&target_tokens(&e.target), true)))
        .collect()
}

/// One epoch's batches of indices: shuffled, then sorted by source length within windows of 16
/// batches so that a batch holds few distinct lengths (the encoder runs once per length), then
/// the batches shuffled. Draws from `rng`.
pub fn date_batches(data: &[(Vec<i64>, Vec<i64>)], batch: usize, rng: &mut Generator) -> Vec<Vec<usize>> {
    let mut order = rng.permutation(data.len());
    let mut out = Vec::new();
    for window in order.chunks_mut(batch.max(1) * 16) {
        window.sort_by_key(|&i| data[i].0.len());
        out.extend(window.chunks(batch.max(1)).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut out);
    out
}

/// The padded (source, target) tensors of the examples `idx`.
pub fn date_tensors(data: &[(Vec<i64>, Vec<i64>)], idx: &[usize]) -> Result<(Tensor, Tensor)> {
    use crate::data::dates::PAD;
    let src: Vec<Vec<i64>> = idx.iter().map(|&i| data[i].0.clone()).collect();
    let tgt: Vec<Vec<i64>> = idx.iter().map(|&i| data[i].1.clone()).collect();
    Ok((pad_batch(&src, PAD)?, pad_batch(&tgt, PAD)?))
}

/// Exact-match accuracy of greedy decoding (at most 12 tokens) over `data`, and up to five wrong
/// answers `(index, decoded)` to show.
pub fn exact_match(
    model: &Seq2Seq,
    data: &[(Vec<i64>, Vec<i64>)],
    tgt: &crate::data::dates::Vocab,
) -> Result<(f64, Vec<(usize, String)>)> {
    use crate::data::dates::EOS;
    let (mut right, mut wrong) = (0, Vec::new());
    let idx: Vec<usize> = (0..data.len()).collect();
    for chunk in idx.chunks(256) {
        let (src, _) = date_tensors(data, chunk)?;
        let out = model.greedy_decode(&src, 12)?;
        for (&i, ids) in chunk.iter().zip(&out) {
            let want = tgt.decode(&data[i].1, "");
            let got = tgt.decode(ids, "");
            if got == want && ids.last() == Some(&EOS) {
                right += 1;
            } else if wrong.len() < 5 {
                wrong.push((i, got));
            }
        }
    }
    Ok((right as f64 / data.len().max(1) as f64, wrong))
}

/// The example's model for a [`DateData`]: a GRU encoder–decoder, embedding 32, hidden 64,
/// decoding at most 12 tokens.
pub fn date_model(
    d: &DateData,
    cell: Cell,
    embed: usize,
    hidden: usize,
    rng: &mut Generator,
) -> Result<Seq2Seq> {
    let mut config = Seq2SeqConfig::new(d.src_vocab.len(), d.tgt_vocab.len(), embed, hidden);
    config.cell = cell;
    config.max_len = 12;
    Seq2Seq::new(config, rng)
}

/// Training and held-out dates of `glassgrad train seq2seq` (as the example's defaults).
pub const DATES_TRAIN: usize = 20_000;
pub const DATES_TEST: usize = 2_000;

/// The `seq2seq` entry of `glassgrad train`: the dates task ([`date_data`], 20,000 training and
/// 2,000 held-out dates generated from `--seed`) with the example's settings: GRU, embedding 32,
/// hidden 64, Adam at $3 \cdot 10^{-3}$, gradients clipped to norm 1, batches of 64, 4 epochs;
/// the same seed gives the example's numbers. Per epoch `metrics.csv` records the training loss
/// and the exact match on the first 500 held-out dates; the headline is the exact match on all
/// of them (`held-out exact match: …`). `--resume` continues from an epoch checkpoint (model,
/// Adam's state and the batch generator). There is no `eval`: the task is generated, not read
/// from a file, and its vocabularies come from the generated training sentences.
pub struct Seq2SeqJob;

/// Columns of `metrics.csv` for `seq2seq`.
pub const SEQ2SEQ_COLUMNS: &[&str] = &["epoch", "train_loss", "test_exact_match_500", "samples_per_s"];

impl crate::train::TrainJob for Seq2SeqJob {
    fn name(&self) -> &'static str {
        "seq2seq"
    }
    fn about(&self) -> &'static str {
        "GRU encoder-decoder with Luong attention: dates in words to ISO dates (generated)"
    }
    fn defaults(&self) -> crate::train::Defaults {
        crate::train::Defaults { epochs: 4, batch_size: 64, lr: 3e-3, lr_decay: 1.0, data: "" }
    }
    fn columns(&self) -> &'static [&'static str] {
        SEQ2SEQ_COLUMNS
    }
    fn unused_options(&self) -> &'static [&'static str] {
        &["data"]
    }
    fn train(
        &self,
        hp: &crate::train::Hyper,
        resume: Option<&std::path::Path>,
        rep: &mut crate::train::Reporter,
    ) -> Result<crate::train::FinalMetrics> {
        use crate::checkpoint::{TrainState, load_checkpoint, read_checkpoint, save_checkpoint};
        use crate::optim::{Adam, AdamConfig, Optimizer, clip_grad_norm};
        let started = std::time::Instant::now();
        let d = date_data(DATES_TRAIN, DATES_TEST, hp.seed)?;
        let mut rng = Generator::new(hp.seed);
        let model = date_model(&d, Cell::Gru, 32, 64, &mut rng)?;
        let params = model.parameters();
        let mut opt = Adam::new(params.clone(), AdamConfig::new(hp.lr))?;
        let meta: std::collections::BTreeMap<String, String> = [
            ("model", self.name().to_string()),
            ("seed", hp.seed.to_string()),
            ("batch_size", hp.batch_size.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut done = 0;
        if let Some(path) = resume {
            let stored = read_checkpoint(path)?.train_state()?.meta;
            if stored != meta {
                return Err(Error::file(
                    path,
                    format!(
                        "the checkpoint's run {stored:?} is not this run {meta:?}: resuming would not continue it"
                    ),
                ));
            }
            let st = load_checkpoint(path, &model, Some(&mut opt))?;
            done = st.epoch;
            rng = st.rng.ok_or_else(|| Error::file(path, "no generator state in the checkpoint"))?;
            rep.restore(&st.history_columns, st.history)?;
        }
        let state = |epoch: u64, rng: &Generator, rep: &crate::train::Reporter| TrainState {
            epoch,
            rng: Some(rng.clone()),
            history_columns: rep.columns().to_vec(),
            history: rep.history().to_vec(),
            meta: meta.clone(),
            ..Default::default()
        };
        for epoch in done + 1..=hp.epochs {
            opt.set_lr(hp.lr * hp.lr_decay.powi(epoch as i32 - 1));
            let batches = date_batches(&d.train, hp.batch_size, &mut rng);
            rep.start_epoch(epoch, hp.epochs, batches.len());
            let (mut total, mut rows) = (0.0f64, 0usize);
            for (step, idx) in batches.into_iter().enumerate() {
                let (src, tgt) = date_tensors(&d.train, &idx)?;
                opt.zero_grad();
                let loss = model.loss(&src, &tgt)?;
                loss.backward()?;
                clip_grad_norm(&params, 1.0, 2.0)?;
                opt.step()?;
                let l = loss.item()?;
                crate::train::check_loss("seq2seq", epoch, step + 1, l, opt.lr())?;
                total += l * idx.len() as f64;
                rows += idx.len();
                rep.batch(l, idx.len());
            }
            let per_s = rep.samples_per_s();
            let (acc, _) = exact_match(&model, &d.test[..d.test.len().min(500)], &d.tgt_vocab)?;
            crate::train::check_parameters("seq2seq", &model, epoch, opt.lr())?;
            rep.end_epoch(vec![epoch as f64, total / rows.max(1) as f64, acc, per_s])?;
            save_checkpoint(rep.epoch_checkpoint(epoch), &model, Some(&opt), &state(epoch, &rng, rep))?;
            crate::train::publish_final(&rep.epoch_checkpoint(epoch), &rep.final_checkpoint())?;
        }
        let epochs = done.max(hp.epochs);
        if done >= hp.epochs {
            save_checkpoint(rep.final_checkpoint(), &model, Some(&opt), &state(epochs, &rng, rep))?;
        }
        let Some(last) = rep.history().last().cloned() else {
            return Err(Error::invalid("train", "no epoch was run (--epochs 0)"));
        };
        let (acc, wrong) = exact_match(&model, &d.test, &d.tgt_vocab)?;
        let notes = wrong
            .iter()
            .map(|(i, got)| {
                format!("miss: {} -> {got} (want {})", d.task.test[*i].source, d.task.test[*i].target)
            })
            .collect();
        Ok(crate::train::FinalMetrics {
            model: self.name().into(),
            tags: Vec::new(),
            headline: ("held-out exact match".into(), "exact_match".into()),
            values: vec![
                ("exact_match".into(), acc.into()),
                ("final_loss".into(), last[1].into()),
                ("epochs".into(), crate::train::Figure::Count(epochs)),
                ("samples_per_s".into(), last[3].into()),
                ("fit_s".into(), started.elapsed().as_secs_f64().into()),
            ],
            notes,
        })
    }
    fn eval(
        &self,
        _checkpoint: &std::path::Path,
        _data: &std::path::Path,
    ) -> Result<crate::train::FinalMetrics> {
        Err(Error::invalid(
            "eval seq2seq",
            "not available: the dates task is generated (`train seq2seq --seed S`), not read from a data file, and its vocabularies come from the generated training sentences",
        ))
    }
}
