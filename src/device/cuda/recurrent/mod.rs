//! The fused recurrent ops on a GPU: `rnn_tanh` (`kernels/rnn.cu`), `lstm` (`kernels/lstm.cu`) and
//! `gru` (`kernels/gru.cu`), forward and backward through time, every configuration the CPU op
//! takes (any number of layers, optional `h0`/`c0`, with or without each bias). The formulas are
//! in [`crate::ops::rnn`], [`crate::ops::lstm`] and [`crate::ops::gru`]; the composition of a layer
//! is the one written in the kernel headers (and checked against finite differences on the CPU by
//! `kernels/emulate/test_recurrent.inc`), in the batch-first layout (`time_major = 0`):
//!
//! * forward: `P = 1·b_ih (+ 1·b_hh) + X W_ihᵀ` for all steps (GEMMs of `kernels/matmul.cu`; the
//!   biases enter as rank-1 products with a column of ones, so each row of `P` starts at the
//!   bias, as on the CPU), then per step `P_s += h_{s-1} W_hhᵀ` (GRU: `Q = 1·b_hh + h_{s-1}
//!   W_hhᵀ` into an `(N, 3H)` scratch) and the fused pointwise step kernel;
//! * backward, steps in reverse: the pointwise backward kernel (writes `dA_s`, updates `dh`, `dc`),
//!   `dW_hh += dA_sᵀ h_{s-1}` (steps in this order: a fixed summation order) and `dh += dA_s W_hh`;
//!   then `dW_ih = dAᵀ X`, `dX = dA W_ih` (the upstream gradient of the layer below), and the bias
//!   gradients as column sums of `dA` (GRU: of `dQ` for `b_hh`) by the `sum` reduction.
//!
//! The host code takes and returns device data only: the op (`ops::rnn`) validates the operands,
//! brings them to one GPU as contiguous [`CudaData`](crate::device::cuda::CudaData) (zeros for an
//! absent `h0`/`c0`), calls [`forward()`], records the tape, and in its backward calls [`backward()`]
//! with what [`forward()`] saved. `types.rs` holds what the two share.

mod backward;
mod forward;
mod types;

pub(crate) use backward::backward;
pub(crate) use forward::forward;
pub(crate) use types::{LayerW, Saved};
