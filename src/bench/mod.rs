//! `glassgrad bench`: time the engine's kernels, report GFLOP/s and GB/s, the share of the
//! machine's fp32 peak and of the case's roofline roof, side by side with PyTorch where it is
//! installed, and optionally draw the roofline plot.
//!
//! # How a figure is computed
//! - **Time**: each case is warmed up, then timed over repeated samples with enough iterations per
//!   sample to last a few ms ([`timing`]); the report gives the median time of one iteration and its
//!   spread (min, max, interquartile range). With `--rounds N` the whole selection is timed N times
//!   (alternating with PyTorch's twin) and each side's best median is reported ([`rounds`]).
//! - **Rates**: each case declares the flops of one iteration ([`Work::flops`]; a square `n×n`
//!   matmul does $2n^3$: $n^2$ outputs, each $n$ multiplies and $n$ adds) and the compulsory bytes
//!   it must move ([`Work::bytes`]: inputs read once, outputs written once; $3 \cdot 4 n^2$ for the
//!   matmul). GFLOP/s is $\text{flops} / t_{\text{median}}$, GB/s likewise ($10^9$ bytes per second),
//!   and the arithmetic intensity $I$ is flops per byte.
//! - **Share of peak**: GFLOP/s divided by the run's fp32 peak, measured once per run by an FMA loop
//!   for every instruction set ([`peak`]: the best single-thread peak times the thread count) or
//!   given by `--peak-gflops`.
//! - **Roofline**: the memory bandwidth is measured once per run by a STREAM-like triad on the same
//!   threads ([`bandwidth`]) or given by `--bandwidth-gbps`; a case's roof is
//!   $\min(P, I \cdot B)$, and the report says which roof bounds it and its share of that roof
//!   ([`mod@roof`]). `--roofline FILE.png` draws it ([`plot`]).
//! - **PyTorch**: with `--torch PYTHON`, an embedded script ([`torch`]) times the same case ids with
//!   the same thread count, and the report adds torch's median and the ratio
//!   `glassgrad median / torch median` (below 1: glassgrad is faster).
//!
//! # Adding a case
//! A [`Case`] is an id, the work one iteration does, and a setup closure that builds the inputs from
//! a seeded [`Generator`](crate::rng::Generator) and returns the closure to time. Add it to [`cases`]:
//!
//! ```ignore
//! Case::new("relu_1m", Work::new(1e6, 2.0 * 4.0 * 1e6), "relu over 10⁶ f32", |rng| {
//!     let x = Tensor::randn(&[1_000_000], DType::F32, rng)?;
//!     Ok(Box::new(move || keep(x.relu()?)))
//! })
//! .with_spec("op=relu dtype=f32 len=1000000"),
//! ```
//!
//! A registered case's spec, flops and bytes are pinned by `tests/bench_cases.rs`: change a case
//! on purpose, and that test with it.
//!
//! The run closure is `FnMut`, so it may own state across iterations: a training-step case builds a
//! model and an optimizer in its setup and runs forward, backward and the update in its run closure.
//! Add the same id to `torch_twin.py` to get the PyTorch column.

pub mod bandwidth;
mod case;
mod cli;
pub mod cnn;
mod gpu;
mod kernels;
pub mod peak;
pub mod plot;
mod recommender;
pub mod report;
pub mod roof;
pub mod rounds;
mod sequence;
pub mod timing;
pub mod torch;

pub use bandwidth::Bandwidth;
pub use case::{Case, CaseResult, RunFn, SEED, SetupFn, Work, finish, keep};
pub use cli::{BenchArgs, cases, check_output, run_case, run_cli, select};
pub use gpu::cuda_cases;
pub use kernels::{SOFTMAX_FLOPS_PER_ELEMENT, sgemm, softmax};
pub use peak::Peak;
pub use recommender::mf_train_step;
pub use roof::{Bound, Machine, Roof, ridge, roof};
pub use sequence::{sequence_cases, sequence_cases_on};
pub use timing::{Options, Timing, best_round, time_run};
