//! `glassgrad train` and `glassgrad eval`: one framework for every model.
//!
//! A model is a [`TrainJob`] — a name, default hyper-parameters, `train` and `eval` — registered in
//! `jobs.rs` (the layer above the models, which names them all; this framework knows none). The
//! registry resolves the options (`jobs::TrainArgs` → [`Hyper`]), makes the output folder
//! and its [`Reporter`] (progress bar per epoch on stderr, `metrics.csv`, `curves.png`,
//! checkpoints), and prints the result: human lines ending with the headline
//! (`held-out accuracy: 0.9731`), or with `--json` one JSON object per line on stdout.
//!
//! Output folder (`--out`, default `runs/<model>`):
//!
//! | file | what |
//! |---|---|
//! | `metrics.csv` | one row per epoch (`epoch,train_loss,...`), full precision |
//! | `curves.png` | loss (left) and the other metrics (right) per epoch |
//! | `checkpoints/epoch_NNN.safetensors` | the state after each epoch, for `--resume` |
//! | `model.safetensors` | the final checkpoint ([`crate::checkpoint`] layout) |
//!
//! ## Adding a model
//! A classifier needs three things (see `src/models/digits.rs`, about 150 lines with its data
//! loading): a [`Module`](crate::nn::Module), a function returning its data as a
//! [`ClassifierData`], and a unit struct implementing [`TrainJob`] whose `train` builds the model
//! and optimizer from `hp.seed` and calls [`fit_classifier`], and whose `eval` calls
//! [`eval_classifier`]. Then one line in `jobs::jobs`. For the CNN on MNIST, with
//! `glassgrad::models::cnn::{SeedCnn, load_mnist}`:
//!
//! ```text
//! pub struct CnnJob;
//! impl TrainJob for CnnJob {
//!     fn name(&self) -> &'static str { "cnn" }
//!     fn about(&self) -> &'static str { "the document's CNN on the bundled MNIST (5,000 images)" }
//!     fn defaults(&self) -> Defaults { Defaults { epochs: 10, batch_size: 64, lr: 1e-3, lr_decay: 0.7, data: "data/mnist_5k.csv.gz" } }
//!     fn train(&self, hp: &Hyper, resume: Option<&Path>, rep: &mut Reporter) -> Result<FinalMetrics> {
//!         let data = ClassifierData::split(/* x, y from load_mnist(&hp.data) */, 0.2, hp.seed)?;
//!         let mut model = SeedCnn::new(&mut Generator::new(hp.seed))?;
//!         let mut opt = Adam::new(model.parameters(), AdamConfig::new(hp.lr))?;
//!         fit_classifier(self.name(), &mut model, &mut opt, &data, hp, resume, rep)
//!     }
//!     fn eval(&self, checkpoint: &Path, data: &Path) -> Result<FinalMetrics> { /* build, eval_classifier */ }
//! }
//! ```
//! and `Box::new(CnnJob)` in `jobs::jobs`.

mod classify;
mod plot;
mod reporter;

pub use classify::{
    CLASSIFIER_COLUMNS, CLASSIFIER_VAL_COLUMNS, ClassifierData, ClipGradNorm, Validation, eval_classifier,
    evaluate, fit_classifier, fit_classifier_validated,
};
pub use plot::draw_curves;
pub use reporter::Reporter;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A model `glassgrad train` knows.
pub trait TrainJob: Sync {
    /// The name on the command line (`digits`, `cnn`).
    fn name(&self) -> &'static str;
    /// One line for `--help` and errors.
    fn about(&self) -> &'static str;
    /// Hyper-parameters used when the command line does not give them.
    fn defaults(&self) -> Defaults;
    /// The per-epoch metric columns (the first is `epoch`); classifiers keep the default.
    fn columns(&self) -> &'static [&'static str] {
        CLASSIFIER_COLUMNS
    }
    /// Trains (from scratch, or from the checkpoint `resume`), reporting through `reporter`,
    /// writing the final checkpoint to `reporter.final_checkpoint()`.
    fn train(&self, hp: &Hyper, resume: Option<&Path>, reporter: &mut Reporter) -> Result<FinalMetrics>;
    /// Evaluates the checkpoint on a data file of the training data's layout.
    fn eval(&self, checkpoint: &Path, data: &Path) -> Result<FinalMetrics>;
    /// Every result of a run, the headline one first. Jobs that report several models (credit:
    /// the MLP and the logistic regression; recommender: one result per algorithm) override
    /// this; the default is `train`'s one result.
    fn train_all(
        &self,
        hp: &Hyper,
        resume: Option<&Path>,
        reporter: &mut Reporter,
    ) -> Result<Vec<FinalMetrics>> {
        Ok(vec![self.train(hp, resume, reporter)?])
    }
    /// The option groups of `jobs::JobOptions` this job reads (`"credit"`, `"recommender"`); giving
    /// another group's option is an error.
    fn option_groups(&self) -> &'static [&'static str] {
        &[]
    }
    /// The generic options this job has no use for (`"epochs"`, `"batch-size"`, `"lr"`, `"data"`,
    /// `"resume"`); giving one is an error naming the job, never silently ignored.
    fn unused_options(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A job's default hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub epochs: u64,
    pub batch_size: usize,
    pub lr: f64,
    /// The learning rate is multiplied by this after every epoch (1: constant).
    pub lr_decay: f64,
    /// The bundled data file, relative to the repository root.
    pub data: &'static str,
}

/// The resolved hyper-parameters of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    pub epochs: u64,
    pub batch_size: usize,
    pub lr: f64,
    /// Epoch `e` (1-based) trains at `lr * lr_decay^(e-1)` (PyTorch's `ExponentialLR`).
    pub lr_decay: f64,
    pub seed: u64,
    pub data: PathBuf,
}

/// Named tensors as a [`Module`](crate::nn::Module) without a forward pass, so that a job whose
/// result is not one network (the folds of `credit`, the tables of `recommender`) can still write
/// `model.safetensors` with [`crate::checkpoint::save_checkpoint`].
pub struct TensorBag {
    tensors: Vec<(String, crate::tensor::Tensor)>,
    mode: crate::nn::Mode,
}

impl TensorBag {
    pub fn new(tensors: Vec<(String, crate::tensor::Tensor)>) -> TensorBag {
        TensorBag { tensors, mode: Default::default() }
    }
}

impl crate::nn::Module for TensorBag {
    fn forward(&self, x: &crate::tensor::Tensor) -> Result<crate::tensor::Tensor> {
        Err(Error::shape("TensorBag", &x.shape(), "a bag of saved tensors has no forward pass"))
    }
    fn local_parameters(&self) -> Vec<(String, crate::tensor::Tensor)> {
        self.tensors.clone()
    }
    fn mode(&self) -> &crate::nn::Mode {
        &self.mode
    }
}

/// A bundled data file: `rel` under the current folder, else under the source tree.
pub fn bundled(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() { here } else { Path::new(env!("CARGO_MANIFEST_DIR")).join(rel) }
}

/// The final figures of a run or an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalMetrics {
    pub model: String,
    /// String-valued fields written before `model` in JSON and first in human lines
    /// (`[("algo", "mf")]` gives `{"algo":"mf","model":"recommender",...}`); usually empty.
    pub tags: Vec<(String, String)>,
    /// The headline's words and its key in `values` (`("held-out accuracy", "accuracy")`).
    pub headline: (&'static str, &'static str),
    /// Every figure, in print order (snake_case keys as DESIGN.md: `accuracy`, `final_loss`, `fit_s`).
    pub values: Vec<(String, f64)>,
    /// Extra human lines printed before the figures (paths written).
    pub notes: Vec<String>,
}

impl FinalMetrics {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The name of this result in human lines: the tags' values (`mf`), else the model.
    pub fn label(&self) -> String {
        if self.tags.is_empty() {
            self.model.clone()
        } else {
            self.tags.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" ")
        }
    }

    /// One JSON object: `{<tags>, "model": ..., <values>}` in that order (floats round-trip
    /// exactly; a non-finite value is `null`).
    pub fn json_line(&self) -> String {
        let mut s = String::from("{");
        for (k, v) in &self.tags {
            s.push_str(&format!(
                "{}:{},",
                serde_json::Value::from(k.clone()),
                serde_json::Value::from(v.clone())
            ));
        }
        s.push_str(&format!("\"model\":{}", serde_json::Value::from(self.model.clone())));
        for (k, v) in &self.values {
            let v = serde_json::Number::from_f64(*v).map_or("null".to_string(), |n| n.to_string());
            s.push_str(&format!(",{}:{v}", serde_json::Value::from(k.clone())));
        }
        s.push('}');
        s
    }

    /// The human lines: notes, each figure (full precision), then the headline (4 decimals).
    pub fn human_lines(&self) -> Vec<String> {
        let mut out = self.notes.clone();
        for (k, v) in &self.values {
            out.push(format!("{}: {v}", k.replace('_', " ")));
        }
        let (words, key) = self.headline;
        out.push(format!("{words}: {:.4}", self.get(key).unwrap_or(f64::NAN)));
        out
    }

    /// One compact line: the label, then each figure to 4 decimals.
    pub fn summary_line(&self) -> String {
        let cells: Vec<String> = self.values.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        format!("{}: {}", self.label(), cells.join("  "))
    }

    /// Prints the result: JSON on stdout and human lines on stderr with `json`, else human lines
    /// on stdout.
    pub fn print(&self, json: bool) {
        print_all(std::slice::from_ref(self), json)
    }
}

/// The human lines of several results (the headline result first in `results`): a summary line
/// for each other result, then the headline result's own lines, so that the last line is its
/// headline.
pub fn human_lines_all(results: &[FinalMetrics]) -> Vec<String> {
    let Some((first, rest)) = results.split_first() else { return Vec::new() };
    let mut out: Vec<String> = rest.iter().map(FinalMetrics::summary_line).collect();
    out.extend(first.human_lines());
    out
}

/// Prints results: with `json`, one JSON line per result on stdout (in order) and the human lines
/// on stderr; else the human lines ([`human_lines_all`]) on stdout.
pub fn print_all(results: &[FinalMetrics], json: bool) {
    if json {
        for l in human_lines_all(results) {
            eprintln!("{l}");
        }
        for r in results {
            println!("{}", r.json_line());
        }
    } else {
        for l in human_lines_all(results) {
            println!("{l}");
        }
    }
}
