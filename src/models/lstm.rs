//! Listing 1.4.3, the LSTM text classifier: an embedding of a vocabulary of 1000 into 64, a
//! two-layer LSTM with hidden size 128, and a linear layer from the last step's top-layer state
//! to the classes.
//!
//! $$e_t = E_{x_t,:}, \qquad (h^{(l)}_t, c^{(l)}_t) = \text{LSTM}^{(l)}\big(h^{(l-1)}_t, h^{(l)}_{t-1},
//!   c^{(l)}_{t-1}\big), \qquad \text{logits} = V h^{(L)}_T + c .$$
//!
//! The listing (PyTorch), and what changed:
//!
//! ```text
//! def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers):
//!     super().__init()                                   # bug: __init__
//!     ...
//! def forward(self, x):
//!     x = self.embedding(x)
//!     h0 = torch.zeros(n_layers, x.size(0), hidden_dim)  # bug: n_layers, hidden_dim are not
//!     c0 = torch.zeros(n_layers, x.size(0), hidden_dim)  #      defined here; use self's sizes
//!     out, _ = self.rnn(x, (h0, c0))
//!     out = self.fc(out[:, -1, :])
//! ```
//!
//! Here the sizes are the model's own (`self.rnn`'s layers and hidden size), and the zero states
//! are made with them. `state_dict` names: `embedding.weight`, `rnn.weight_ih_l{k}`,
//! `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}` ($k = 0, 1$), `fc.weight`, `fc.bias`.

use super::rnn::last_step;
use crate::error::{Error, Result};
use crate::nn::{Embedding, Linear, Lstm, Mode, Module, RecurrentConfig};
use crate::ops::rnn::RnnWeights;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// The listing's LSTM text classifier.
#[derive(Clone)]
pub struct SeedLstm {
    pub embedding: Embedding,
    pub rnn: Lstm,
    pub fc: Linear,
    mode: Mode,
}

impl SeedLstm {
    /// The listing's sizes: vocabulary 1000, embedding 64, hidden 128, 2 layers, `output_dim`
    /// classes (10 in the listing; the tweets have 3).
    pub fn listing(output_dim: usize, dtype: DType, rng: &mut Generator) -> Result<SeedLstm> {
        SeedLstm::new(1000, 64, 128, output_dim, 2, dtype, rng)
    }

    /// `NLPModel(vocab_size, embedding_dim, hidden_dim, output_dim, n_layers)` with PyTorch's
    /// initialisation of each part, drawn in that order.
    pub fn new(
        vocab_size: usize,
        embedding_dim: usize,
        hidden_dim: usize,
        output_dim: usize,
        n_layers: usize,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<SeedLstm> {
        let embedding = Embedding::new(vocab_size, embedding_dim, None, dtype, rng)?;
        let cfg = RecurrentConfig::new().num_layers(n_layers).dtype(dtype);
        let rnn = Lstm::new(embedding_dim, hidden_dim, cfg, rng)?;
        let fc = Linear::new(hidden_dim, output_dim, true, dtype, rng)?;
        Ok(SeedLstm { embedding, rnn, fc, mode: Mode::default() })
    }

    /// The model holding the given tensors, one [`RnnWeights`] per layer.
    pub fn from_tensors(
        embedding: Tensor,
        layers: Vec<RnnWeights>,
        fc_weight: Tensor,
        fc_bias: Tensor,
    ) -> Result<SeedLstm> {
        Ok(SeedLstm {
            embedding: Embedding::from_tensor(embedding, None)?,
            rnn: Lstm::from_weights(layers, false, 0.0)?,
            fc: Linear::from_tensors(fc_weight, Some(fc_bias))?,
            mode: Mode::default(),
        })
    }
}

impl Module for SeedLstm {
    /// Logits $(N, \text{classes})$ for tokens $(N, T)$.
    fn forward(&self, tokens: &Tensor) -> Result<Tensor> {
        let ts = tokens.shape();
        if ts.len() != 2 {
            return Err(Error::shape("SeedLstm", &ts, "the tokens must be (N, T)"));
        }
        let x = self.embedding.forward(tokens)?;
        // Fixed: the listing used undefined names; the sizes are the model's own.
        let state = [self.rnn.num_layers(), ts[0], self.rnn.hidden_size()];
        let h0 = Tensor::zeros(&state, x.dtype())?;
        let c0 = Tensor::zeros(&state, x.dtype())?;
        let (out, _) = self.rnn.forward_with(&x, Some((&h0, &c0)))?;
        self.fc.forward(&last_step(&out)?)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("embedding".into(), &self.embedding), ("rnn".into(), &self.rnn), ("fc".into(), &self.fc)]
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}
