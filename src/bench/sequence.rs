//! The sequence-model cases: the tanh RNN, the RNN language model and the two-layer LSTM, forward
//! and training step.

use super::case::{Case, Work, finish, keep};
use crate::error::Result;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Batch of the sequence cases.
const N: usize = 64;
/// Time steps of the sequence cases.
const T: usize = 50;
/// Hidden size of every recurrent layer, and the RNN's input (and embedding) size.
const H: usize = 128;
/// Vocabulary of the RNN language model.
const VOCAB: usize = 1000;
/// Input size of the LSTM.
const LSTM_IN: usize = 64;
/// Layers of the LSTM.
const LSTM_LAYERS: usize = 2;
/// Classes of the LSTM's last-step classifier.
const CLASSES: usize = 10;
/// SGD learning rate of the training steps (no momentum, no weight decay).
const LR: f64 = 0.01;

/// Parameters of a recurrent layer from `i` to `h` with `g` gate blocks: $W_{ih}$, $W_{hh}$ and
/// the two biases, $G H (I + H) + 2 G H$.
pub const fn recurrent_params(g: usize, i: usize, h: usize) -> usize {
    g * h * (i + h) + 2 * g * h
}

/// Parameters of the RNN language model: Embedding(1000, 128), RNN 128→128, Linear(128, 1000).
pub const RNNLM_PARAMS: usize = VOCAB * H + recurrent_params(1, H, H) + (H * VOCAB + VOCAB);

/// Parameters of the LSTM model: two LSTM layers 64→128 and 128→128, Linear(128, 10).
pub const LSTM_PARAMS: usize =
    recurrent_params(4, LSTM_IN, H) + recurrent_params(4, H, H) + (H * CLASSES + CLASSES);

/// The sequence-model cases (f32, batch 64, 50 steps): `rnn_fwd`, `rnnlm_fwd`,
/// `rnnlm_train_step`, `lstm_fwd`, `lstm_train_step`. A recurrent layer from $I$ to $H$ with $G$
/// gate blocks does $2 N T \, G H (I + H)$ flops forward (the two GEMMs of every step); a
/// training step counts three times the forward (forward, and the two GEMMs of each backward).
/// The gates' nonlinearities, the embedding gather and the loss are not counted.
///
/// Compulsory bytes: the inputs (f32 sequences, i64 tokens and labels) and the parameters read
/// once, the forward's output written once (the RNN's output sequence, the LSTM's logits; a loss
/// is a scalar and not counted); a training step reads and writes every parameter (the SGD update)
/// instead of writing an output. Hidden states, gate activations and gradients are intermediate
/// and not counted.
pub fn sequence_cases() -> Vec<Case> {
    sequence_cases_on(&crate::device::Device::Cpu)
}

/// [`sequence_cases`] on `dev` (models moved with `Module::to_device`, inputs drawn on the CPU
/// then moved, each iteration ending with [`finish`]).
pub fn sequence_cases_on(dev: &crate::device::Device) -> Vec<Case> {
    use crate::nn::{Embedding, Linear, Module, RecurrentConfig, Rnn};
    use crate::ops::loss::Reduction;
    use crate::optim::{Optimizer, Sgd, SgdConfig};
    let (n, t) = (N, T);
    let rec = |g: usize, i: usize, h: usize| 2.0 * (n * t * g * h * (i + h)) as f64;
    let rnnlm_flops = rec(1, H, H) + 2.0 * (n * t * H * VOCAB) as f64;
    let lstm_flops = rec(4, LSTM_IN, H) + rec(4, H, H) + 2.0 * (n * H * CLASSES) as f64;
    let f32s = |k: usize| 4.0 * k as f64;
    let i64s = |k: usize| 8.0 * k as f64;
    let rnn_bytes = f32s(n * t * H + recurrent_params(1, H, H) + n * t * H);
    let rnnlm_bytes = i64s(2 * n * t) + f32s(RNNLM_PARAMS);
    let rnnlm_step_bytes = i64s(2 * n * t) + 2.0 * f32s(RNNLM_PARAMS);
    let lstm_bytes = f32s(n * t * LSTM_IN + LSTM_PARAMS + n * CLASSES);
    let lstm_step_bytes = f32s(n * t * LSTM_IN) + i64s(n) + 2.0 * f32s(LSTM_PARAMS);
    let rnnlm_spec = format!(
        "model=Embedding({VOCAB},{H})+RNN(tanh,{H}->{H})+Linear({H}->{VOCAB}) params={RNNLM_PARAMS} loss=cross_entropy(mean,every_token) dtype=f32 batch={n} steps={t} tokens=randint(0,{VOCAB})"
    );
    let lstm_spec = format!(
        "model=LSTM({LSTM_IN}->{H},layers={LSTM_LAYERS})+Linear({H}->{CLASSES},last_step) params={LSTM_PARAMS} dtype=f32 batch={n} steps={t} x=randn"
    );
    let sgd = format!("optimizer=sgd lr={LR} momentum=0 weight_decay=0");
    // Embedding(VOCAB, H) → tanh RNN H → Linear(H, VOCAB) over every token.
    struct RnnLm {
        emb: Embedding,
        rnn: Rnn,
        fc: Linear,
    }
    impl RnnLm {
        fn new(rng: &mut Generator) -> Result<RnnLm> {
            Ok(RnnLm {
                emb: Embedding::new(VOCAB, H, None, DType::F32, rng)?,
                rnn: Rnn::new(H, H, RecurrentConfig::new(), rng)?,
                fc: Linear::new(H, VOCAB, true, DType::F32, rng)?,
            })
        }
        fn loss(&self, tokens: &Tensor, target: &Tensor) -> Result<Tensor> {
            let h = self.rnn.forward(&self.emb.forward(tokens)?)?;
            let logits = self.fc.forward(&h)?.reshape(&[-1, VOCAB as isize])?;
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
            Tensor::randint(&[n, t], 0, VOCAB as i64, rng)?.to(dev)?,
            Tensor::randint(&[n * t], 0, VOCAB as i64, rng)?.to(dev)?,
        ))
    };
    let d = *dev;
    vec![
        Case::new(
            "rnn_fwd",
            Work::new(rec(1, H, H), rnn_bytes),
            format!("f32 tanh RNN {H}→{H} over ({n}, {t}, {H}), forward"),
            move |rng| {
                let rnn = Rnn::new(H, H, RecurrentConfig::new(), rng)?;
                rnn.to_device(&d)?;
                let x = Tensor::randn(&[n, t, H], DType::F32, rng)?.to(&d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| rnn.forward(&x))?)?;
                    finish(&d)
                }))
            },
        )
        .with_spec(format!(
            "op=rnn(tanh) dtype=f32 batch={n} steps={t} input_size={H} hidden={H} layers=1 bias=true params={} x=randn grad=off",
            recurrent_params(1, H, H)
        )),
        Case::new(
            "rnnlm_fwd",
            Work::new(rnnlm_flops, rnnlm_bytes),
            format!(
                "f32 Embedding({VOCAB},{H}) → RNN {H} → Linear({H},{VOCAB}) + cross-entropy over ({n}, {t}) tokens, forward"
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
        )
        .with_spec(format!("{rnnlm_spec} grad=off")),
        Case::new(
            "rnnlm_train_step",
            Work::new(3.0 * rnnlm_flops, rnnlm_step_bytes),
            format!("f32 RNN language model over ({n}, {t}) tokens: forward, backward, SGD step"),
            move |rng| {
                let m = RnnLm::new(rng)?;
                m.to_device(&d)?;
                let (x, y) = tokens(rng, &d)?;
                let mut opt = Sgd::new(m.params(), SgdConfig::new(LR))?;
                Ok(Box::new(move || {
                    let loss = m.loss(&x, &y)?;
                    opt.zero_grad();
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        )
        .with_spec(format!("{rnnlm_spec} {sgd}")),
        Case::new(
            "lstm_fwd",
            Work::new(lstm_flops, lstm_bytes),
            format!(
                "f32 LSTM {LSTM_IN}→{H}, {LSTM_LAYERS} layers, over ({n}, {t}, {LSTM_IN}) + Linear({H}, {CLASSES}) on the last step, forward"
            ),
            move |rng| {
                let m = Lstm2::new(rng)?;
                m.to_device(&d)?;
                let x = Tensor::randn(&[n, t, LSTM_IN], DType::F32, rng)?.to(&d)?;
                Ok(Box::new(move || {
                    keep(crate::autograd::no_grad(|| m.logits(&x))?)?;
                    finish(&d)
                }))
            },
        )
        .with_spec(format!("{lstm_spec} grad=off")),
        Case::new(
            "lstm_train_step",
            Work::new(3.0 * lstm_flops, lstm_step_bytes),
            format!(
                "f32 LSTM {LSTM_IN}→{H} ×{LSTM_LAYERS} over ({n}, {t}, {LSTM_IN}), cross-entropy on the last step: forward, backward, SGD step"
            ),
            move |rng| {
                let m = Lstm2::new(rng)?;
                m.to_device(&d)?;
                let x = Tensor::randn(&[n, t, LSTM_IN], DType::F32, rng)?.to(&d)?;
                let y = Tensor::randint(&[n], 0, CLASSES as i64, rng)?.to(&d)?;
                let mut opt = Sgd::new(m.params(), SgdConfig::new(LR))?;
                Ok(Box::new(move || {
                    let loss = m.logits(&x)?.cross_entropy(&y, Reduction::Mean)?;
                    opt.zero_grad();
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        )
        .with_spec(format!(
            "{lstm_spec} labels=randint(0,{CLASSES}) loss=cross_entropy(mean,last_step) {sgd}"
        )),
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
            rnn: Lstm::new(LSTM_IN, H, RecurrentConfig::new().num_layers(LSTM_LAYERS), rng)?,
            fc: Linear::new(H, CLASSES, true, DType::F32, rng)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn numel(params: &[Tensor]) -> usize {
        params.iter().map(|p| p.shape().iter().product::<usize>()).sum()
    }

    #[test]
    fn parameter_counts_match_the_models() {
        let rng = &mut Generator::new(0);
        assert_eq!(numel(&Lstm2::new(rng).unwrap().params()), LSTM_PARAMS);
        let rnn = crate::nn::Rnn::new(H, H, crate::nn::RecurrentConfig::new(), rng).unwrap();
        assert_eq!(numel(&crate::nn::Module::parameters(&rnn)), recurrent_params(1, H, H));
        let emb = crate::nn::Embedding::new(VOCAB, H, None, DType::F32, rng).unwrap();
        let fc = crate::nn::Linear::new(H, VOCAB, true, DType::F32, rng).unwrap();
        let lm = [
            crate::nn::Module::parameters(&emb),
            crate::nn::Module::parameters(&rnn),
            crate::nn::Module::parameters(&fc),
        ];
        assert_eq!(numel(&lm.concat()), RNNLM_PARAMS);
    }
}
