//! `glassgrad bench`: time the engine's kernels, report GFLOP/s (or GB/s) and the share of the
//! machine's fp32 peak, side by side with PyTorch where it is installed.
//!
//! # How a figure is computed
//! - **Time**: each case is warmed up, then timed over repeated samples with enough iterations per
//!   sample to last a few ms ([`timing`]); the report gives the median time of one iteration and its
//!   spread (min, max, interquartile range).
//! - **Rate**: a compute-bound case declares its flop count ([`Work::Flops`]; a square `n×n` matmul
//!   does $2n^3$: $n^2$ outputs, each $n$ multiplies and $n$ adds), and its rate is
//!   $\text{flops} / t_{\text{median}}$ in GFLOP/s. A memory-bound case declares the bytes it must
//!   move ([`Work::Bytes`]; e.g. one read of the input and one write of the output) and its rate is in
//!   GB/s ($10^9$ bytes per second).
//! - **Share of peak**: GFLOP/s divided by the run's fp32 peak, measured once per run by an FMA loop
//!   ([`peak`]: the single-thread peak times the thread count) or given by `--peak-gflops`.
//!   Memory-bound cases have no share of the compute peak.
//! - **PyTorch**: with `--torch PYTHON`, an embedded script ([`torch`]) times the same case ids with
//!   the same thread count, and the report adds torch's median and the ratio
//!   `glassgrad median / torch median` (below 1: glassgrad is faster).
//!
//! # Adding a case
//! A [`Case`] is an id, the work one iteration does, and a setup closure that builds the inputs from
//! a seeded [`Generator`](crate::rng::Generator) and returns the closure to time. Add it to [`cases`]:
//!
//! ```ignore
//! Case::new("relu_1m", Work::Bytes(2.0 * 4.0 * 1e6), "relu over 10⁶ f32", |rng| {
//!     let x = Tensor::randn(&[1_000_000], DType::F32, rng)?;
//!     Ok(Box::new(move || keep(x.relu()?)))
//! }),
//! ```
//!
//! The run closure is `FnMut`, so it may own state across iterations: a training-step case builds a
//! model and an optimizer in its setup and runs forward, backward and the update in its run closure.
//! Add the same id to `torch_twin.py` to get the PyTorch column.

mod case;
mod cli;
pub mod cnn;
mod gpu;
mod kernels;
pub mod peak;
mod recommender;
pub mod report;
mod sequence;
pub mod timing;
pub mod torch;

pub use case::{Case, CaseResult, RunFn, SEED, SetupFn, Work, finish, keep};
pub use cli::{BenchArgs, cases, run_case, run_cli, select};
pub use gpu::cuda_cases;
pub use kernels::{sgemm, softmax};
pub use peak::Peak;
pub use recommender::mf_train_step;
pub use sequence::{sequence_cases, sequence_cases_on};
pub use timing::{Options, Timing, time_run};
