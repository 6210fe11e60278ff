//! CPU kernels of the recurrent ops (`rnn_tanh`, `lstm`, `gru`; the formulas, the dispatch and the
//! tape are in `ops::rnn`, `ops::lstm` and `ops::gru`), on plain slices:
//!
//! * `types.rs`: the vocabulary (`Kind`, `Dims`, the per-layer and per-step buffers), also used
//!   by the CUDA host code;
//! * `time_loop.rs`: the layer loop over the steps, forward and backward through time, shared by
//!   the three cells;
//! * `tanh.rs`, `lstm.rs`, `gru.rs`: each cell's fused elementwise step, forward and backward.
//!
//! The files import each other in one direction only (`types` ← cells ← `time_loop`; the element trait is `device::cpu::float::CpuFloat`);
//! this file only declares them and re-exports what the layers above use.

pub(crate) mod gru;
pub(crate) mod lstm;
pub(crate) mod tanh;
pub(crate) mod time_loop;
pub(crate) mod types;

pub(crate) use time_loop::{backward, forward};
pub(crate) use types::{Dims, Kind, LayerParams, Tape};
