//! Listing 1.4.2, the RNN classifier: an embedding of a vocabulary of 10 into 8, a tanh RNN with
//! hidden size 8, and a linear layer from the last step's state to 2 classes.
//!
//! $$e_t = E_{x_t,:}, \qquad h_t = \tanh(W h_{t-1} + U e_t + b), \qquad
//!   \text{logits} = V h_T + c .$$
//!
//! The listing (PyTorch), and what changed:
//!
//! ```text
//! def forward(self, x):
//!     h0 = torch.zeros(1, x.size(0), self.hidden_size)
//!     c0 = torch.zeros(1, x.size(0), self.hidden_size)   # bug: a plain RNN has no cell state
//!     out, _ = self.rnn(x, (h0, c0))                     #      (nn.RNN rejects the tuple)
//!     out = self.fc(out[:, -1, :])
//! ```
//!
//! Here the RNN gets `h0` alone ([`Rnn::forward_with`]). `state_dict` names: `embedding.weight`,
//! `rnn.weight_ih_l0`, `rnn.weight_hh_l0`, `rnn.bias_ih_l0`, `rnn.bias_hh_l0`, `fc.weight`, `fc.bias`.

use crate::error::{Error, Result};
use crate::nn::{Embedding, Linear, Mode, Module, RecurrentConfig, Rnn};
use crate::ops::rnn::RnnWeights;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// The listing's RNN classifier (with its embedding).
#[derive(Clone)]
pub struct SeedRnn {
    pub embedding: Embedding,
    pub rnn: Rnn,
    pub fc: Linear,
    mode: Mode,
}

impl SeedRnn {
    /// The listing's sizes: vocabulary 10, embedding (input size) 8, hidden 8, 2 classes.
    pub fn listing(dtype: DType, rng: &mut Generator) -> Result<SeedRnn> {
        SeedRnn::new(10, 8, 8, 2, dtype, rng)
    }

    /// `RNN(input_size, hidden_size, output_size)` after an `Embedding(vocab_size, input_size)`,
    /// PyTorch's initialisation for each part, drawn in that order.
    pub fn new(
        vocab_size: usize,
        input_size: usize,
        hidden_size: usize,
        output_size: usize,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<SeedRnn> {
        let embedding = Embedding::new(vocab_size, input_size, None, dtype, rng)?;
        let rnn = Rnn::new(input_size, hidden_size, RecurrentConfig::new().dtype(dtype), rng)?;
        let fc = Linear::new(hidden_size, output_size, true, dtype, rng)?;
        Ok(SeedRnn { embedding, rnn, fc, mode: Mode::default() })
    }

    /// The model holding the given tensors (a checkpoint, or a conformance case's inputs).
    pub fn from_tensors(
        embedding: Tensor,
        rnn: RnnWeights,
        fc_weight: Tensor,
        fc_bias: Tensor,
    ) -> Result<SeedRnn> {
        Ok(SeedRnn {
            embedding: Embedding::from_tensor(embedding, None)?,
            rnn: Rnn::from_weights(vec![rnn], false, 0.0)?,
            fc: Linear::from_tensors(fc_weight, Some(fc_bias))?,
            mode: Mode::default(),
        })
    }
}

/// `out[:, -1, :]`: the last step of a batch-first sequence $(N, T, H)$, as $(N, H)$.
pub fn last_step(out: &Tensor) -> Result<Tensor> {
    let s = out.shape();
    if s.len() != 3 || s[1] == 0 {
        return Err(Error::shape("last_step", &s, "needs a non-empty sequence (N, T, H)"));
    }
    out.narrow(1, s[1] - 1, 1)?.squeeze(Some(1))
}

impl Module for SeedRnn {
    /// Logits $(N, \text{classes})$ for tokens $(N, T)$ (i64 ids below the vocabulary size).
    fn forward(&self, tokens: &Tensor) -> Result<Tensor> {
        let ts = tokens.shape();
        if ts.len() != 2 {
            return Err(Error::shape("SeedRnn", &ts, "the tokens must be (N, T)"));
        }
        let x = self.embedding.forward(tokens)?;
        // Fixed: the listing passed (h0, c0); a plain RNN takes h0 only (zeros: `None`).
        let (out, _h_n) = self.rnn.forward_with(&x, None)?;
        self.fc.forward(&last_step(&out)?)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("embedding".into(), &self.embedding), ("rnn".into(), &self.rnn), ("fc".into(), &self.fc)]
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// The market task of `examples/rnn.rs` and `glassgrad train rnn` as tensors: S&P 500 daily
/// log-returns bucketed into deciles (edges from the training period), 20-day windows, label
/// next-day up (1) or down (0); train up to 2005, validate 2006–2010, test 2011–2018
/// ([`crate::data::market`]).
pub struct MarketTensors {
    pub data: crate::data::market::MarketData,
    pub train: (Tensor, Tensor),
    pub validate: (Tensor, Tensor),
    pub test: (Tensor, Tensor),
    /// Test accuracy of always predicting the training period's majority class.
    pub majority_accuracy: f64,
}

/// Days per input window.
pub const MARKET_WINDOW: usize = 20;

/// Reads the S&P 500 file at `path` and builds [`MarketTensors`].
pub fn market_tensors(path: impl AsRef<std::path::Path>) -> Result<MarketTensors> {
    use crate::data::market::{SplitYears, load_sp500, market_dataset};
    let days = load_sp500(path.as_ref())?;
    let data = market_dataset(&days, MARKET_WINDOW, SplitYears::default())?;
    crate::data::split::check_split_sides(
        &format!("{} (split by years)", path.as_ref().display()),
        &[("training", data.train.len()), ("validation", data.validate.len()), ("test", data.test.len())],
        None,
    )?;
    let up = data.train.share(1);
    let majority_accuracy = data.test.share(if up >= 0.5 { 1 } else { 0 });
    Ok(MarketTensors {
        train: data.train.tensors()?,
        validate: data.validate.tensors()?,
        test: data.test.tensors()?,
        data,
        majority_accuracy,
    })
}

/// The `rnn` entry of `glassgrad train` / `glassgrad eval`: listing 1.4.2 on the S&P 500 market
/// task ([`market_tensors`]) with the example's settings: Adam at $3 \cdot 10^{-3}$, batches of
/// 64, 15 epochs; the epoch with the best validation accuracy is the one whose test accuracy is
/// reported (headline `test accuracy: …`), beside the majority-class baseline
/// (`majority_accuracy`). `eval` scores a checkpoint on the test period (2011–) of another file
/// of the same layout, its tokens bucketed by that file's own training-period deciles.
pub struct RnnJob;

impl crate::train::TrainJob for RnnJob {
    fn name(&self) -> &'static str {
        "rnn"
    }
    fn about(&self) -> &'static str {
        "the document's RNN (listing 1.4.2) on S&P 500 next-day direction, chronological split"
    }
    fn defaults(&self) -> crate::train::Defaults {
        crate::train::Defaults {
            epochs: 15,
            batch_size: 64,
            lr: 3e-3,
            lr_decay: 1.0,
            data: "data/sp500_daily_1950_2018.csv.gz",
        }
    }
    fn columns(&self) -> &'static [&'static str] {
        crate::train::CLASSIFIER_VAL_COLUMNS
    }
    fn train(
        &self,
        hp: &crate::train::Hyper,
        resume: Option<&std::path::Path>,
        rep: &mut crate::train::Reporter,
    ) -> Result<crate::train::FinalMetrics> {
        use crate::optim::{Adam, AdamConfig};
        let m = market_tensors(&hp.data)?;
        let data = crate::train::ClassifierData {
            train_x: m.train.0,
            train_y: m.train.1,
            test_x: m.test.0,
            test_y: m.test.1,
        };
        let val = crate::train::Validation { x: m.validate.0, y: m.validate.1 };
        let mut model = SeedRnn::listing(DType::F32, &mut Generator::new(hp.seed))?;
        let mut opt = Adam::new(model.parameters(), AdamConfig::new(hp.lr))?;
        let mut r = crate::train::fit_classifier_validated(
            self.name(),
            &mut model,
            &mut opt,
            &data,
            Some(&val),
            hp,
            resume,
            rep,
        )?;
        r.headline = ("test accuracy".into(), "accuracy".into());
        r.values.insert(1, ("majority_accuracy".into(), m.majority_accuracy.into()));
        Ok(r)
    }
    fn eval(
        &self,
        checkpoint: &std::path::Path,
        data: &std::path::Path,
    ) -> Result<crate::train::FinalMetrics> {
        let m = market_tensors(data)?;
        let mut model = SeedRnn::listing(DType::F32, &mut Generator::new(0))?;
        let on = format!("the test period (2011 on) of {}", data.display());
        let mut r =
            crate::train::eval_classifier(self.name(), &mut model, checkpoint, &m.test.0, &m.test.1, &on)?;
        r.values.insert(1, ("majority_accuracy".into(), m.majority_accuracy.into()));
        Ok(r)
    }
}
