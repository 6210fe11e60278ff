//! A $B$ operand packed once and reused across products.

use super::blocking::{Blocks, Caches};
use super::dispatch::{GemmElem, Isa, kernel_on_this_cpu};
use super::driver::{Problem, chunk_sizes, gemm_with, pack_b_panel, scale, split, tasks_for};
use super::kernels::Kernel;
use super::panels::Panels;
use super::split::SendPtr;

/// $B$ packed once into the micro-panels of every depth block, for products that reuse it: the
/// recurrent layers multiply by the same $W_{hh}^\top$ at every time step. [`gemm_packed_b`]
/// reads the panels instead of packing $B$ again; the results are the bits [`gemm`](super::gemm) gives.
pub struct PackedB<T: GemmElem> {
    k: usize,
    n: usize,
    inner: Packed<T>,
}

enum Packed<T: GemmElem> {
    /// The micro-panels of the chosen kernel, all ready.
    Panels { kernel: Kernel<T>, blocks: Blocks, panels: Panels<T> },
    /// No micro-kernel on this CPU: a row-major copy for `matrixmultiply`.
    Plain(Vec<T>),
}

impl<T: GemmElem> PackedB<T> {
    /// Packs the `k × n` matrix `b` (strides `rsb`, `csb`) for the kernel family [`Isa::chosen`].
    ///
    /// # Safety
    /// `b` addresses every element of the `k × n` matrix.
    pub unsafe fn new(k: usize, n: usize, b: *const T, rsb: isize, csb: isize) -> PackedB<T> {
        // SAFETY: forwarded.
        unsafe { PackedB::new_with(Isa::chosen(), k, n, b, rsb, csb) }
    }

    /// [`PackedB::new`] for a given family (falls back to the plain copy as [`gemm_with`] does).
    ///
    /// # Safety
    /// As [`PackedB::new`].
    pub unsafe fn new_with(isa: Isa, k: usize, n: usize, b: *const T, rsb: isize, csb: isize) -> PackedB<T> {
        let inner = match kernel_on_this_cpu::<T>(isa) {
            Some(kernel) => {
                let blocks = Blocks::derive(Caches::detect(), kernel.mr, kernel.nr, size_of::<T>());
                let (nr, kc) = (kernel.nr, blocks.kc);
                let (tn, npc) = (n.div_ceil(nr), k.div_ceil(kc));
                let panels = Panels::<T>::new(npc * tn, kc * nr);
                for (pi, pc) in (0..k).step_by(kc).enumerate() {
                    for q in 0..tn {
                        // SAFETY: the caller's contract: B is k×n.
                        panels.get(pi * tn + q, |panel| unsafe {
                            pack_b_panel(&kernel, b, rsb, csb, (0, n), (pc, kc.min(k - pc)), q, panel)
                        });
                    }
                }
                Packed::Panels { kernel, blocks, panels }
            }
            None => {
                let mut plain = vec![T::ZERO; k * n];
                for (p, row) in plain.chunks_exact_mut(n.max(1)).enumerate().take(k) {
                    for (j, v) in row.iter_mut().enumerate() {
                        // SAFETY: (p, j) is inside B.
                        *v = unsafe { *b.offset(p as isize * rsb + j as isize * csb) };
                    }
                }
                Packed::Plain(plain)
            }
        };
        PackedB { k, n, inner }
    }

    /// Rows (depth) of the packed matrix.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of the packed matrix.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// `C = alpha·A·B + beta·C` with `B` packed beforehand ([`PackedB`]): A is m×k (`k = b.k()`), C is
/// m×n; threads as in [`gemm`](super::gemm).
///
/// # Safety
/// As [`gemm`](super::gemm) for A and C.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_packed_b<T: GemmElem>(
    m: usize,
    alpha: T,
    a: *const T,
    rsa: isize,
    csa: isize,
    b: &PackedB<T>,
    beta: T,
    c: *mut T,
    rsc: isize,
    csc: isize,
) {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == T::ZERO {
        // SAFETY: C is m×n with strides rsc, csc.
        return unsafe { scale(m, n, beta, c, rsc, csc) };
    }
    let threads = tasks_for(m, k, n);
    match &b.inner {
        Packed::Plain(plain) => {
            // SAFETY: the plain copy is row-major k×n; A and C as the caller's contract.
            unsafe {
                gemm_with(
                    Isa::Portable,
                    threads,
                    m,
                    k,
                    n,
                    alpha,
                    a,
                    rsa,
                    csa,
                    plain.as_ptr(),
                    n as isize,
                    1,
                    beta,
                    c,
                    rsc,
                    csc,
                )
            }
        }
        Packed::Panels { kernel, blocks, panels } => {
            let p = Problem {
                kernel: *kernel,
                blocks: *blocks,
                alpha,
                a,
                rsa,
                csa,
                b: std::ptr::null(),
                rsb: 0,
                csb: 0,
                c: SendPtr(c),
                rsc,
                csc,
            };
            let (rows, _) = chunk_sizes(kernel, blocks, k);
            for ic in (0..m).step_by(rows) {
                let mb = rows.min(m - ic);
                let grid = split(mb.div_ceil(kernel.mr), n.div_ceil(kernel.nr), threads.max(1));
                // SAFETY: rows ic..ic+mb of A and C; every panel of B is ready (never packed here).
                unsafe { p.chunk(grid, ic, mb, 0, n, k, beta, Some(panels)) };
            }
        }
    }
}
