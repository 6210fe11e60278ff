//! `digits`: a small MLP on the bundled UCI optical digits (8×8 images, 1,797 rows), the model
//! that exercises `glassgrad train` end to end in a few seconds.
//!
//! $$h = \operatorname{relu}(x W_1^\top + b_1), \qquad z = h W_2^\top + b_2, \qquad
//!   \ell = \operatorname{CE}(z, y)$$
//! with $x \in [0, 1]^{64}$ (pixels 0–16 divided by 16), $W_1 \in \mathbb R^{64\times64}$,
//! $W_2 \in \mathbb R^{10\times64}$, trained with Adam on a seeded 80/20 split.
//!
//! Its PyTorch twin (same `state_dict` names, so checkpoints load both ways):
//! ```text
//! class DigitsMlp(nn.Module):
//!     def __init__(self):
//!         super().__init__()
//!         self.fc1, self.act, self.fc2 = nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
//!     def forward(self, x):
//!         return self.fc2(self.act(self.fc1(x)))
//! ```

use std::path::Path;

use crate::data::csv::{place, read_numeric_csv};
use crate::error::{Error, Result};
use crate::nn::{Linear, Mode, Module, ReLU};
use crate::optim::{Adam, AdamConfig};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};
use crate::train::{
    ClassifierData, Defaults, FinalMetrics, Hyper, Reporter, TrainJob, eval_classifier, fit_classifier,
};

/// Pixels per image.
pub const PIXELS: usize = 64;
/// Hidden units.
pub const HIDDEN: usize = 64;
/// Classes (digits 0–9).
pub const CLASSES: usize = 10;

/// `fc1` (64→64), ReLU, `fc2` (64→10).
pub struct DigitsMlp {
    pub fc1: Linear,
    pub act: ReLU,
    pub fc2: Linear,
    mode: Mode,
}

impl DigitsMlp {
    /// PyTorch's default initialisation drawn from `rng` (f32).
    pub fn new(rng: &mut Generator) -> Result<DigitsMlp> {
        Ok(DigitsMlp {
            fc1: Linear::new(PIXELS, HIDDEN, true, DType::F32, rng)?,
            act: ReLU::new(),
            fc2: Linear::new(HIDDEN, CLASSES, true, DType::F32, rng)?,
            mode: Mode::default(),
        })
    }
}

impl Module for DigitsMlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.act.forward(&self.fc1.forward(x)?)?)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("fc1".into(), &self.fc1), ("act".into(), &self.act), ("fc2".into(), &self.fc2)]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// Reads a digits CSV (no header; 64 pixels 0–16, then the label 0–9; plain or `.gz`): the
/// images as f32 `[N, 64]` scaled to `[0, 1]`, the labels as i64 `[N]`.
pub fn load_digits(path: &Path) -> Result<(Tensor, Tensor)> {
    let t = read_numeric_csv(path, false)?;
    let (rows, cols) = (t.rows, t.cols);
    if cols != PIXELS + 1 || rows == 0 {
        return Err(Error::file(
            path,
            format!("expected rows of {} numbers (64 pixels, label), got {rows} rows of {cols}", PIXELS + 1),
        ));
    }
    let mut x = Vec::with_capacity(rows * PIXELS);
    let mut y = Vec::with_capacity(rows);
    for r in 0..rows {
        let row = t.row(r);
        if let Some(c) = row[..PIXELS].iter().position(|p| !(0.0..=16.0).contains(p)) {
            return Err(Error::file(
                path,
                format!("{}: pixel {} is outside 0–16", place(t.lines[r], c, None), row[c]),
            ));
        }
        x.extend(row[..PIXELS].iter().map(|&p| (p / 16.0) as f32));
        let label = row[PIXELS];
        if !(0.0..CLASSES as f64).contains(&label) || label.fract() != 0.0 {
            return Err(Error::file(
                path,
                format!("{}: label {label} is not a digit 0–9", place(t.lines[r], PIXELS, None)),
            ));
        }
        y.push(label as i64);
    }
    Ok((Tensor::from_vec(x, &[rows, PIXELS])?, Tensor::from_vec(y, &[rows])?))
}

/// The `digits` entry of `glassgrad train` / `glassgrad eval`.
pub struct DigitsJob;

impl TrainJob for DigitsJob {
    fn name(&self) -> &'static str {
        "digits"
    }
    fn about(&self) -> &'static str {
        "MLP 64-64-10 with Adam on the bundled 8x8 UCI digits (1,797 images, 80/20 split)"
    }
    fn defaults(&self) -> Defaults {
        Defaults { epochs: 30, batch_size: 32, lr: 3e-3, lr_decay: 1.0, data: "data/digits.csv.gz" }
    }
    fn train(&self, hp: &Hyper, resume: Option<&Path>, rep: &mut Reporter) -> Result<FinalMetrics> {
        let (x, y) = load_digits(&hp.data)?;
        let data = ClassifierData::split(x, y, 0.2, hp.seed)?;
        let mut model = DigitsMlp::new(&mut Generator::new(hp.seed))?;
        let mut opt = Adam::new(model.parameters(), AdamConfig::new(hp.lr))?;
        fit_classifier(self.name(), &mut model, &mut opt, &data, hp, resume, rep)
    }
    fn eval(&self, checkpoint: &Path, data: &Path) -> Result<FinalMetrics> {
        let (x, y) = load_digits(data)?;
        let mut model = DigitsMlp::new(&mut Generator::new(0))?;
        eval_classifier(self.name(), &mut model, checkpoint, &x, &y, &data.display().to_string())
    }
}
