//! A sequence-to-sequence encoder–decoder with Luong (dot-product) attention, the document's
//! §1.3.3.2, built on the fused recurrent ops ([`Tensor::gru`](crate::tensor::Tensor::gru), [`Tensor::lstm`](crate::tensor::Tensor::lstm)).
//!
//! **Encoder.** Source ids $x_1 \dots x_S$ (padded with `pad` on the right) are embedded,
//! $e_s = E^{src}_{x_s}$, and run through a GRU or LSTM: $\bar h_s = \mathrm{RNN}(e_s, \bar h_{s-1})$.
//! Rows of a batch have their own lengths $S_n$; each group of equal length runs without padding
//! (as `pack_padded_sequence` does), so a row's final state is the state after its last real token
//! and its outputs past $S_n$ are zero.
//!
//! **Decoder** (teacher forcing). The target $y_1 \dots y_T$ (ending in `eos`) is fed shifted
//! right, $[\mathrm{bos}, y_1, \dots, y_{T-1}]$, through its own embedding and RNN started from the
//! encoder's final state, giving $h_1 \dots h_T$. Then, for every step $t$ (Luong et al. 2015,
//! "dot" score, no input feeding):
//!
//! $$\mathrm{score}(h_t, \bar h_s) = h_t^\top \bar h_s \;(s \le S_n;\ -\infty \text{ at padding}),
//!   \qquad a_t = \operatorname{softmax}_s \mathrm{score}(h_t, \bar h_s), \qquad
//!   c_t = \sum_s a_{t,s} \bar h_s,$$
//!
//! $$\tilde h_t = \tanh(W_c [c_t ; h_t] + b_c), \qquad
//!   p(y_t \mid y_{<t}, x) = \operatorname{softmax}(W_o \tilde h_t + b_o).$$
//!
//! The loss is the mean cross-entropy over the target positions that are not padding
//! (`ignore_index = pad`). Gradients come from the ops (matmul, masked_fill, softmax, cat, linear,
//! the recurrent ops' BPTT); [`luong_attention`] is a composite with no backward of its own.
//!
//! **Greedy decoding** feeds back the arg-max token, one step of the RNN at a time from the
//! encoder's state, until every row has produced `eos` or `max_len` tokens.
//!
//! Shapes: `src` $(N, S)$ and `tgt` $(N, T)$ i64; encoder outputs $(N, S, H)$; attention weights
//! $(N, T, S)$; logits $(N, T, V_{tgt})$.

mod dates;
mod model;

pub use dates::*;
pub use model::*;
