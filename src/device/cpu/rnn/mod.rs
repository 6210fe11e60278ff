//! CPU kernels of the recurrent ops (`rnn_tanh`, `lstm`, `gru`; the formulas, the dispatch and the
//! tape are in `ops::rnn`, `ops::lstm` and `ops::gru`), on plain slices:
//!
//! * `types.rs`: the vocabulary (`Kind`, `Dims`, the per-layer and per-step buffers), also used
//!   by the CUDA host code;
//! * `float.rs`: `RnnFloat`, the f32/f64 element of the kernels (GEMM, $\sigma$, $\tanh$);
//! * `time_loop.rs`: the layer loop over the steps, forward and backward through time, shared by
//!   the three cells;
//! * `tanh.rs`, `lstm.rs`, `gru.rs`: each cell's fused elementwise step, forward and backward.
//!
//! The files import each other in one direction only (`types`, `float` ← cells ← `time_loop`);
//! this file only declares them and re-exports what the layers above use.

pub(crate) mod float;
pub(crate) mod gru;
pub(crate) mod lstm;
pub(crate) mod tanh;
pub(crate) mod time_loop;
pub(crate) mod types;

pub(crate) use float::RnnFloat;
pub(crate) use time_loop::{backward, forward};
pub(crate) use types::{Dims, Kind, LayerParams, Tape};
