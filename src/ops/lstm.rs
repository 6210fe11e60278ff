//! Long short-term memory: `nn.LSTM(batch_first=True)`.
//!
//! One layer, batch in rows ($x_t$ is $N \times I$, states $N \times H$), gates in PyTorch's order
//! $i, f, g, o$ (four blocks of $H$ rows in $W_{ih}$ $(4H \times I)$, $W_{hh}$ $(4H \times H)$,
//! $b_{ih}$, $b_{hh}$ $(4H)$):
//!
//! $$a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} = [\,a^i_t \;\; a^f_t \;\; a^g_t \;\; a^o_t\,]$$
//!
//! $$i_t = \sigma(a^i_t), \quad f_t = \sigma(a^f_t), \quad g_t = \tanh(a^g_t), \quad o_t = \sigma(a^o_t)$$
//!
//! $$c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).$$
//!
//! Shapes: `x` $(N, T, I)$, `h0`, `c0` $(L, N, H)$ (absent = zeros); outputs `output` $(N, T, H)$,
//! `h_n`, `c_n` $(L, N, H)$. Layer $k > 0$ reads layer $k-1$'s output.
//!
//! **Backward through time**, for $t = T, \dots, 1$, with $\bar h_t$ the gradient reaching $h_t$
//! (upstream output gradient at $t$ plus $\bar a_{t+1} W_{hh}$; `h_n`'s gradient at $t = T$) and
//! $\bar c_t$ the gradient carried along the cell (`c_n`'s at $t = T$):
//!
//! $$\bar c_t \mathrel{+}= \bar h_t \odot o_t \odot (1 - \tanh^2 c_t)$$
//!
//! $$\bar a^i_t = \bar c_t \odot g_t \odot i_t (1 - i_t), \quad
//!   \bar a^f_t = \bar c_t \odot c_{t-1} \odot f_t (1 - f_t), \quad
//!   \bar a^g_t = \bar c_t \odot i_t \odot (1 - g_t^2), \quad
//!   \bar a^o_t = \bar h_t \odot \tanh(c_t) \odot o_t (1 - o_t)$$
//!
//! $$\bar c_{t-1} = \bar c_t \odot f_t, \qquad \bar h_{t-1} \mathrel{+}= \bar a_t W_{hh}$$
//!
//! and, as for the RNN, $\bar W_{ih} = \sum_t \bar a_t^\top x_t$, $\bar W_{hh} = \sum_t \bar a_t^\top
//! h_{t-1}$, $\bar b_{ih} = \bar b_{hh} = \sum_{t,n} \bar a_t$, $\bar x_t = \bar a_t W_{ih}$,
//! $\bar h_0 = \bar a_1 W_{hh}$, $\bar c_0 = \bar c_1 \odot f_1$.
//!
//! Saved for backward: each layer's input, $h_0 \dots h_T$, $c_0 \dots c_T$, and the activations
//! $i, f, g, o$ of every step ($\tanh c_t$ is recomputed). The kernel is the one shared with the
//! RNN (see [`crate::ops::rnn`]): one GEMM for the input projection of all steps, one GEMM and one
//! fused elementwise pass per step (the cell's, in `device/cpu/rnn/lstm.rs`).

use crate::device::cpu::rnn::Kind;
use crate::error::{Error, Result};
use crate::ops::rnn::{RnnWeights, run};
use crate::tensor::Tensor;

impl Tensor {
    /// A multi-layer LSTM (see the module docs): returns `(output (N, T, H), h_n (L, N, H),
    /// c_n (L, N, H))` for `x (N, T, I)`, `h0`, `c0` `(L, N, H)` (absent = zeros) and one
    /// [`RnnWeights`] per layer with $4H$ rows (gates i, f, g, o).
    /// PyTorch: `nn.LSTM(I, H, L, batch_first=True)`.
    pub fn lstm(
        x: &Tensor,
        h0: Option<&Tensor>,
        c0: Option<&Tensor>,
        layers: &[RnnWeights],
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let mut out = run(Kind::Lstm, x, h0, c0, layers)?.into_iter();
        match (out.next(), out.next(), out.next()) {
            (Some(y), Some(h_n), Some(c_n)) => Ok((y, h_n, c_n)),
            _ => Err(Error::invalid("lstm", "internal: expected three outputs")),
        }
    }
}
