//! GEMM splitting across rayon's threads.
//!
//! `matrixmultiply` is built without its `threading` feature: its own pool
//! (sized once per process by `MATMUL_NUM_THREADS`) cannot tell a lone product from one called
//! inside a rayon task, so the convolutions (rayon across the batch, a GEMM per sample) ran three
//! or more busy threads on two cores, and two rayon workers queued for its single helper thread.
//! Instead every GEMM goes through [`gemm_split`], which chooses per call: inside a rayon task,
//! or for a small product, it runs sequentially on the calling thread; a large product called
//! from outside rayon is cut into blocks of whole rows (or columns) of $C$, one rayon task each.
//!

/// `matrixmultiply`'s GEMM signature: `C = alpha·A·B + beta·C`, `A` m×k, `B` k×n, `C` m×n, each
/// given by a pointer and its row and column strides.
pub type GemmFn<T> = unsafe fn(
    usize,
    usize,
    usize,
    T,
    *const T,
    isize,
    isize,
    *const T,
    isize,
    isize,
    T,
    *mut T,
    isize,
    isize,
);

/// Block granularity of [`gemm_split`]: blocks start at multiples of 64 rows or columns.
pub const GEMM_BLOCK: usize = 64;

/// Products with fewer multiply-adds ($m k n$) than this stay on one thread.
pub const GEMM_SPLIT_MIN_WORK: usize = 1 << 21;

/// A pointer that may cross threads: each task reads shared inputs and writes its own block of C.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub(crate) *mut T);
// SAFETY: used only to hand disjoint output blocks (and read-only inputs) to rayon tasks that end
// before `gemm_split` returns.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// Which dimension of $C$ a product is cut along, and the block length (a multiple of
/// [`GEMM_BLOCK`]); `None` for one block. `threads`: rayon's pool size.
pub fn gemm_plan(m: usize, k: usize, n: usize, threads: usize) -> Option<(bool, usize)> {
    if threads < 2 || m.saturating_mul(k).saturating_mul(n) < GEMM_SPLIT_MIN_WORK {
        return None;
    }
    let (bm, bn) = (m.div_ceil(GEMM_BLOCK), n.div_ceil(GEMM_BLOCK));
    let (rows, blocks) = if bm >= bn { (true, bm) } else { (false, bn) };
    (blocks >= 2).then(|| (rows, blocks.div_ceil(threads) * GEMM_BLOCK))
}

/// `f` (a `matrixmultiply` GEMM) with the per-call threading choice of the module docs.
///
/// Bit-identical to one call of `f`: an element of $C$ is computed from its row of $A$, its column
/// of $B$, `matrixmultiply`'s fixed blocking of the $k$ loop and whether its micro-tile (at most
/// 16×16, always dividing 64) is full or masked; blocks start at multiples of [`GEMM_BLOCK`], so
/// every element keeps its tile and its order of additions. `tests` check this bit for bit.
///
/// # Safety
/// The contract of `f`: the pointers and strides describe valid `A`, `B` and `C`, and `C` aliases
/// neither input nor itself.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_split<T: Copy + Send + Sync>(
    f: GemmFn<T>,
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: *const T,
    rsa: isize,
    csa: isize,
    b: *const T,
    rsb: isize,
    csb: isize,
    beta: T,
    c: *mut T,
    rsc: isize,
    csc: isize,
) {
    let plan = if rayon::current_thread_index().is_some() {
        None // already inside a rayon task: the caller parallelises
    } else {
        gemm_plan(m, k, n, rayon::current_num_threads())
    };
    match plan {
        // SAFETY: the caller's contract.
        None => unsafe { f(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) },
        // SAFETY: the caller's contract; blocks are disjoint ranges of C's rows or columns.
        Some((rows, len)) => unsafe {
            gemm_blocks(f, rows, len, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        },
    }
}

/// `f` run as rayon tasks over blocks of `len` rows (`rows`) or columns of $C$.
///
/// # Safety
/// As [`gemm_split`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_blocks<T: Copy + Send + Sync>(
    f: GemmFn<T>,
    rows: bool,
    len: usize,
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: *const T,
    rsa: isize,
    csa: isize,
    b: *const T,
    rsb: isize,
    csb: isize,
    beta: T,
    c: *mut T,
    rsc: isize,
    csc: isize,
) {
    use rayon::prelude::*;
    let len = len.max(1);
    let (pa, pb, pc) = (SendPtr(a as *mut T), SendPtr(b as *mut T), SendPtr(c));
    let total = if rows { m } else { n };
    (0..total.div_ceil(len)).into_par_iter().for_each(|blk| {
        let start = blk * len;
        let size = len.min(total - start);
        let s = start as isize;
        // SAFETY: block `blk` reads rows `start..start+size` of A (or columns of B) and writes the
        // same rows (columns) of C, inside the matrices of the caller's contract; blocks are disjoint.
        unsafe {
            if rows {
                f(
                    size,
                    k,
                    n,
                    alpha,
                    pa.get().offset(s * rsa),
                    rsa,
                    csa,
                    pb.get(),
                    rsb,
                    csb,
                    beta,
                    pc.get().offset(s * rsc),
                    rsc,
                    csc,
                )
            } else {
                f(
                    m,
                    k,
                    size,
                    alpha,
                    pa.get(),
                    rsa,
                    csa,
                    pb.get().offset(s * csb),
                    rsb,
                    csb,
                    beta,
                    pc.get().offset(s * csc),
                    rsc,
                    csc,
                )
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splitting into blocks of 64·j rows or columns gives the bits of one call, for awkward
    /// sizes, transposed operands and beta 0 and 1, in f32 and f64.
    #[test]
    fn split_gemm_is_bit_identical_to_one_call() {
        fn check<T: Copy + Send + Sync + PartialEq + std::fmt::Debug + From<f32>>(f: GemmFn<T>) {
            for &(m, k, n) in &[(200usize, 300usize, 130usize), (130, 17, 257), (64, 700, 300), (333, 64, 65)]
            {
                let a: Vec<T> =
                    (0..m * k).map(|i| T::from(((i * 7919 % 1000) as f32 - 500.0) / 37.0)).collect();
                let b: Vec<T> =
                    (0..k * n).map(|i| T::from(((i * 104729 % 997) as f32 - 498.0) / 51.0)).collect();
                let c0: Vec<T> = (0..m * n).map(|i| T::from((i % 13) as f32 * 0.25)).collect();
                for (beta, a_t) in [(0.0f32, false), (1.0, true)] {
                    // A stored as its transpose when a_t.
                    let (rsa, csa) = if a_t { (1, m as isize) } else { (k as isize, 1) };
                    let a_store: Vec<T> =
                        if a_t { (0..k * m).map(|i| a[(i % m) * k + i / m]).collect() } else { a.clone() };
                    let run = |split: Option<(bool, usize)>| {
                        let mut c = c0.clone();
                        unsafe {
                            let args = (a_store.as_ptr(), b.as_ptr(), c.as_mut_ptr());
                            match split {
                                None => f(
                                    m,
                                    k,
                                    n,
                                    T::from(1.0),
                                    args.0,
                                    rsa,
                                    csa,
                                    args.1,
                                    n as isize,
                                    1,
                                    T::from(beta),
                                    args.2,
                                    n as isize,
                                    1,
                                ),
                                Some((rows, len)) => gemm_blocks(
                                    f,
                                    rows,
                                    len,
                                    m,
                                    k,
                                    n,
                                    T::from(1.0),
                                    args.0,
                                    rsa,
                                    csa,
                                    args.1,
                                    n as isize,
                                    1,
                                    T::from(beta),
                                    args.2,
                                    n as isize,
                                    1,
                                ),
                            }
                        }
                        c
                    };
                    let whole = run(None);
                    for split in [(true, 64), (true, 128), (false, 64), (false, 192)] {
                        assert!(run(Some(split)) == whole, "{m}x{k}x{n} beta {beta} split {split:?}");
                    }
                }
            }
        }
        check::<f32>(matrixmultiply::sgemm);
        check::<f64>(matrixmultiply::dgemm);
    }

    #[test]
    fn plan_splits_large_products_only() {
        assert_eq!(gemm_plan(64, 3136, 128, 2), Some((false, 64)));
        assert_eq!(gemm_plan(1024, 1024, 1024, 2), Some((true, 512)));
        assert_eq!(gemm_plan(1024, 1024, 1024, 1), None);
        assert_eq!(gemm_plan(32, 27, 784, 2), None);
        assert_eq!(gemm_plan(64, 64, 64, 4), None);
    }
}
