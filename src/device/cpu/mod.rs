//! The CPU backend: threading (one setting, rayon's pool), the GEMM and its splitting across
//! threads, the float element trait of the kernels, the vectorisable fast math, lanes (the 1-D
//! slices ops reduce along), the per-thread scratch buffers, and the CPU kernels with their
//! parameter structs (convolution, pooling, batch norm, the recurrent layers). It knows no tensor
//! and no tape: it takes slices, pointers and plain parameters.

pub mod batch_norm;
pub mod conv2d;
pub mod fastmath;
pub mod float;
pub mod gemm;
pub mod lanes;
pub mod loss;
pub mod pool2d;
pub mod rnn;
pub mod scratch;
pub mod threads;

pub(crate) use gemm::SendPtr;
pub use gemm::{GEMM_BLOCK, GEMM_SPLIT_MIN_WORK, GemmFn, gemm_blocks, gemm_plan, gemm_split};
pub use threads::{PARALLEL_THRESHOLD, min_rows, num_threads, retain_freed_memory, set_num_threads};
