//! `glassgrad train` and `glassgrad eval`: one framework for every model.
//!
//! A model is a [`TrainJob`] — a name, default hyper-parameters, `train` and `eval` — registered in
//! `jobs.rs` (the layer above the models, which names them all; this framework knows none). The
//! registry resolves the options (`jobs::TrainArgs` → [`Hyper`]), makes the output folder
//! and its [`Reporter`] (progress bar per epoch on stderr, or plain lines without a terminal;
//! `metrics.csv`, `curves.png`, checkpoints), and prints the result: human lines ending with the
//! headline (`held-out accuracy: 0.9731`), or with `--json` one JSON object per line on stdout.
//!
//! Output folder (`--out`, default `runs/<model>`):
//!
//! | file | what |
//! |---|---|
//! | `metrics.csv` | one row per epoch (`epoch,train_loss,...`), full precision |
//! | `curves.png` | loss (left), other metrics (right) per epoch; bars for folds or algorithms ([`Chart`]) |
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
mod guard;
mod job;
mod plot;
mod reporter;
mod result;
mod run_dir;

pub use classify::{
    ClassifierData, ClipGradNorm, Validation, eval_classifier, evaluate, fit_classifier,
    fit_classifier_validated,
};
pub use guard::{check_loss, check_parameters};
pub use job::{CLASSIFIER_COLUMNS, CLASSIFIER_VAL_COLUMNS, Defaults, Hyper, TensorBag, TrainJob, bundled};
pub use plot::{Chart, draw_bars, draw_curves, register_font};
pub use reporter::{PROGRESS_SECS, Reporter};
pub use result::{Figure, FinalMetrics, human_lines_all, human_value, print_all};
pub use run_dir::{
    RUN_FILES, Reuse, RunDir, choose as choose_run_dir, publish_final, run_files_in, run_folder_of,
};
