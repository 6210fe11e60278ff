//! `RnnOutput`: the document's RNN output layer (§1.3.2.2), applied at every step,
//!
//! $$y_t = \operatorname{softmax}(V h_t + c),$$
//!
//! for hidden states $h_t$ $(N, T, H)$: $V$ $(K, H)$ and $c$ $(K)$ are a [`Linear`] layer, and the
//! softmax runs over the $K$ classes of each step, giving $(N, T, K)$ rows that sum to one.
//! Together with [`Rnn`](super::Rnn) ($h_t = \tanh(W h_{t-1} + U x_t + b)$) both of the
//! document's RNN formulas are code.
//!
//! For training, [`RnnOutput::logits`] gives $o_t = V h_t + c$ to feed the cross-entropy (whose
//! log-sum-exp is the stable form of $-\log y_t$); [`Module::forward`] gives the probabilities.
//! Gradients come from the ops it is built of ([`Tensor::linear`], [`Tensor::softmax`]).

use super::linear::Linear;
use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// The per-step output layer $y_t = \operatorname{softmax}(V h_t + c)$.
#[derive(Clone)]
pub struct RnnOutput {
    /// $V$ = `v.weight` $(K, H)$, $c$ = `v.bias` $(K)$.
    pub v: Linear,
    mode: Mode,
}

impl RnnOutput {
    /// An output layer from `hidden_size` to `num_classes` with `Linear`'s initialisation.
    pub fn new(
        hidden_size: usize,
        num_classes: usize,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<RnnOutput> {
        Ok(RnnOutput { v: Linear::new(hidden_size, num_classes, true, dtype, rng)?, mode: Mode::default() })
    }

    /// An output layer holding `v` $(K, H)$ and `c` $(K)$.
    pub fn from_tensors(v: Tensor, c: Tensor) -> Result<RnnOutput> {
        Ok(RnnOutput { v: Linear::from_tensors(v, Some(c))?, mode: Mode::default() })
    }

    /// $o_t = V h_t + c$ for every step: $(N, T, K)$.
    pub fn logits(&self, h: &Tensor) -> Result<Tensor> {
        let hs = h.shape();
        if hs.len() != 3 {
            return Err(Error::shape("RnnOutput", &hs, "the hidden states must be (N, T, H)"));
        }
        self.v.forward(h)
    }
}

impl Module for RnnOutput {
    /// $y_t = \operatorname{softmax}(V h_t + c)$ for every step: $(N, T, K)$.
    fn forward(&self, h: &Tensor) -> Result<Tensor> {
        self.logits(h)?.softmax(-1)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("v".to_string(), &self.v)]
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}
