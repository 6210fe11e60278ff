//! The sequence-model cases: the tanh RNN, the RNN language model and the two-layer LSTM, forward
//! and training step.

use super::case::{Case, Work, finish, keep};
use crate::error::Result;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// The sequence-model cases (f32, batch 64, 50 steps): `rnn_fwd`, `rnnlm_fwd`,
/// `rnnlm_train_step`, `lstm_fwd`, `lstm_train_step`. A recurrent layer from $I$ to $H$ with $G$
/// gate blocks does $2 N T \, G H (I + H)$ flops forward (the two GEMMs of every step); a
/// training step counts three times the forward (forward, and the two GEMMs of each backward).
pub fn sequence_cases() -> Vec<Case> {
    sequence_cases_on(&crate::device::Device::Cpu)
}

/// [`sequence_cases`] on `dev` (models moved with `Module::to_device`, inputs drawn on the CPU
/// then moved, each iteration ending with [`finish`]).
pub fn sequence_cases_on(dev: &crate::device::Device) -> Vec<Case> {
    use crate::nn::{Embedding, Linear, Module, RecurrentConfig, Rnn};
    use crate::ops::loss::Reduction;
    use crate::optim::{Optimizer, Sgd, SgdConfig};
    let (n, t) = (64usize, 50usize);
    let rec = |g: usize, i: usize, h: usize| 2.0 * (n * t * g * h * (i + h)) as f64;
    let rnnlm_flops = rec(1, 128, 128) + 2.0 * (n * t * 128 * 1000) as f64;
    let lstm_flops = rec(4, 64, 128) + rec(4, 128, 128) + 2.0 * (n * 128 * 10) as f64;
    // Embedding(1000, 128) → tanh RNN 128 → Linear(128, 1000) over every token.
    struct RnnLm {
        emb: Embedding,
        rnn: Rnn,
        fc: Linear,
    }
    impl RnnLm {
        fn new(rng: &mut Generator) -> Result<RnnLm> {
            Ok(RnnLm {
                emb: Embedding::new(1000, 128, None, DType::F32, rng)?,
                rnn: Rnn::new(128, 128, RecurrentConfig::new(), rng)?,
                fc: Linear::new(128, 1000, true, DType::F32, rng)?,
            })
        }
        fn loss(&self, tokens: &Tensor, target: &Tensor) -> Result<Tensor> {
            let h = self.rnn.forward(&self.emb.forward(tokens)?)?;
            let logits = self.fc.forward(&h)?.reshape(&[-1, 1000])?;
            logits.cross_entropy(target, Reduction::Mean)
        }
        fn params(&self) -> Vec<Tensor> {
            [self.emb.parameters(), self.rnn.parameters(), self.fc.parameters()].concat()
        }
        fn to_device(&self, dev: &crate::device::Device) -> Result<()> {
            self.emb.to_device(dev)?;
            self.rnn.to_device(dev)?;
            self.fc.to_device(dev)
        }
    }
    let tokens = move |rng: &mut Generator, dev: &crate::device::Device| -> Result<(Tensor, Tensor)> {
        Ok((
            Tensor::randint(&[n, t], 0, 1000, rng)?.to(dev)?,
            Tensor::randint(&[n * t], 0, 1000, rng)?.to(dev)?,
        ))
    };
    let d = *dev;
    vec![
        Case::new(
            "rnn_fwd",
            Work::Flops(rec(1, 128, 128)),
            format!("f32 tanh RNN 128→128 over ({n}, {t}, 128), forward"),
            move |rng| {
                let rnn = Rnn::new(128, 128, RecurrentConfig::new(), rng)?;
                rnn.to_device(&d)?;
                let x = Tensor::randn(&[n, t, 128], DType::F32, rng)?.to(&d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| rnn.forward(&x))?)?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "rnnlm_fwd",
            Work::Flops(rnnlm_flops),
            format!(
                "f32 Embedding(1000,128) → RNN 128 → Linear(128,1000) + cross-entropy over ({n}, {t}) tokens, forward"
            ),
            move |rng| {
                let m = RnnLm::new(rng)?;
                m.to_device(&d)?;
                let (x, y) = tokens(rng, &d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| m.loss(&x, &y))?)?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "rnnlm_train_step",
            Work::Flops(3.0 * rnnlm_flops),
            format!("f32 RNN language model over ({n}, {t}) tokens: forward, backward, SGD step"),
            move |rng| {
                let m = RnnLm::new(rng)?;
                m.to_device(&d)?;
                let (x, y) = tokens(rng, &d)?;
                let mut opt = Sgd::new(m.params(), SgdConfig::new(0.01))?;
                Ok(Box::new(move || {
                    let loss = m.loss(&x, &y)?;
                    opt.zero_grad();
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "lstm_fwd",
            Work::Flops(lstm_flops),
            format!(
                "f32 LSTM 64→128, 2 layers, over ({n}, {t}, 64) + Linear(128, 10) on the last step, forward"
            ),
            move |rng| {
                let m = Lstm2::new(rng)?;
                m.to_device(&d)?;
                let x = Tensor::randn(&[n, t, 64], DType::F32, rng)?.to(&d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| m.logits(&x))?)?;
                    finish(&d)
                }))
            },
        ),
        Case::new(
            "lstm_train_step",
            Work::Flops(3.0 * lstm_flops),
            format!(
                "f32 LSTM 64→128 ×2 over ({n}, {t}, 64), cross-entropy on the last step: forward, backward, SGD step"
            ),
            move |rng| {
                let m = Lstm2::new(rng)?;
                m.to_device(&d)?;
                let x = Tensor::randn(&[n, t, 64], DType::F32, rng)?.to(&d)?;
                let y = Tensor::randint(&[n], 0, 10, rng)?.to(&d)?;
                let mut opt = Sgd::new(m.params(), SgdConfig::new(0.01))?;
                Ok(Box::new(move || {
                    let loss = m.logits(&x)?.cross_entropy(&y, Reduction::Mean)?;
                    opt.zero_grad();
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        ),
    ]
}

/// LSTM 64→128 with 2 layers and `Linear(128, 10)` on the last step (the bench's LSTM model).
struct Lstm2 {
    rnn: crate::nn::Lstm,
    fc: crate::nn::Linear,
}

impl Lstm2 {
    fn new(rng: &mut Generator) -> Result<Lstm2> {
        use crate::nn::{Linear, Lstm, RecurrentConfig};
        Ok(Lstm2 {
            rnn: Lstm::new(64, 128, RecurrentConfig::new().num_layers(2), rng)?,
            fc: Linear::new(128, 10, true, DType::F32, rng)?,
        })
    }
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        use crate::nn::Module;
        self.fc.forward(&crate::models::rnn::last_step(&self.rnn.forward(x)?)?)
    }
    fn params(&self) -> Vec<Tensor> {
        use crate::nn::Module;
        [self.rnn.parameters(), self.fc.parameters()].concat()
    }
    fn to_device(&self, dev: &crate::device::Device) -> Result<()> {
        use crate::nn::Module;
        self.rnn.to_device(dev)?;
        self.fc.to_device(dev)
    }
}
