//! The refit credit model and its file (see the parent module's docs): [`refit`], [`CreditModel`],
//! `eval credit` ([`evaluate_file`]).

use super::*;

/// `eval credit` predicts "bad" when $p(\text{bad}) \ge$ this (for its accuracy).
pub const EVAL_THRESHOLD: f64 = 0.5;
/// The tensor of the numeric columns' means in a credit model file.
pub const ENCODER_MEAN: &str = "glassgrad.encoder.mean";
/// The tensor of the numeric columns' standard deviations in a credit model file.
pub const ENCODER_STD: &str = "glassgrad.encoder.std";
/// The tensor of the held-out rows in a credit model file (with `--holdout` only).
pub const HOLDOUT_ROWS: &str = "glassgrad.holdout_rows";
/// The metadata key (under `glassgrad.meta.`) of the encoder's column names and categories.
pub const ENCODER_META: &str = "encoder";

/// Splits the rows (`bad`: whether each row is a bad loan) into (training, held-out) for
/// `--holdout fraction`: stratified by class and seeded ([`stratified_train_val_test_split`] with
/// test fraction `fraction`). `fraction` must lie strictly between 0 and 1, and each side must keep
/// at least [`MIN_SPLIT_ROWS`](crate::data::split::MIN_SPLIT_ROWS) rows; `what` names the data in
/// errors.
pub fn holdout_split(bad: &[bool], fraction: f64, seed: u64, what: &str) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::invalid(
            "train credit",
            format!("--holdout {fraction}: the fraction of rows held out must lie strictly between 0 and 1"),
        ));
    }
    let labels: Vec<usize> = bad.iter().map(|&b| b as usize).collect();
    let split = stratified_train_val_test_split(&labels, 0.0, fraction, seed)?;
    check_split_sides(
        &format!("{what}, --holdout {fraction}"),
        &[("training", split.train.len()), ("held-out", split.test.len())],
        Some(fraction.min(1.0 - fraction)),
    )?;
    Ok((split.train, split.test))
}

/// The refit MLP with its encoder: what `model.safetensors` holds and `eval credit` scores (see
/// the module docs). The encoder is kept by column name, so that it applies to any file of the
/// layout whatever its column order ([`CreditModel::encoder`]).
pub struct CreditModel {
    pub mlp: Sequential,
    /// The numeric columns (name, fitted $\mu$ and $\sigma$), in feature order.
    pub numeric: Vec<(String, Standardizer)>,
    /// The categorical columns (name, sorted categories of the training rows), in feature order.
    pub categorical: Vec<(String, CategoryIndex)>,
}

/// Trains the MLP on `rows` of `data` with an encoder fitted on those rows alone (the refit of the
/// module docs; `seed` its initialisation and shuffling), calling `on_epoch(epoch, mean loss)`.
pub fn refit(
    data: &CreditData,
    rows: &[usize],
    cfg: &CreditConfig,
    seed: u64,
    on_epoch: &mut dyn FnMut(usize, f64) -> Result<()>,
) -> Result<CreditModel> {
    let enc = data.encoder(rows)?;
    let x = enc.one_hot_matrix(&data.table, rows, DType::F32)?;
    let mlp = train_mlp_with(&x, &data.targets(rows)?, cfg, seed, on_epoch)?;
    Ok(CreditModel::new(mlp, &enc))
}

impl CreditModel {
    /// The model `mlp` with the fitted encoder `enc` (its column positions dropped, names kept).
    pub fn new(mlp: Sequential, enc: &TabularEncoder) -> CreditModel {
        CreditModel {
            mlp,
            numeric: enc.numeric.iter().map(|(_, n, s)| (n.clone(), s.clone())).collect(),
            categorical: enc.categorical.iter().map(|(_, n, c)| (n.clone(), c.clone())).collect(),
        }
    }

    /// The stored encoder applied to `table` (columns found by name; nothing refitted).
    pub fn encoder(&self, table: &CsvTable) -> Result<TabularEncoder> {
        TabularEncoder::from_fitted(table, self.numeric.clone(), self.categorical.clone())
    }

    /// $d$, the width of the encoded rows: $p + \sum_j K_j$.
    pub fn width(&self) -> usize {
        self.numeric.len() + self.categorical.iter().map(|(_, c)| c.len()).sum::<usize>()
    }

    /// $p(\text{bad})$ of `rows` of `data`, encoded by the stored encoder.
    pub fn predict(&mut self, data: &CreditData, rows: &[usize]) -> Result<Vec<f64>> {
        let x = self.encoder(&data.table)?.one_hot_matrix(&data.table, rows, DType::F32)?;
        predict(&mut self.mlp, &x)
    }

    /// Writes the model, its encoder, `holdout_rows` (when not empty) and `state` (its `meta`
    /// gains the entry [`ENCODER_META`]) to `path` (layout in the module docs).
    pub fn save(&self, path: &Path, state: &TrainState, holdout_rows: &[usize]) -> Result<()> {
        let mut tensors = self.mlp.state_dict();
        let p = self.numeric.len();
        let mean: Vec<f64> = self.numeric.iter().map(|(_, s)| s.mean).collect();
        let std: Vec<f64> = self.numeric.iter().map(|(_, s)| s.std).collect();
        tensors.push((ENCODER_MEAN.to_string(), Tensor::from_vec(mean, &[p])?));
        tensors.push((ENCODER_STD.to_string(), Tensor::from_vec(std, &[p])?));
        if !holdout_rows.is_empty() {
            let rows: Vec<i64> = holdout_rows.iter().map(|&r| r as i64).collect();
            tensors.push((HOLDOUT_ROWS.to_string(), Tensor::from_vec(rows, &[holdout_rows.len()])?));
        }
        let encoder = serde_json::json!({
            "numeric": self.numeric.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            "categorical": self.categorical.iter().map(|(n, c)| serde_json::json!({
                "column": n,
                "categories": c.categories,
            })).collect::<Vec<_>>(),
        });
        let mut state = state.clone();
        state.meta.insert(ENCODER_META.to_string(), encoder.to_string());
        save_checkpoint(path, &crate::train::TensorBag::new(tensors), None, &state)
    }

    /// Reads a model written by [`CreditModel::save`] (`train credit`'s `model.safetensors`).
    /// A file of another model, or without the encoder, is an error saying which.
    pub fn read(path: &Path) -> Result<CreditModel> {
        let ck = read_checkpoint(path)?;
        let meta = ck.train_state()?.meta;
        match meta.get("model").map(String::as_str) {
            Some("credit") => {}
            Some(other) => {
                return Err(Error::file(
                    path,
                    format!(
                        "a checkpoint of `train {other}`, not of `train credit`: eval credit scores the model.safetensors that `glassgrad train credit` writes"
                    ),
                ));
            }
            None => {
                return Err(Error::file(
                    path,
                    format!(
                        "not a checkpoint of `glassgrad train credit` (no metadata entry `{TRAIN_PREFIX}meta.model`)"
                    ),
                ));
            }
        }
        let Some(json) = meta.get(ENCODER_META) else {
            return Err(Error::file(
                path,
                format!(
                    "the credit checkpoint holds no encoder (metadata entry `{TRAIN_PREFIX}meta.{ENCODER_META}`): \
                     it holds fold models only (a run's checkpoints/folds.safetensors, or the model.safetensors \
                     of a `train credit` older than the refit model); eval credit scores the model.safetensors \
                     of a run of `glassgrad train credit`"
                ),
            ));
        };
        let bad = |why: String| {
            Error::file(path, format!("metadata entry `{TRAIN_PREFIX}meta.{ENCODER_META}`: {why}"))
        };
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
        let strings = |v: &serde_json::Value, what: &str| -> Result<Vec<String>> {
            v.as_array()
                .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| bad(format!("{what} is not a list of strings")))
        };
        let names = strings(&v["numeric"], "`numeric`")?;
        let floats = |key: &str| -> Result<Vec<f64>> {
            let t =
                ck.tensors.get(key).ok_or_else(|| Error::file(path, format!("tensor `{key}` is missing")))?;
            if t.dtype() != DType::F64 || t.shape() != [names.len()] {
                return Err(Error::file(
                    path,
                    format!(
                        "tensor `{key}`: {} of shape {:?}, expected f64 of shape [{}] (one per numeric column)",
                        t.dtype(),
                        t.shape(),
                        names.len()
                    ),
                ));
            }
            t.to_vec::<f64>()
        };
        let (mean, std) = (floats(ENCODER_MEAN)?, floats(ENCODER_STD)?);
        if let Some(j) =
            (0..names.len()).find(|&j| !(mean[j].is_finite() && std[j].is_finite() && std[j] > 0.0))
        {
            return Err(Error::file(
                path,
                format!(
                    "column {:?}: mean {} and standard deviation {} (finite, σ > 0 expected)",
                    names[j], mean[j], std[j]
                ),
            ));
        }
        let numeric = names
            .into_iter()
            .zip(mean.into_iter().zip(std))
            .map(|(n, (mean, std))| (n, Standardizer { mean, std }))
            .collect();
        let mut categorical = Vec::new();
        for c in v["categorical"].as_array().ok_or_else(|| bad("`categorical` is not a list".into()))? {
            let name =
                c["column"].as_str().ok_or_else(|| bad("a `categorical` entry has no `column`".into()))?;
            let cats = strings(&c["categories"], &format!("the categories of {name:?}"))?;
            let index = CategoryIndex::fit(cats.iter().map(String::as_str));
            if index.categories != cats {
                return Err(bad(format!("the categories of {name:?} are not sorted and distinct")));
            }
            categorical.push((name.to_string(), index));
        }
        let w =
            ck.tensors.get("0.weight").ok_or_else(|| Error::file(path, "tensor `0.weight` is missing"))?;
        let (hidden, d) = match w.shape()[..] {
            [h, d] => (h, d),
            _ => {
                return Err(Error::file(
                    path,
                    format!("tensor `0.weight`: shape {:?}, expected [hidden, d]", w.shape()),
                ));
            }
        };
        let mlp = mlp(d, hidden, &mut Generator::new(0))?;
        ck.load_into(&mlp, None)?;
        let model = CreditModel { mlp, numeric, categorical };
        if model.width() != d {
            return Err(Error::file(
                path,
                format!(
                    "the MLP reads {d} inputs but the encoder makes {} ({} numeric columns and the categories)",
                    model.width(),
                    model.numeric.len()
                ),
            ));
        }
        Ok(model)
    }
}

/// `eval credit`: the model in `checkpoint` ([`CreditModel::read`]) on every row of the data file
/// `data` (read by [`load`], which validates every value): ROC AUC of $p(\text{bad})$, accuracy at
/// [`EVAL_THRESHOLD`], and the number of rows.
pub fn evaluate_file(checkpoint: &Path, data: &Path) -> Result<crate::train::FinalMetrics> {
    let mut model = CreditModel::read(checkpoint)?;
    let d = load(data)?;
    let rows: Vec<usize> = (0..d.bad.len()).collect();
    let p = model.predict(&d, &rows)?;
    let auc = roc_auc(&p, &d.bad).map_err(|e| Error::file(data, format!("ROC AUC: {e}")))?;
    let pred: Vec<bool> = p.iter().map(|&p| p >= EVAL_THRESHOLD).collect();
    let acc = accuracy(&pred, &d.bad)?;
    Ok(crate::train::FinalMetrics {
        model: "credit".into(),
        tags: Vec::new(),
        headline: (format!("auc on {}", data.display()), "auc".into()),
        values: vec![
            ("auc".into(), auc.into()),
            ("accuracy".into(), acc.into()),
            ("samples".into(), d.bad.len().into()),
        ],
        notes: vec![
            format!("checkpoint: {}", checkpoint.display()),
            format!("decision: a loan is predicted bad when p(bad) >= {EVAL_THRESHOLD} (for the accuracy)"),
        ],
    })
}
