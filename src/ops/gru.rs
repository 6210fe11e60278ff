//! Gated recurrent unit: `nn.GRU(batch_first=True)`.
//!
//! One layer, batch in rows, gates in PyTorch's order $r, z, n$ (three blocks of $H$ rows in
//! $W_{ih}$ $(3H \times I)$, $W_{hh}$ $(3H \times H)$, $b_{ih}$, $b_{hh}$ $(3H)$). With
//! $p_t = x_t W_{ih}^\top + b_{ih}$ and $q_t = h_{t-1} W_{hh}^\top + b_{hh}$, each split into
//! $[\,\cdot^r \;\; \cdot^z \;\; \cdot^n\,]$:
//!
//! $$r_t = \sigma(p^r_t + q^r_t), \qquad z_t = \sigma(p^z_t + q^z_t), \qquad
//!   n_t = \tanh(p^n_t + r_t \odot q^n_t),$$
//!
//! $$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}.$$
//!
//! (PyTorch's $n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))$: the reset gate
//! multiplies $b_{hn}$ too, so $b_{hh}$ is not folded into the input projection.)
//!
//! Shapes: `x` $(N, T, I)$, `h0` $(L, N, H)$ (absent = zeros); outputs `output` $(N, T, H)$ and
//! `h_n` $(L, N, H)$. Layer $k > 0$ reads layer $k-1$'s output.
//!
//! **Backward through time**, for $t = T, \dots, 1$, with $\bar h_t$ the gradient reaching $h_t$:
//!
//! $$\bar a^n_t = \bar h_t \odot (1 - z_t) \odot (1 - n_t^2), \quad
//!   \bar a^z_t = \bar h_t \odot (h_{t-1} - n_t) \odot z_t (1 - z_t), \quad
//!   \bar a^r_t = \bar a^n_t \odot q^n_t \odot r_t (1 - r_t)$$
//!
//! $$\bar p_t = [\,\bar a^r_t \;\; \bar a^z_t \;\; \bar a^n_t\,], \qquad
//!   \bar q_t = [\,\bar a^r_t \;\; \bar a^z_t \;\; \bar a^n_t \odot r_t\,], \qquad
//!   \bar h_{t-1} \mathrel{+}= \bar h_t \odot z_t + \bar q_t W_{hh}$$
//!
//! $$\bar W_{ih} = \sum_t \bar p_t^\top x_t, \quad \bar W_{hh} = \sum_t \bar q_t^\top h_{t-1}, \quad
//!   \bar b_{ih} = \sum_{t,n} \bar p_t, \quad \bar b_{hh} = \sum_{t,n} \bar q_t, \quad
//!   \bar x_t = \bar p_t W_{ih}, \quad \bar h_0 = \bar h_1 \odot z_1 + \bar q_1 W_{hh}.$$
//!
//! Saved for backward: each layer's input, $h_0 \dots h_T$, the activations $r, z, n$ and
//! $q^n = W_{hn} h_{t-1} + b_{hn}$ of every step. Kernel shared with the RNN
//! (see [`crate::ops::rnn`]); the recurrence GEMM of each step writes $q_t$ to a scratch buffer; the
//! cell's fused elementwise step is in `device/cpu/rnn/gru.rs`.

use crate::device::cpu::rnn::Kind;
use crate::error::{Error, Result};
use crate::ops::rnn::{RnnWeights, run};
use crate::tensor::Tensor;

impl Tensor {
    /// A multi-layer GRU (see the module docs): returns `(output (N, T, H), h_n (L, N, H))` for
    /// `x (N, T, I)`, `h0 (L, N, H)` (absent = zeros) and one [`RnnWeights`] per layer with $3H$
    /// rows (gates r, z, n). PyTorch: `nn.GRU(I, H, L, batch_first=True)`.
    pub fn gru(x: &Tensor, h0: Option<&Tensor>, layers: &[RnnWeights]) -> Result<(Tensor, Tensor)> {
        let mut out = run(Kind::Gru, x, h0, None, layers)?.into_iter();
        match (out.next(), out.next()) {
            (Some(y), Some(h_n)) => Ok((y, h_n)),
            _ => Err(Error::invalid("gru", "internal: expected two outputs")),
        }
    }
}
