//! The CPU GEMM, $C \leftarrow \alpha\,\operatorname{op}(A)\,\operatorname{op}(B) + \beta\,C$, written
//! the way BLIS explains it (Van Zee and van de Geijn, *BLIS: A Framework for Rapidly Instantiating
//! BLAS Functionality*, 2015).
//!
//! * [`driver`]: the five loops `jc`, `pc`, `ic`, `jr`, `ir` around the micro-kernel, and the
//!   threads, which split the `ic`/`jr` loops (M and N), never `pc` (K): bit-identical results for
//!   any thread count.
//! * [`panels`]: the aligned buffers the tasks of a product pack into and share; [`packed`]: a
//!   $B$ packed once and reused ([`PackedB`], the recurrent layers' $W_{hh}$); [`implicit`]: an
//!   $A$ packed once ([`PackedA`]) times a $B$ whose panels the caller packs (the convolution's
//!   patches, never stored as an im2col matrix).
//! * [`pack`]: $A$ and $B$, with any strides ($\operatorname{op}$ = a transposition is a swap of the
//!   two strides), copied into the contiguous micro-panels the kernel streams.
//! * [`blocking`]: $k_c$, $m_c$, $n_c$ from the sizes of L1, L2 and L3, with the arithmetic.
//! * [`kernels`]: the register-blocked micro-kernels in `std::arch` intrinsics, AVX-512F and
//!   AVX2+FMA, f32 and f64; [`dispatch`] chooses one at run time ([`Isa::chosen`]), or
//!   `matrixmultiply` where neither exists ([`split`] cuts its calls into row or column blocks for
//!   the threads). `matrixmultiply` is also the oracle of the property tests (`tests/gemm.rs`).

pub mod blocking;
pub mod dispatch;
pub mod driver;
pub mod implicit;
pub mod kernels;
pub mod pack;
pub mod packed;
pub mod panels;
pub mod split;

pub use blocking::{Blocks, Caches};
pub use dispatch::{GemmElem, Isa, kernel_on_this_cpu};
pub use driver::{gemm, gemm_with};
pub use implicit::{PackedA, PanelRequest, gemm_packed_a};
pub use packed::{PackedB, gemm_packed_b};
pub(crate) use split::SendPtr;
pub use split::{GEMM_BLOCK, GEMM_SPLIT_MIN_WORK, GemmFn, gemm_blocks, gemm_plan, gemm_split};
