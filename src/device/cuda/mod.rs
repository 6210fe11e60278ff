//! The CUDA backend (crate feature `cuda`): kernels written as readable CUDA C in `kernels/`,
//! compiled at run time by NVRTC, launched through `cudarc`.
//!
//! Like the rest of `device/`, it knows no tensor, no tape and no op: one host file per kernel
//! file (`conv2d.rs` for `kernels/conv2d.cu`, ...) takes `CudaData` buffers and plain parameters
//! and returns buffers (and what a backward needs); the op in `src/ops/<op>.rs` turns tensors into
//! buffers, calls it, and records the one backward closure for both devices. Below the host files:
//! `libraries.rs` (can libcuda, libnvrtc, libcublas be loaded), `probe.rs` (the doctor report),
//! `compile.rs` and `sources.rs` (NVRTC and the embedded kernel sources), `check.rs` (the compile
//! check), `context.rs` and `alloc.rs` (the device, its stream and the caching allocator),
//! `storage.rs` (`CudaData`, uploads and downloads), `launch.rs` (fresh outputs, dtype checks),
//! `gemm.rs`, `matmul.rs` and `cublas.rs` (every GEMM, own kernels or cuBLAS).
//!
//! ## How a tensor lives on the GPU
//! A CUDA tensor's storage is `CudaData` (the `Data::Cuda` variant): a block from the device's
//! caching allocator, the dtype, and a strided view (shape, element strides, offset), so that
//! `transpose`, `permute`, `narrow`, `unsqueeze` and broadcasting are views on the GPU as on the
//! CPU. Kernels read strided inputs through a `Layout` (`kernels/common.cuh`) and write contiguous
//! outputs.
//!
//! ## What runs where
//! Ops run where their inputs live; inputs on different devices are an error naming the op.
//! The ops with CUDA kernels so far: the elementwise ops and activations with their gradients
//! (`kernels/elementwise.cu`), `contiguous`/`broadcast_to`/fills/casts (`copy.cu`), `sum`/`mean`
//! over any dimensions (`reduce.cu`, also the broadcasting gradient `sum_to`), `matmul` batched and
//! broadcast (`matmul.cu`, an own 128×128-tiled GEMM), `softmax`/`log_softmax` (`softmax.cu`) and
//! the fused `cross_entropy` (`loss.cu`), forward and backward, and, with host code in their own
//! files:
//!
//! | op | kernels | host |
//! |---|---|---|
//! | `conv2d`, `conv1d` (stride, padding, dilation, groups, bias, both `ConvMode`s), fwd + bwd | `conv2d.cu` + the GEMM of `matmul.cu` (with `beta = 1` to accumulate the weight gradient) | `conv2d.rs` |
//! | `max_pool2d`, `avg_pool2d`, `adaptive_avg_pool2d_1x1`, fwd + bwd | `pool2d.cu` | `pool2d.rs` |
//! | `Sgd`, `Adam`, `AdamW` steps (state on the device, copy-on-write kept); `SparseSgd`, `SparseAdam` row updates | `optim.cu` | `optim.rs` |
//! | `embedding` (dense gradient, `padding_idx`), fwd + bwd (CSR built on the host, no atomics); `embedding_sparse_grad` (rows on the host, compact values on the device; accumulation and `to_dense` by a row merge) | `embedding.cu` | `embedding.rs` |
//! | `mf_predict`, fwd + bwd (row gradients over host-built CSRs, `dmu` a fixed tree) | `factorization.cu` | `factorization.rs` |
//! | `rnn_tanh`, `lstm`, `gru` (any number of layers, optional `h0`/`c0`, each bias optional), fwd + bwd through time | `rnn.cu`, `lstm.cu`, `gru.cu` (one pointwise launch per step) + the GEMM of `matmul.cu` (per-step recurrence, `beta = 1` to accumulate `dW_hh` and `dh`) + `sum` for the bias gradients | `recurrent/` |
//! | `eq ne lt le gt ge` (tensors, broadcasting, and the `_scalar` forms; f32, f64, i64, bool for eq/ne), `logical_not/and/or`, `where_cond` and `masked_fill` (fwd + bwd), `maximum`/`minimum` (fwd + bwd: the CPU's tie and NaN rules) | `compare.cu` | `compare.rs` |
//! | `max_dim`/`min_dim` (values + i64 indices, fwd + bwd), `argmax`/`argmin` (a dimension or all), `max`/`min` of all elements (fwd + bwd split among ties), `var_dims`/`var` (fwd + bwd; `std` is `var` and `sqrt`) | `stats.cu` (one block per output, fixed trees) | `stats.rs` |
//! | `linear` | a composite of `matmul` and `add` | `ops/linear.rs` |
//! | `layer_norm` (optional weight and bias), `batch_norm` (training with the running-statistics update on the device, evaluation), fwd + bwd (per-row and per-channel sums as fixed block trees, the latter in f64) | `norm.cu` | `norm.rs` |
//! | `nll_loss` (class weights, `ignore_index`, reductions), `binary_cross_entropy_with_logits` (`weight`, `pos_weight`, reductions), `logsumexp`, fwd + bwd | `loss.cu`, `bce.cu`, `softmax.cu` + `sum` for the reductions | `loss.rs`, `bce.rs`, `softmax.rs` |
//! | `mse_loss` | a composite of `sub`, `mul` and `sum`/`mean` | `ops/loss.rs` |
//! | `index_select`, `gather`, `scatter_add` (f32, f64, i64; gathers any dtype), fwd + bwd (scatter-style gradients summed over host-built CSRs in the CPU's order, no atomics); `one_hot` of a device index | `index.cu` | `index.rs` |
//! | `sort`, `topk` (largest/smallest, sorted or not; stable, NaN as on the CPU; an $O(n^2)$-per-lane rank kernel), fwd + bwd | `sort.cu` | `sort.rs` |
//! | `cat`, `stack` (every dtype; each input copied into its window), bwd by `narrow` views | `copy_into` of `copy.cu` | `index.rs` |
//! | `dropout` | the mask drawn on the host from the `Generator` (same seed, same mask on every device), moved, then `mul` | `ops/dropout.rs` |
//!
//! The index ops accept an index on the CPU with data on a GPU (copied up, as `embedding` does);
//! an index on a GPU with data on the CPU is a device error. Indices are range-checked on the host
//! either way (an [`crate::error::Error::Index`]).
//!
//! Every GEMM above runs the own kernel by default; `cublas::set_gemm_backend` (or
//! `GLASSGRAD_GEMM=cublas`) sends the same calls to cuBLAS for comparison (`cublas.rs`).
//!
//! `Module::to_device` moves a model's parameters in place, so the document's CNN trains on a GPU.
//! CPU by design: the fused MF SGD (`mf_sgd_epoch`: a sequential per-rating update whose result
//! depends on the order, host tables only). Any op without a CUDA path
//! given a CUDA tensor returns [`crate::error::Error::Device`] naming it; nothing falls back to the
//! CPU silently.
//!
//! ## Without a GPU
//! Everything builds and runs on the CPU: `cudarc` opens `libcuda` and `libnvrtc` with `dlopen`,
//! and this module probes for them first ([`probe`]), because `cudarc` panics when a library is
//! missing. [`crate::device::Device::cuda_if_available`] answers, and `glassgrad doctor` compiles
//! every kernel file with NVRTC alone (no GPU needed), which is how CI checks the kernels.
//!
//! ## Determinism
//! No kernel uses floating-point atomics: every sum runs in a fixed order (one thread per output,
//! or a block-wide tree of fixed shape), so a result depends only on the inputs and the sizes.

mod check;
mod libraries;
pub mod probe;
pub mod sources;

pub use check::{KernelCheck, check_kernels};
pub use sources::check_kernels_include_paths;

#[cfg(feature = "cuda")]
mod alloc;
#[cfg(feature = "cuda")]
pub(crate) mod bce;
#[cfg(feature = "cuda")]
pub(crate) mod compare;
#[cfg(feature = "cuda")]
mod compile;
#[cfg(feature = "cuda")]
mod context;
#[cfg(feature = "cuda")]
pub(crate) mod conv2d;
#[cfg(feature = "cuda")]
pub mod copy;
#[cfg(feature = "cuda")]
pub mod cublas;
#[cfg(feature = "cuda")]
pub mod elementwise;
#[cfg(feature = "cuda")]
pub(crate) mod embedding;
#[cfg(feature = "cuda")]
pub(crate) mod factorization;
#[cfg(feature = "cuda")]
pub(crate) mod gemm;
#[cfg(feature = "cuda")]
pub(crate) mod index;
#[cfg(feature = "cuda")]
pub(crate) mod launch;
#[cfg(feature = "cuda")]
pub(crate) mod loss;
#[cfg(feature = "cuda")]
pub mod matmul;
#[cfg(feature = "cuda")]
pub(crate) mod norm;
#[cfg(feature = "cuda")]
pub(crate) mod optim;
#[cfg(feature = "cuda")]
pub(crate) mod pool2d;
#[cfg(feature = "cuda")]
pub(crate) mod recurrent;
#[cfg(feature = "cuda")]
pub mod reduce;
#[cfg(feature = "cuda")]
pub mod softmax;
#[cfg(feature = "cuda")]
pub(crate) mod sort;
#[cfg(feature = "cuda")]
pub(crate) mod stats;
#[cfg(feature = "cuda")]
mod storage;

#[cfg(feature = "cuda")]
pub use compile::{compile_file, include_paths};

#[cfg(feature = "cuda")]
pub use context::{Gpu, gpu};
#[cfg(feature = "cuda")]
pub use storage::CudaData;
