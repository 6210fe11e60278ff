//! The `credit` entry of `glassgrad train` / `glassgrad eval`: [`CreditJob`] and its options.

use super::*;

/// Options of `glassgrad train credit` beyond the generic ones.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct CreditOptions {
    /// Folds of the stratified cross-validation (default 5).
    #[arg(long)]
    pub folds: Option<usize>,
    /// Hold out this fraction of the rows (stratified, seeded by --seed) from the refit model saved
    /// in model.safetensors, and report its AUC on them (holdout_auc); strictly between 0 and 1.
    #[arg(long)]
    pub holdout: Option<f64>,
}

/// The `credit` entry of `glassgrad train`: stratified k-fold cross-validation of the MLP and the
/// logistic regression ([`cross_validate`]), with [`CreditConfig`]'s defaults (what
/// `examples/credit.rs` measures): `--epochs` is the MLP's epochs per fold (40), `--batch-size`
/// its batch (32), `--lr` its learning rate ($10^{-3}$), `--folds` the folds (5), `--seed` the
/// folds' and the models' seed (and the holdout split's). Then the refit MLP (module docs) on
/// every row, or on the training part with `--holdout F`, whose AUC on the held-out rows the
/// `credit-mlp` result reports as `holdout_auc` (with `holdout_samples`).
///
/// A row of `metrics.csv` is a fold (`fold,mlp_train_loss,mlp_auc,logreg_auc`), the progress bar
/// runs over the fold's MLP epochs (then the refit's), `curves.png` shows each fold's AUCs as bars
/// (and the MLP's last training loss). `model.safetensors`, the run folder's only top-level
/// `.safetensors` file, is the refit MLP with its encoder ([`CreditModel::save`]), which
/// `glassgrad eval credit` scores. The fold models are kept in `checkpoints/folds.safetensors`
/// (`fold1_mlp.0.weight`, ..., `fold5_logreg.bias`) for inspection only: each reads inputs
/// encoded by its own fold's encoder, which is not stored, so they cannot score new rows.
/// `--resume` is refused: a fold is not checkpointed mid-way and the whole run takes seconds.
#[derive(Debug, Clone, Default)]
pub struct CreditJob {
    /// `--folds`, as given (the registry in `jobs.rs` hands it over).
    pub options: CreditOptions,
}

/// Columns of `metrics.csv` for `credit`.
pub const CREDIT_COLUMNS: &[&str] = &["fold", "mlp_train_loss", "mlp_auc", "logreg_auc"];

impl crate::train::TrainJob for CreditJob {
    fn name(&self) -> &'static str {
        "credit"
    }
    fn about(&self) -> &'static str {
        "German credit: MLP and logistic regression, stratified 5-fold cross-validated ROC AUC; the MLP refitted with its encoder"
    }
    fn defaults(&self) -> crate::train::Defaults {
        let c = CreditConfig::new("");
        crate::train::Defaults {
            epochs: c.mlp_epochs as u64,
            batch_size: c.batch_size,
            lr: c.mlp_lr,
            lr_decay: 1.0,
            data: "data/german_credit.csv.gz",
        }
    }
    fn columns(&self) -> &'static [&'static str] {
        CREDIT_COLUMNS
    }
    fn option_groups(&self) -> &'static [&'static str] {
        &["credit"]
    }
    fn unused_options(&self) -> &'static [&'static str] {
        &["resume"]
    }
    fn train(
        &self,
        hp: &crate::train::Hyper,
        resume: Option<&Path>,
        rep: &mut crate::train::Reporter,
    ) -> Result<crate::train::FinalMetrics> {
        let mut all = self.train_all(hp, resume, rep)?;
        Ok(all.swap_remove(0))
    }
    fn train_all(
        &self,
        hp: &crate::train::Hyper,
        _resume: Option<&Path>,
        rep: &mut crate::train::Reporter,
    ) -> Result<Vec<crate::train::FinalMetrics>> {
        use crate::train::{Figure, FinalMetrics};
        let mut cfg = CreditConfig::new(&hp.data);
        cfg.folds = self.options.folds.unwrap_or(cfg.folds);
        cfg.seed = hp.seed;
        cfg.mlp_epochs = hp.epochs as usize;
        cfg.batch_size = hp.batch_size;
        cfg.mlp_lr = hp.lr;
        // The holdout split first: a bad --holdout stops the run before anything trains.
        let data = load(&cfg.path)?;
        let (refit_rows, held_rows) = match self.options.holdout {
            Some(f) => holdout_split(&data.bad, f, hp.seed, &cfg.path.display().to_string())?,
            None => ((0..data.bad.len()).collect(), Vec::new()),
        };
        let mut saved: Vec<(String, Tensor)> = Vec::new();
        let (mut last_loss, mut fold_rows) = (f64::NAN, 0);
        rep.set_chart(crate::train::Chart::BarsPerRow);
        let report = cross_validate_with(&cfg, |e| {
            match e {
                CvEvent::FoldStart { fold, epochs, rows } => {
                    fold_rows = rows;
                    rep.start_epoch(fold as u64 + 1, cfg.folds as u64, epochs)
                }
                CvEvent::MlpEpoch { loss, .. } => {
                    last_loss = loss;
                    rep.batch(loss, fold_rows);
                }
                CvEvent::FoldEnd { fold, mlp_auc, logreg_auc, mlp, logreg } => {
                    for (prefix, m) in [("mlp", mlp as &dyn Module), ("logreg", logreg)] {
                        saved.extend(
                            m.state_dict()
                                .into_iter()
                                .map(|(k, t)| (format!("fold{}_{prefix}.{k}", fold + 1), t)),
                        );
                    }
                    rep.end_epoch(vec![(fold + 1) as f64, last_loss, mlp_auc, logreg_auc])?;
                }
            }
            Ok(())
        })?;
        let meta = |extra: &[(&str, String)]| {
            [("model", "credit".to_string()), ("seed", hp.seed.to_string()), ("folds", cfg.folds.to_string())]
                .iter()
                .chain(extra)
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let mut state = TrainState {
            epoch: cfg.folds as u64,
            history_columns: rep.columns().to_vec(),
            history: rep.history().to_vec(),
            meta: meta(&[]),
            ..Default::default()
        };
        let folds_file = rep.out_dir().join("checkpoints").join("folds.safetensors");
        save_checkpoint(&folds_file, &crate::train::TensorBag::new(saved), None, &state)?;

        // The refit model, saved with its encoder.
        let refit_seed = cfg.seed.wrapping_mul(1000).wrapping_add(cfg.folds as u64);
        rep.start_stage(&format!("refit on {} rows", refit_rows.len()), cfg.mlp_epochs);
        let mut model = refit(&data, &refit_rows, &cfg, refit_seed, &mut |_, loss| {
            rep.batch(loss, refit_rows.len());
            Ok(())
        })?;
        rep.end_stage();
        let mut extra = vec![
            ("hidden", cfg.hidden.to_string()),
            ("epochs", cfg.mlp_epochs.to_string()),
            ("batch_size", cfg.batch_size.to_string()),
            ("lr", cfg.mlp_lr.to_string()),
            ("refit_seed", refit_seed.to_string()),
            ("refit_rows", refit_rows.len().to_string()),
            ("data", cfg.path.display().to_string()),
        ];
        let mut holdout_auc = None;
        if let Some(f) = self.options.holdout {
            extra.push(("holdout_fraction", f.to_string()));
            extra.push(("holdout_seed", hp.seed.to_string()));
            extra.push(("holdout_rows", held_rows.len().to_string()));
            let p = model.predict(&data, &held_rows)?;
            let bad: Vec<bool> = held_rows.iter().map(|&r| data.bad[r]).collect();
            holdout_auc =
                Some(roc_auc(&p, &bad).map_err(|e| Error::file(&cfg.path, format!("held-out rows: {e}")))?);
        }
        state.epoch = cfg.mlp_epochs as u64;
        state.meta = meta(&extra);
        model.save(&rep.final_checkpoint(), &state, &held_rows)?;
        let c = &report.confusion;
        let mut mlp_values: Vec<(String, Figure)> = vec![
            ("auc_mean".into(), report.mlp.auc_mean.into()),
            ("auc_std".into(), report.mlp.auc_std.into()),
        ];
        if let Some(auc) = holdout_auc {
            mlp_values.push(("holdout_auc".into(), auc.into()));
            mlp_values.push(("holdout_samples".into(), held_rows.len().into()));
        }
        mlp_values.extend([
            ("threshold".into(), report.threshold.into()),
            // A whole number: the cost matrix's entries (5 and 1) are.
            ("cost".into(), Figure::Count(report.cost.round() as u64)),
            ("good_accepted".into(), c[0][0].into()),
            ("good_refused".into(), c[0][1].into()),
            ("bad_accepted".into(), c[1][0].into()),
            ("bad_refused".into(), c[1][1].into()),
            ("folds".into(), cfg.folds.into()),
            ("fit_s".into(), report.mlp.fit_s.into()),
        ]);
        let held = match self.options.holdout {
            Some(f) => format!(
                "{} of {} rows ({} held out by --holdout {f}, stratified, seed {})",
                refit_rows.len(),
                data.bad.len(),
                held_rows.len(),
                hp.seed
            ),
            None => format!("all {} rows", refit_rows.len()),
        };
        let mlp = FinalMetrics {
            model: report.mlp.model.clone(),
            tags: Vec::new(),
            headline: ("auc".into(), "auc_mean".into()),
            values: mlp_values,
            notes: vec![
                format!(
                    "model: the MLP refitted on {held}, saved with its encoder as {} (fold models: {})",
                    rep.final_checkpoint().display(),
                    folds_file.display()
                ),
                format!(
                    "{}: cost-minimising threshold p(bad) >= {:.4}: good accepted {}, good refused {}, bad accepted {}, bad refused {}; cost {} (a bad loan accepted costs {COST_BAD_ACCEPTED}, a good one refused {COST_GOOD_REFUSED})",
                    report.mlp.model, report.threshold, c[0][0], c[0][1], c[1][0], c[1][1], report.cost
                ),
            ],
        };
        let logreg = FinalMetrics {
            model: report.logreg.model.clone(),
            tags: Vec::new(),
            headline: ("auc".into(), "auc_mean".into()),
            values: vec![
                ("auc_mean".into(), report.logreg.auc_mean.into()),
                ("auc_std".into(), report.logreg.auc_std.into()),
                ("folds".into(), cfg.folds.into()),
                ("fit_s".into(), report.logreg.fit_s.into()),
            ],
            notes: Vec::new(),
        };
        Ok(vec![mlp, logreg])
    }
    fn eval(&self, checkpoint: &Path, data: &Path) -> Result<crate::train::FinalMetrics> {
        evaluate_file(checkpoint, data)
    }
}
