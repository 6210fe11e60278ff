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
//! assert_eq!(w.grad().unwrap().shape(), vec![3, 2]);
//! # Ok(()) }
//! ```
//!
//! ## Map
//! Data flows one way: **tensor → op (forward, saves what backward needs) → tape → backward (the
//! op's own gradient formula) → optimizer**.
//!
//! | module | what it holds |
//! |---|---|
//! | [`tensor`] | [`Tensor`] (shared `ndarray` storage, views, dtypes f32/f64/i64/bool), creation, `Display` |
//! | [`autograd`] | the tape, `backward`, [`no_grad`], [`gradcheck`] and the gradcheck suite |
//! | [`ops`] | one file per op: formula docs, CPU forward and backward side by side |
//! | [`device`] | [`Device`]; CPU threading (rayon and `matrixmultiply`) |
//! | [`rng`] | seeded [`Generator`], [`manual_seed`] |
//! | [`checkpoint`] | safetensors checkpoints: `state_dict` names, `optim.` state, `glassgrad.` training state; atomic writes, all-or-nothing loads |
//! | [`train`] | `glassgrad train` / `eval`: the [`train::TrainJob`] registry, progress, `metrics.csv`, `curves.png`, `--resume` |
//! | [`error`] | [`Error`]: every message names the op and the shapes |
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
