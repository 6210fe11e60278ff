//! # glassgrad
//!
//! A deep-learning engine in which every kernel is a formula that can be read, verified, stepped
//! through and timed.
//!
//! ```
//! use glassgrad::{DType, Generator, Tensor};
//! # fn main() -> glassgrad::Result<()> {
//! let mut g = Generator::new(0);
//! let w = Tensor::randn(&[3, 2], DType::F32, &mut g)?.requires_grad_()?;
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3])?;
//! let loss = x.matmul(&w)?.tanh()?.sum()?;
//! loss.backward()?;
//! assert_eq!(w.grad().map(|g| g.shape()), Some(vec![3, 2]));
//! # Ok(()) }
//! ```
//!
//! ## Layers
//! Data flows one way: **tensor → op (forward, saves what backward needs) → tape → backward (the
//! op's own gradient formula) → optimizer**. The modules are layers, top to bottom; each imports
//! only the ones below it, with no import circle (not even between two files of one folder) and
//! nothing through this crate root (`../shared/tools/layers.py` checks it in CI). A route through
//! all of them, conv2d's, is drawn in `docs/architecture.md`.
//!
//! | layer | what it holds |
//! |---|---|
//! | `main.rs` | the `glassgrad` command (its own crate, over this library) |
//! | [`jobs`] | the registry of `train`/`eval` jobs: the one place that names every model |
//! | [`mod@bench`], [`cases`], [`selftest`], [`recsys`], [`trace`] | the `bench` harness; the `check` runner of recorded PyTorch cases; the CPU–CUDA agreement checks and the gradcheck suite; the recommender toolkit; `glassgrad trace` |
//! | [`models`] | the document's listings and the finance models (shared by examples, jobs, cases) |
//! | [`train`] | the training framework: [`train::TrainJob`], the classifier loop, progress, `metrics.csv`, `curves.png`, `--resume` (knows no model by name) |
//! | [`checkpoint`] | safetensors checkpoints: `state_dict` names, `optim.` state, `glassgrad.` training state; atomic writes, all-or-nothing loads |
//! | [`nn`], [`optim`] | modules (Linear, Conv2d, Rnn, Lstm, ...), losses, init; optimizers, schedules, clipping |
//! | [`ops`], [`data`] | one file per op: formula docs, the CPU forward and backward (or the call of the CPU kernel), the dispatch on the storage and the one `record` for both devices; CSV, datasets, `DataLoader` |
//! | [`autograd`] | the tape: `record`, `backward`, [`no_grad`], [`gradcheck`] |
//! | [`tensor`] | the [`Tensor`] handle (values, gradient, its [`tensor::Node`] in the graph) and its storage [`tensor::Data`] (CPU arrays or CUDA buffers), creation, `Display` |
//! | [`device`], [`mod@reference`], [`metrics`] | the backends, which know no tensor, no tape and no op: `device::cpu` (threads, GEMM splitting, fast math, lanes, scratch, CPU kernels on slices) and `device::cuda` (probe, NVRTC, allocator, storage, cuBLAS, one host file per `kernels/<op>.cu`); the formulas as literal f64 loops; classification and ranking metrics |
//! | [`rng`] | seeded [`Generator`], [`manual_seed`] |
//! | [`error`] | [`Error`]: every message names the op and the shapes |
//! | [`dtype`] | [`DType`], the element-type vocabulary every layer names |
//!
//! ## Ops
//! Gradients are first order (the backward pass is not itself recorded).
//!
//! | op | formula | file |
//! |---|---|---|
//! | add, sub, mul, div (broadcasting) | $z = a \circ b$; $\partial a = \operatorname{sum\_to}(g\,\partial_a z)$ | `ops/binary.rs` |
//! | neg, abs, exp, log, tanh, sigmoid, relu, sqrt, pow, clamp | $y = f(x)$; $\partial x = g\,f'(x)$ | `ops/unary.rs` |
//! | sum, mean | $y = \sum_D x$; $\partial x = g$ broadcast back | `ops/reduce.rs` |
//! | matmul | $C = AB$; $\partial A = G B^\top$, $\partial B = A^\top G$ | `ops/matmul.rs` |
//! | reshape, transpose, permute, narrow, broadcast_to, (un)squeeze | views; gradient undoes the view | `ops/shape.rs` |
//! | to_dtype | f32 ↔ f64; gradient converted back | `ops/cast.rs` |
//! | conv2d, conv1d | $y_{n,o} = b_o + \sum_c x_{n,c} \star w_{o,c}$ (cross-correlation; mode `Convolution` flips $w$: the document's $y_{ij} = \sum_{k,l} x_{(i-k+1)(j-l+1)} k_{kl}$); im2col + GEMM | `ops/conv2d/` |
//! | max_pool2d, avg_pool2d, adaptive_avg_pool2d_1x1 | $p_{ij} = \max_{k,l} y_{(i-k+1)(j-l+1)}$; gradient to the arg-max / spread over the window | `ops/pool2d.rs` |

pub mod autograd;
pub mod bench;
pub mod cases;
pub mod checkpoint;
pub mod data;
pub mod device;
pub mod dtype;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod models;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod recsys;
pub mod reference;
pub mod rng;
pub mod selftest;
pub mod tensor;
pub mod trace;
pub mod train;

pub use autograd::{gradcheck, no_grad};
pub use device::Device;
/// The CUDA backend under its former path (`glassgrad::cuda::...`): it lives in [`device::cuda`].
pub use device::cuda;
pub use error::{Error, Result};
pub use ops::rnn::RnnWeights;
pub use rng::{Generator, manual_seed};
pub use tensor::SparseGrad;
pub use tensor::{DType, Tensor};
