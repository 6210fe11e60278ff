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
