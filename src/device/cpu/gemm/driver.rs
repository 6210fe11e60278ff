//! The five loops around the micro-kernel, and their threading.
//!
//! ```text
//! for jc in 0..n step nc          // B̃ panel: kc × nc, in L3
//!   for pc in 0..k step kc        // the depth block; beta applies in the first only
//!     pack B[pc.., jc..] → B̃
//!     for ic in 0..m step mc      // Ã block: mc × kc, in L2
//!       pack A[ic.., pc..] → Ã
//!       for jr in 0..nc step nr   // one B̃ micro-panel, kc × nr, in L1
//!         for ir in 0..mc step mr // one Ã micro-panel streams past it
//!           micro-kernel: C[ic+ir.., jc+jr..] = α·Ã_ir·B̃_jr + β·C  (β = 1 after the first pc)
//! ```
//!
//! **Threads** split the `ic`/`ir` rows and the `jr` columns, never the depth: the tasks form a
//! grid of $p_m \times p_n$ rectangles of whole micro-tiles ($p_m p_n$ = the thread count, the
//! split whose largest rectangle has the fewest tiles, rows preferred on a tie), and each task runs
//! the `pc`, `ic`, `jr`, `ir` loops over its rectangle. One parallel region covers the whole
//! product (a chunk of it when the packed copies would pass [`PACKED_LIMIT`] values): the
//! micro-panels of $\tilde A$ and $\tilde B$ for every depth block are packed on first use by
//! whichever task needs them first, into buffers the tasks share, and the others wait for that
//! one panel (see [`super::panels`]). A fork and join per depth block cost more than a 256³
//! product on two threads (measured: 0.21 ms against 0.18 ms on one thread; 0.10–0.13 ms with one
//! region).
//!
//! An element of $C$ is always computed by the same micro-tile, with the same FMA chain per `pc`
//! block and the same `pc` blocks, so the result is bit-identical for any thread count.
//!
//! A GEMM called from inside a rayon task (the convolution runs one per sample, in parallel) runs
//! on that task's thread (except on the worker of [`crate::device::cpu::threads::in_pool`]), as
//! does a product of fewer than [`GEMM_SPLIT_MIN_WORK`] multiply-adds.

use rayon::prelude::*;

use super::blocking::{Blocks, Caches};
use super::dispatch::{GemmElem, Isa, kernel_on_this_cpu};
use super::kernels::{Kernel, MicroKernel};
use super::pack::pack_panel;
use super::panels::Panels;
use super::split::{GEMM_SPLIT_MIN_WORK, SendPtr, gemm_split};
use crate::device::cpu::threads::gemm_may_split;

/// The largest micro-tile (`mr · nr`) of any kernel: the scratch tile of the edges.
const MAX_TILE: usize = 8 * 48;

/// `C = alpha·A·B + beta·C` (A m×k, B k×n, C m×n, each a pointer with its row and column strides
/// in elements), by the micro-kernel family [`Isa::chosen`], on rayon's threads as the module docs
/// say. The signature is `matrixmultiply`'s.
///
/// # Safety
/// The pointers and strides address valid `m×k`, `k×n` and `m×n` matrices; `C` aliases neither
/// input nor itself (no two of its `(i, j)` share an address).
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: GemmElem>(
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
    // SAFETY: the caller's contract.
    unsafe {
        gemm_with(
            Isa::chosen(),
            tasks_for(m, k, n),
            m,
            k,
            n,
            alpha,
            a,
            rsa,
            csa,
            b,
            rsb,
            csb,
            beta,
            c,
            rsc,
            csc,
        )
    }
}

/// [`gemm`] with the kernel family and the number of tasks given (`threads` tasks, run on rayon's
/// pool when more than one). [`Isa::Portable`], or a family this CPU or build lacks, runs
/// `matrixmultiply` (split by [`gemm_split`]).
///
/// # Safety
/// As [`gemm`]; the family, when it has a kernel, must run on this CPU ([`Isa::available`]).
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_with<T: GemmElem>(
    isa: Isa,
    threads: usize,
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
    if m == 0 || n == 0 {
        return;
    }
    if csc != 1 && rsc == 1 {
        // Column-major C: compute Cᵀ = Bᵀ·Aᵀ, whose rows are contiguous.
        // SAFETY: the same matrices, read with swapped strides.
        return unsafe {
            gemm_with(isa, threads, n, k, m, alpha, b, csb, rsb, a, csa, rsa, beta, c, csc, rsc)
        };
    }
    if k == 0 || alpha == T::ZERO {
        // SAFETY: C is m×n with strides rsc, csc.
        return unsafe { scale(m, n, beta, c, rsc, csc) };
    }
    let Some(kernel) = kernel_on_this_cpu::<T>(isa) else {
        if threads <= 1 {
            // SAFETY: the caller's contract is matrixmultiply's.
            return unsafe {
                (T::MATRIXMULTIPLY)(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
            };
        }
        // SAFETY: the caller's contract is matrixmultiply's.
        return unsafe {
            gemm_split(T::MATRIXMULTIPLY, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        };
    };
    let blocks = Blocks::derive(Caches::detect(), kernel.mr, kernel.nr, size_of::<T>());
    let p = Problem { kernel, blocks, alpha, a, rsa, csa, b, rsb, csb, c: SendPtr(c), rsc, csc };
    let (rows, cols) = chunk_sizes(&kernel, &blocks, k);
    for jc in (0..n).step_by(cols) {
        for ic in (0..m).step_by(rows) {
            let (mb, nb) = (rows.min(m - ic), cols.min(n - jc));
            let grid = split(mb.div_ceil(kernel.mr), nb.div_ceil(kernel.nr), threads.max(1));
            // SAFETY: rows ic..ic+mb and columns jc..jc+nb lie inside the caller's matrices.
            unsafe { p.chunk(grid, ic, mb, jc, nb, k, beta, None) };
        }
    }
}

/// The most values a chunk's packed A (or B) holds: 4 Mi (16 MiB of f32).
pub const PACKED_LIMIT: usize = 1 << 22;

/// How many tasks a product gets: one inside a rayon task (unless on the worker of
/// [`crate::device::cpu::threads::in_pool`]) or below [`GEMM_SPLIT_MIN_WORK`] multiply-adds,
/// else rayon's thread count.
pub(super) fn tasks_for(m: usize, k: usize, n: usize) -> usize {
    if !gemm_may_split() || m.saturating_mul(k).saturating_mul(n) < GEMM_SPLIT_MIN_WORK {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// Rows and columns of C per chunk: the packed copies of a chunk of A (all its depth) and of B
/// stay below [`PACKED_LIMIT`] values each; larger products run as several chunks, one parallel
/// region each. Whole micro-tiles, and columns at most `nc`.
pub(super) fn chunk_sizes<T: GemmElem>(kernel: &Kernel<T>, blocks: &Blocks, k: usize) -> (usize, usize) {
    let per = PACKED_LIMIT / k.next_multiple_of(blocks.kc.min(k));
    let rows = per.max(kernel.mr) / kernel.mr * kernel.mr;
    let cols = per.max(kernel.nr).min(blocks.nc) / kernel.nr * kernel.nr;
    (rows, cols)
}

/// Packs B̃ micro-panel `q` of the chunk of columns `jc..jc+nb`, depth `pc..pc+kb`, at the width of
/// the kernel that will read it ([`Kernel::for_cols`]: the last panel may be narrower).
///
/// # Safety
/// `b` (strides `rsb`, `csb`) addresses those rows and columns; `panel` holds `kb` times the width.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_b_panel<T: GemmElem>(
    kernel: &Kernel<T>,
    b: *const T,
    rsb: isize,
    csb: isize,
    (jc, nb): (usize, usize),
    (pc, kb): (usize, usize),
    q: usize,
    panel: &mut [T],
) {
    let nr = kernel.nr;
    let (col, cols) = (jc + q * nr, nr.min(nb - q * nr));
    let (width, _) = kernel.for_cols(cols);
    // SAFETY: columns col..col+cols, depth pc..pc+kb of B (the caller's contract).
    unsafe { pack_panel(cols, kb, b.offset(pc as isize * rsb + col as isize * csb), csb, rsb, width, panel) }
}

/// `C = beta·C` (`beta = 0` writes zeros without reading C).
///
/// # Safety
/// C is a valid m×n matrix with strides rsc, csc.
pub(super) unsafe fn scale<T: GemmElem>(m: usize, n: usize, beta: T, c: *mut T, rsc: isize, csc: isize) {
    if beta == T::ONE {
        return;
    }
    for i in 0..m {
        for j in 0..n {
            // SAFETY: (i, j) is inside C.
            unsafe {
                let e = c.offset(i as isize * rsc + j as isize * csc);
                *e = if beta == T::ZERO { T::ZERO } else { beta * *e };
            }
        }
    }
}

/// The task grid: `(pm, pn)` with `pm · pn = threads`, for `tm × tn` micro-tiles.
pub fn split(tm: usize, tn: usize, threads: usize) -> (usize, usize) {
    let mut best = (1, 1);
    let mut best_cost = usize::MAX;
    for pm in (1..=threads).filter(|d| threads.is_multiple_of(*d)) {
        let pn = threads / pm;
        let cost = tm.div_ceil(pm) * tn.div_ceil(pn);
        // Ascending pm: a later pm replaces an earlier one only when strictly better, except on
        // a tie where it splits rows more (rows preferred).
        if cost < best_cost || (cost == best_cost && pm <= tm) {
            best = (pm, pn);
            best_cost = cost;
        }
    }
    best
}

/// Tile range `i` of `parts` balanced parts of `tiles`.
fn part(tiles: usize, parts: usize, i: usize) -> (usize, usize) {
    (tiles * i / parts, tiles * (i + 1) / parts)
}

/// One GEMM's fixed arguments.
pub(super) struct Problem<T: 'static> {
    pub(super) kernel: Kernel<T>,
    pub(super) blocks: Blocks,
    pub(super) alpha: T,
    pub(super) a: *const T,
    pub(super) rsa: isize,
    pub(super) csa: isize,
    pub(super) b: *const T,
    pub(super) rsb: isize,
    pub(super) csb: isize,
    pub(super) c: SendPtr<T>,
    pub(super) rsc: isize,
    pub(super) csc: isize,
}

// SAFETY: tasks read A and B and write disjoint tiles of C (module docs).
unsafe impl<T: Send + 'static> Sync for Problem<T> {}

impl<T: GemmElem> Problem<T> {
    /// Rows `ic..ic+mb` × columns `jc..jc+nb` of C over the whole depth: the tasks of the grid in
    /// one parallel region, A and B packed on first use (B already packed when `pre_b` is given:
    /// then the chunk spans all of B's columns, `jc = 0`).
    ///
    /// # Safety
    /// The chunk lies inside the caller's matrices.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn chunk(
        &self,
        (pm, pn): (usize, usize),
        ic: usize,
        mb: usize,
        jc: usize,
        nb: usize,
        k: usize,
        beta: T,
        pre_b: Option<&Panels<T>>,
    ) {
        let (mr, nr, kc) = (self.kernel.mr, self.kernel.nr, self.blocks.kc);
        let (tm, tn, npc) = (mb.div_ceil(mr), nb.div_ceil(nr), k.div_ceil(kc));
        let at = Panels::<T>::new(npc * tm, mr * kc);
        let own_b = pre_b.is_none().then(|| Panels::<T>::new(npc * tn, kc * nr));
        // ok: `own_b` is `Some` exactly when `pre_b` is `None`.
        let Some(bt) = pre_b.or(own_b.as_ref()) else { unreachable!("one of the two exists") };
        let task = |t: usize| {
            let (tr, tc) = (part(tm, pm, t / pn), part(tn, pn, t % pn));
            // SAFETY: the task's tiles lie inside the chunk; tasks write disjoint tiles.
            unsafe { self.task(tr, tc, (t % pn, t / pn), ic, mb, jc, nb, k, &at, bt, beta) }
        };
        if pm * pn == 1 {
            task(0);
        } else {
            (0..pm * pn).into_par_iter().for_each(task);
        }
    }

    /// One task: micro-tile rows `tr.0..tr.1` × columns `tc.0..tc.1` of the chunk, every depth
    /// block in order (`beta` in the first, 1 after). `rot` staggers where tasks sharing panels
    /// start, so that they pack different panels at the same time.
    ///
    /// # Safety
    /// As [`Problem::chunk`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn task(
        &self,
        tr: (usize, usize),
        tc: (usize, usize),
        rot: (usize, usize),
        ic: usize,
        mb: usize,
        jc: usize,
        nb: usize,
        k: usize,
        at: &Panels<T>,
        bt: &Panels<T>,
        beta: T,
    ) {
        let (mr, nr, kc) = (self.kernel.mr, self.kernel.nr, self.blocks.kc);
        let (tm, tn) = (mb.div_ceil(mr), nb.div_ceil(nr));
        if tr.0 >= tr.1 || tc.0 >= tc.1 {
            return;
        }
        let mc_tiles = (self.blocks.mc / mr).max(1);
        let ncols = tc.1 - tc.0;
        for (pi, pc) in (0..k).step_by(kc).enumerate() {
            let kb = kc.min(k - pc);
            let beta_p = if pc == 0 { beta } else { T::ONE };
            let mut r = tr.0;
            while r < tr.1 {
                let r_end = (r + mc_tiles).min(tr.1);
                let nrows = r_end - r;
                for qi in 0..ncols {
                    let q = tc.0 + (qi + rot.1 * ncols / 2) % ncols;
                    let (col, cols) = (jc + q * nr, nr.min(nb - q * nr));
                    let (width, run) = self.kernel.for_cols(cols);
                    // SAFETY: the chunk's columns and this depth block lie inside B.
                    let bq = bt.get(pi * tn + q, |panel| unsafe {
                        pack_b_panel(&self.kernel, self.b, self.rsb, self.csb, (jc, nb), (pc, kb), q, panel)
                    });
                    for ri in 0..nrows {
                        let rr = r + (ri + rot.0 * nrows / 2) % nrows;
                        let ar = at.get(pi * tm + rr, |panel| {
                            let (row, rows) = (ic + rr * mr, mr.min(mb - rr * mr));
                            // SAFETY: rows row..row+rows, depth pc..pc+kb of A.
                            unsafe {
                                pack_panel(
                                    rows,
                                    kb,
                                    self.a.offset(row as isize * self.rsa + pc as isize * self.csa),
                                    self.rsa,
                                    self.csa,
                                    mr,
                                    panel,
                                )
                            }
                        });
                        let (row, rows) = (ic + rr * mr, mr.min(mb - rr * mr));
                        // SAFETY: packed panels of depth kb; tile (row, col) of C.
                        unsafe { self.tile((width, run), kb, ar, bq, (row, col), (rows, cols), beta_p) };
                    }
                }
                r = r_end;
            }
        }
    }

    /// One micro-tile at `(row, col)` of C, `rows × cols` of it inside C, by the kernel `run` of
    /// width `nr` (the full one or a narrow sibling).
    ///
    /// # Safety
    /// `a`, `b` are packed micro-panels of depth `kb` (`b` of width `nr`); the tile's part inside
    /// C is valid.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn tile(
        &self,
        kern: (usize, MicroKernel<T>),
        kb: usize,
        a: *const T,
        b: *const T,
        (row, col): (usize, usize),
        size: (usize, usize),
        beta: T,
    ) {
        // SAFETY: (row, col) is inside C; the rest is the caller's contract.
        unsafe {
            let c = self.c.get().offset(row as isize * self.rsc + col as isize * self.csc);
            run_tile(kern, self.kernel.mr, kb, a, b, c, self.rsc, self.csc, size, self.alpha, beta)
        }
    }
}

/// One `mr × nr` micro-tile by the kernel `run` into C at `c` (strides `rsc`, `csc`), of which the
/// top-left `rows × cols` lie inside C: a full tile with contiguous rows goes straight to C, an
/// edge tile through a scratch tile, alpha and beta applied in the copy (the same operations, so
/// the same bits, as the kernel's own update).
///
/// # Safety
/// `a`, `b` are packed micro-panels of depth `kb` (`b` of width `nr`); the `rows × cols` part of
/// the tile at `c` is valid; the kernel's ISA is present.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) unsafe fn run_tile<T: GemmElem>(
    (nr, run): (usize, MicroKernel<T>),
    mr: usize,
    kb: usize,
    a: *const T,
    b: *const T,
    c: *mut T,
    rsc: isize,
    csc: isize,
    (rows, cols): (usize, usize),
    alpha: T,
    beta: T,
) {
    if rows == mr && cols == nr && csc == 1 {
        // SAFETY: a full tile of C with contiguous rows; the kernel's ISA was checked.
        unsafe { run(kb, a, b, c, rsc, alpha, beta) };
        return;
    }
    let mut tile = [T::ZERO; MAX_TILE];
    // SAFETY: the scratch tile is mr × nr ≤ MAX_TILE with row stride nr.
    unsafe { run(kb, a, b, tile.as_mut_ptr(), nr as isize, T::ONE, T::ZERO) };
    for i in 0..rows {
        for j in 0..cols {
            let acc = tile[i * nr + j];
            let t = if alpha == T::ONE { acc } else { alpha * acc };
            // SAFETY: (i, j) < (rows, cols) is inside C.
            unsafe {
                let e = c.offset(i as isize * rsc + j as isize * csc);
                *e = if beta == T::ZERO {
                    t
                } else if beta == T::ONE {
                    *e + t
                } else {
                    beta * *e + t
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_balance_and_prefer_rows() {
        assert_eq!(split(128, 22, 2), (2, 1)); // 1024² f32: rows
        assert_eq!(split(1, 16, 2), (1, 2)); // one row of tiles: columns
        assert_eq!(split(8, 11, 2), (2, 1)); // 64 × 512 (LSTM step): 4×11 against 8×6, rows
        assert_eq!(split(3, 16, 2), (1, 2)); // 2×16 vs 3×8: columns
        assert_eq!(split(5, 5, 1), (1, 1));
        assert_eq!(split(8, 8, 4), (4, 1)); // 16 tiles per task in every grid: rows
        assert_eq!(split(6, 6, 4), (2, 2)); // 3×3 = 9 against 2×6 = 12 and 6×2 = 12
        assert_eq!(part(10, 3, 0), (0, 3));
        assert_eq!(part(10, 3, 2), (6, 10));
    }
}
