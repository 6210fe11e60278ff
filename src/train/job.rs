//! What a model gives the framework: a [`TrainJob`] (name, defaults, `train`, `eval`) and what it
//! receives, the resolved [`Hyper`]-parameters.

use std::path::{Path, PathBuf};

use super::reporter::Reporter;
use super::result::FinalMetrics;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The metric columns of a classifier run (`metrics.csv`).
pub const CLASSIFIER_COLUMNS: &[&str] =
    &["epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "samples_per_s"];

/// The metric columns of a classifier run with a validation set (`fit_classifier_validated`).
pub const CLASSIFIER_VAL_COLUMNS: &[&str] = &[
    "epoch",
    "train_loss",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
    "samples_per_s",
    "val_loss",
    "val_accuracy",
];

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
    tensors: Vec<(String, Tensor)>,
    mode: crate::nn::Mode,
}

impl TensorBag {
    pub fn new(tensors: Vec<(String, Tensor)>) -> TensorBag {
        TensorBag { tensors, mode: Default::default() }
    }
}

impl crate::nn::Module for TensorBag {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Err(Error::shape("TensorBag", &x.shape(), "a bag of saved tensors has no forward pass"))
    }
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
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
