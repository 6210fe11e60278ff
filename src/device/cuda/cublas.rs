//! The cuBLAS path of the GEMM, selectable for comparison with the own kernel of
//! `kernels/matmul.cu`.
//!
//! Every GEMM of the CUDA backend (`matmul`, `linear`, the convolutions' im2col products, the
//! recurrent layers' per-step products) goes through one launcher. By default it runs the own
//! tiled kernel; [`set_gemm_backend`]`(GemmBackend::Cublas)` (or `GLASSGRAD_GEMM=cublas` in the
//! environment, read once at the first GEMM) sends the same calls to cuBLAS
//! (`cublasSgemmStridedBatched` / `cublasDgemmStridedBatched`, default math mode: no TF32), so a
//! benchmark can tell how much of a model's time is the GEMM's. `glassgrad bench --device cuda`
//! times both side by side (`sgemm_4096` and `sgemm_4096_cublas`).
//!
//! ## Row-major through a column-major library
//! glassgrad computes $C = \alpha\, A B + \beta\, C$ with row-major operands read through element
//! strides: $A_{ik}$ at $i\,s^A_m + k\,s^A_k$, $B_{kj}$ at $k\,s^B_k + j\,s^B_n$, $C_{ij}$ at
//! $i\,s^C_m + j$. cuBLAS is column-major, and a row-major $C$ with row stride $s^C_m$ is the
//! column-major $C^\top$ with leading dimension $s^C_m$. So cuBLAS is asked for
//! $$C^\top = \alpha\, B^\top A^\top + \beta\, C^\top,$$
//! with $B$ as the first operand: a $B$ whose columns are contiguous ($s^B_n = 1$) is the
//! column-major $B^\top$ (`N`, leading dimension $s^B_k$); one whose rows are contiguous
//! ($s^B_k = 1$) is the column-major $B$ itself, transposed by cuBLAS (`T`, leading dimension
//! $s^B_n$); likewise for $A$. Batches use the (possibly zero, for broadcasting) batch strides.
//! A layout cuBLAS cannot express (neither stride 1, a leading dimension too small, sizes past
//! `i32`) runs on the own kernel instead, and [`fallbacks`] counts those calls, so a comparison
//! can say that it compared what it meant to.
//!
//! ## Without cuBLAS
//! `libcublas` is opened with `dlopen` like the driver; it is probed first
//! ([`cublas_present`]), because `cudarc` panics when a library is missing. Asking for the cuBLAS
//! backend without it is an error; the own kernel never needs it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm as _, GemmConfig, StridedBatchedConfig};
use cudarc::driver::{CudaView, CudaViewMut};

use super::context::Gpu;
use super::gemm::{BlasElem, FloatElem, Gemm};
use crate::error::{Error, Result};

/// Which implementation runs the CUDA backend's GEMMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemmBackend {
    /// The tiled kernel of `kernels/matmul.cu` (the default).
    Own,
    /// cuBLAS's strided batched GEMM (for comparison).
    Cublas,
}

impl GemmBackend {
    /// `own` or `cublas`.
    pub fn name(self) -> &'static str {
        match self {
            GemmBackend::Own => "own",
            GemmBackend::Cublas => "cublas",
        }
    }
}

/// 0: not chosen yet (read `GLASSGRAD_GEMM` at first use), 1: own, 2: cuBLAS.
static BACKEND: AtomicU8 = AtomicU8::new(0);
static FALLBACKS: AtomicUsize = AtomicUsize::new(0);

pub use super::probe::cublas_present;

/// Chooses the GEMM implementation for the whole process. `Cublas` is an error when `libcublas`
/// cannot be loaded.
pub fn set_gemm_backend(backend: GemmBackend) -> Result<()> {
    if backend == GemmBackend::Cublas && !cublas_present() {
        return Err(Error::Device {
            op: "set_gemm_backend",
            msg: "libcublas.so not found on the library path (LD_LIBRARY_PATH)".into(),
        });
    }
    BACKEND.store(if backend == GemmBackend::Own { 1 } else { 2 }, Ordering::SeqCst);
    Ok(())
}

/// The GEMM implementation in effect. At the first call with none chosen, `GLASSGRAD_GEMM`
/// decides (`own`, `cublas`); an unknown value, or `cublas` without the library, is an error.
pub fn gemm_backend() -> Result<GemmBackend> {
    match BACKEND.load(Ordering::SeqCst) {
        1 => Ok(GemmBackend::Own),
        2 => Ok(GemmBackend::Cublas),
        _ => {
            let chosen = match std::env::var("GLASSGRAD_GEMM").as_deref() {
                Err(_) | Ok("") | Ok("own") => GemmBackend::Own,
                Ok("cublas") => GemmBackend::Cublas,
                Ok(other) => {
                    return Err(Error::invalid(
                        "GLASSGRAD_GEMM",
                        format!("`{other}` is not a GEMM backend (own or cublas)"),
                    ));
                }
            };
            set_gemm_backend(chosen)?;
            Ok(chosen)
        }
    }
}

/// How many GEMM calls asked for cuBLAS but ran on the own kernel (layout not expressible).
pub fn fallbacks() -> usize {
    FALLBACKS.load(Ordering::SeqCst)
}

/// The cuBLAS handle of `gpu`, created on first use and bound to its stream.
fn handle(gpu: &Gpu) -> Result<Arc<CudaBlas>> {
    static HANDLES: OnceLock<Mutex<HashMap<usize, Arc<CudaBlas>>>> = OnceLock::new();
    let mut map =
        HANDLES.get_or_init(|| Mutex::new(HashMap::new())).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = map.get(&gpu.ordinal()) {
        return Ok(h.clone());
    }
    let h = Arc::new(
        CudaBlas::new(gpu.stream().clone())
            .map_err(|e| Error::Device { op: "cublas", msg: format!("creating a cuBLAS handle: {e}") })?,
    );
    map.insert(gpu.ordinal(), h.clone());
    Ok(h)
}

/// One operand of the column-major product: transpose flag and leading dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Operand {
    trans: bool,
    ld: usize,
}

/// The column-major description of the row-major operand $X$ ($r \times c$, strides
/// $(s_r, s_c)$) as the *transposed* operand cuBLAS multiplies ($X^\top$, $c \times r$): `N` with
/// leading dimension $s_r$ when $s_c = 1$, `T` with leading dimension $s_c$ when $s_r = 1$;
/// `None` when neither holds or the leading dimension is too small. A dimension of size 1 has no
/// meaningful stride and is normalised first.
fn operand(rows: usize, cols: usize, s_rows: usize, s_cols: usize) -> Option<Operand> {
    let s_cols = if cols == 1 { 1 } else { s_cols };
    let s_rows = if rows == 1 { cols.max(1) } else { s_rows };
    if s_cols == 1 && s_rows >= cols.max(1) {
        Some(Operand { trans: false, ld: s_rows })
    } else if s_rows == 1 && s_cols >= rows.max(1) {
        Some(Operand { trans: true, ld: s_cols })
    } else {
        None
    }
}

/// The cuBLAS call for `g`, or `None` when its layout cannot be expressed:
/// (first operand from B, second from A, ldc).
fn plan(g: &Gemm) -> Option<(Operand, Operand, usize)> {
    let fits = |v: usize| v <= i32::MAX as usize;
    if !(fits(g.m) && fits(g.n) && fits(g.k) && fits(g.batch)) {
        return None;
    }
    // C^T (N x M, column-major) needs unit column stride in C and ldc = row stride >= N.
    let sc_n = if g.n == 1 { 1 } else { g.sc[2] };
    let ldc = if g.m == 1 { g.n.max(1) } else { g.sc[1] };
    if sc_n != 1 || ldc < g.n.max(1) || (g.sc[0] == 0 && g.batch > 1) {
        return None;
    }
    let first = operand(g.k, g.n, g.sb[1], g.sb[2])?; // B (K x N) as B^T
    let second = operand(g.m, g.k, g.sa[1], g.sa[2])?; // A (M x K) as A^T
    [first.ld, second.ld, ldc].iter().all(|&v| fits(v)).then_some((first, second, ldc))
}

macro_rules! blas_elem {
    ($t:ty) => {
        impl BlasElem for $t {
            unsafe fn strided_batched(
                blas: &CudaBlas,
                cfg: StridedBatchedConfig<Self>,
                a: &CudaView<'_, Self>,
                b: &CudaView<'_, Self>,
                c: &mut CudaViewMut<'_, Self>,
            ) -> std::result::Result<(), cudarc::cublas::result::CublasError> {
                // SAFETY: forwarded; the caller guarantees the bounds.
                unsafe { blas.gemm_strided_batched(cfg, a, b, c) }
            }
        }
    };
}
blas_elem!(f32);
blas_elem!(f64);

/// Runs `g` through cuBLAS when its layout allows: `Ok(true)` when it ran, `Ok(false)` when the
/// caller must use the own kernel (counted in [`fallbacks`]).
pub(crate) fn gemm<T: FloatElem>(
    op: &'static str,
    gpu: &Gpu,
    a: &CudaView<'_, T>,
    b: &CudaView<'_, T>,
    c: &mut CudaViewMut<'_, T>,
    g: &Gemm,
) -> Result<bool> {
    let Some((first, second, ldc)) = plan(g) else {
        FALLBACKS.fetch_add(1, Ordering::SeqCst);
        return Ok(false);
    };
    let blas = handle(gpu)?;
    let t =
        |o: Operand| if o.trans { cublasOperation_t::CUBLAS_OP_T } else { cublasOperation_t::CUBLAS_OP_N };
    let cfg = StridedBatchedConfig {
        gemm: GemmConfig {
            transa: t(first),
            transb: t(second),
            m: g.n as i32,
            n: g.m as i32,
            k: g.k as i32,
            alpha: T::of(g.alpha),
            lda: first.ld as i32,
            ldb: second.ld as i32,
            beta: T::of(g.beta),
            ldc: ldc as i32,
        },
        batch_size: g.batch as i32,
        stride_a: g.sb[0] as i64,
        stride_b: g.sa[0] as i64,
        stride_c: g.sc[0] as i64,
    };
    // SAFETY: the plan reads B^T / A^T / C^T at exactly the elements the own kernel reads through
    // the same strides (proved for each operand form in the module docs), which the caller keeps
    // inside the views; cuBLAS runs on the device's stream, ordered with every other launch.
    unsafe { T::strided_batched(&blas, cfg, b, a, c) }
        .map_err(|e| Error::Device { op, msg: format!("cuBLAS GEMM: {e}") })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(m: usize, n: usize, k: usize, sa: [usize; 3], sb: [usize; 3], sc: [usize; 3]) -> Gemm {
        Gemm { m, n, k, batch: 2, sa, sb, sc, alpha: 1.0, beta: 0.0 }
    }

    /// Reads the column-major operand as cuBLAS would and checks it lands on the row-major
    /// element the own kernel reads: op(first)[j, kk] = B[kk, j], op(second)[kk, i] = A[i, kk].
    fn addresses_agree(g: &Gemm) -> bool {
        let Some((f, s, ldc)) = plan(g) else { return false };
        let col = |o: Operand, r: usize, c: usize| if o.trans { c + r * o.ld } else { r + c * o.ld };
        for i in 0..g.m {
            for j in 0..g.n {
                // C^T[j, i] column-major at j + i * ldc == C[i, j] row-major.
                if g.m > 1 && g.n > 1 && j + i * ldc != i * g.sc[1] + j * g.sc[2] {
                    return false;
                }
                for kk in 0..g.k {
                    if g.n > 1 && g.k > 1 && col(f, j, kk) != kk * g.sb[1] + j * g.sb[2] {
                        return false;
                    }
                    if g.m > 1 && g.k > 1 && col(s, kk, i) != i * g.sa[1] + kk * g.sa[2] {
                        return false;
                    }
                }
            }
        }
        true
    }

    #[test]
    fn row_major_operands_map_to_column_major_calls() {
        // Contiguous A (M x K) and B (K x N).
        assert!(addresses_agree(&g(5, 7, 3, [15, 3, 1], [21, 7, 1], [35, 7, 1])));
        // A transposed in place (a K x M buffer read as M x K), B transposed.
        assert!(addresses_agree(&g(5, 7, 3, [15, 1, 5], [21, 1, 3], [35, 7, 1])));
        // Padded rows (leading dimension larger than the row).
        assert!(addresses_agree(&g(4, 6, 3, [32, 8, 1], [30, 10, 1], [36, 9, 1])));
        // Broadcast batch stride 0 for A.
        assert!(plan(&g(4, 6, 3, [0, 3, 1], [18, 6, 1], [24, 6, 1])).is_some());
    }

    #[test]
    fn layouts_cublas_cannot_express_fall_back() {
        // Neither stride of A is 1.
        assert!(plan(&g(4, 6, 3, [24, 6, 2], [18, 6, 1], [24, 6, 1])).is_none());
        // C with a column stride.
        assert!(plan(&g(4, 6, 3, [12, 3, 1], [18, 6, 1], [48, 12, 2])).is_none());
        // Leading dimension smaller than the row (overlapping rows).
        assert!(plan(&g(4, 6, 3, [12, 3, 1], [18, 2, 1], [24, 6, 1])).is_none());
        // C broadcast over batches (would race).
        assert!(plan(&g(4, 6, 3, [12, 3, 1], [18, 6, 1], [0, 6, 1])).is_none());
    }

    #[test]
    fn degenerate_sizes_need_no_meaningful_stride() {
        // A vector times a matrix (M = 1) and a matrix times a vector (N = 1).
        assert!(plan(&g(1, 6, 3, [3, 0, 1], [18, 6, 1], [6, 0, 1])).is_some());
        assert!(plan(&g(4, 1, 3, [12, 3, 1], [3, 1, 0], [4, 1, 0])).is_some());
    }
}
