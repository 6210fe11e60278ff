//! An $A$ packed once, and a GEMM whose $\tilde B$ micro-panels are written by the caller: the
//! "implicit GEMM" of the convolution, whose $B$ (the im2col matrix) is never stored.
//!
//! $$ C \leftarrow \tilde A\,B + \beta\,C, \qquad B \in \mathbb R^{k\times n}\ \text{given only as
//! its packed micro-panels} $$
//!
//! [`PackedA`] packs an $m \times k$ matrix into the kernel's $\tilde A$ micro-panels, every depth
//! block, once; [`gemm_packed_a`] then runs the `jr`, `pc`, `ir` loops on the calling thread
//! (the caller parallelises, e.g. over the samples of a batch), asking a closure for each
//! $k_b \times n_r$ micro-panel of $\tilde B$ just before the kernels read it. The closure writes
//! the panel in the layout of [`super::pack`] (value $(p, j)$ at `p·width + j`, zeros past the
//! last column), so a convolution packs its patches straight from the input image.
//!
//! The loop order per column panel `q` is `pc` then `ir`: the $m \times n_r$ strip of $C$ stays in
//! L1/L2 across the depth blocks, and the one $\tilde B$ panel in L1 while every $\tilde A$ panel
//! streams past it. The depth blocks are **balanced**: $k$ is cut into $\lceil k/k_c\rceil$ blocks of
//! equal size (within one), so $k = 288$ with $k_c = 128$ gives 96, 96, 96 instead of 128, 128, 32
//! (a short last block spends as long on the tile's loads and stores as on its FMAs). An element's
//! FMA chain depends only on $k$ and the kernel, never on the thread or the sample.

use super::blocking::{Blocks, Caches};
use super::dispatch::{GemmElem, Isa, kernel_on_this_cpu};
use super::driver::run_tile;
use super::kernels::Kernel;
use super::pack::pack_panel;
use super::panels::Aligned;

/// An `m × k` matrix packed into the $\tilde A$ micro-panels of every depth block of one kernel.
pub struct PackedA<T: GemmElem> {
    kernel: Kernel<T>,
    m: usize,
    k: usize,
    /// `(pc, kb)` of each depth block.
    depth: Vec<(usize, usize)>,
    /// Micro-panels of rows, per depth block: `tm = ⌈m/mr⌉`.
    tm: usize,
    /// Offset of depth block `pi`'s first panel; each panel of that block holds `mr·kb` values.
    start: Vec<usize>,
    buf: Aligned<T>,
}

/// The balanced depth blocks of the module docs: `⌈k/kc⌉` blocks whose sizes differ by at most one.
pub fn balanced_depth(k: usize, kc: usize) -> Vec<(usize, usize)> {
    let nblk = k.div_ceil(kc.max(1)).max(1);
    (0..nblk).map(|i| (k * i / nblk, k * (i + 1) / nblk - k * i / nblk)).filter(|&(_, kb)| kb > 0).collect()
}

impl<T: GemmElem> PackedA<T> {
    /// Packs `a` (`m × k`, strides `rsa`, `csa`) for the kernel family [`Isa::chosen`]; `None`
    /// where that family has no micro-kernel on this CPU (the caller takes its portable path).
    ///
    /// # Safety
    /// `a` addresses every element of the `m × k` matrix.
    pub unsafe fn new(m: usize, k: usize, a: *const T, rsa: isize, csa: isize) -> Option<PackedA<T>> {
        let isa = Isa::chosen();
        let kernel = kernel_on_this_cpu::<T>(isa)?;
        let blocks = Blocks::derive(Caches::detect(), kernel.mr, kernel.nr, size_of::<T>());
        let (mr, tm) = (kernel.mr, m.div_ceil(kernel.mr));
        let depth = balanced_depth(k, blocks.kc);
        let mut start = Vec::with_capacity(depth.len());
        let mut len = 0;
        for &(_, kb) in &depth {
            start.push(len);
            len += tm * mr * kb;
        }
        let mut buf = Aligned::<T>::take(len.max(1));
        // SAFETY: `buf` holds `len` values from its pointer on.
        let all = unsafe { std::slice::from_raw_parts_mut(buf.ptr(), len) };
        for (&(pc, kb), &s) in depth.iter().zip(&start) {
            for r in 0..tm {
                let rows = mr.min(m - r * mr);
                let panel = &mut all[s + r * mr * kb..s + (r + 1) * mr * kb];
                // SAFETY: rows r·mr.., depth pc..pc+kb lie inside A (the caller's contract).
                unsafe {
                    pack_panel(
                        rows,
                        kb,
                        a.offset((r * mr) as isize * rsa + pc as isize * csa),
                        rsa,
                        csa,
                        mr,
                        panel,
                    )
                };
            }
        }
        Some(PackedA { kernel, m, k, depth, tm, start, buf })
    }

    /// Rows of the packed matrix.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Columns (the depth) of the packed matrix.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The kernel the panels were packed for (its `nr` is the width of the $\tilde B$ panels).
    pub fn kernel(&self) -> &Kernel<T> {
        &self.kernel
    }

    /// The depth blocks `(pc, kb)` in order.
    pub fn depth_blocks(&self) -> &[(usize, usize)] {
        &self.depth
    }
}

/// What [`gemm_packed_a`] asks its closure for: the $\tilde B$ micro-panel of rows `pc..pc+kb`
/// and columns `col..col+cols` of $B$, laid out `width` values per row (`cols ≤ width`; the
/// columns past `cols` must be zeros).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PanelRequest {
    pub pc: usize,
    pub kb: usize,
    pub col: usize,
    pub cols: usize,
    pub width: usize,
}

/// `C = Ã·B + beta·C` on the calling thread: `a` is the packed `m × k` matrix, `B` is `k × n` and
/// reaches the kernels only through `pack_b`, which fills one micro-panel per [`PanelRequest`]
/// (`out` holds `kb · width` values). C is `m × n` with row stride `rsc` and contiguous columns.
///
/// # Safety
/// `c` addresses the `m × n` matrix (row stride `rsc`, columns contiguous) and aliases nothing
/// `pack_b` reads; `pack_b` writes every value of `out` (zeros past `cols`).
pub unsafe fn gemm_packed_a<T: GemmElem>(
    a: &PackedA<T>,
    n: usize,
    mut pack_b: impl FnMut(PanelRequest, &mut [T]),
    beta: T,
    c: *mut T,
    rsc: isize,
) {
    let (m, kernel) = (a.m, &a.kernel);
    if m == 0 || n == 0 {
        return;
    }
    if a.k == 0 {
        // SAFETY: C is m×n, row stride rsc, contiguous columns.
        return unsafe { super::driver::scale(m, n, beta, c, rsc, 1) };
    }
    let (mr, nr) = (kernel.mr, kernel.nr);
    let kmax = a.depth.iter().map(|d| d.1).max().unwrap_or(0);
    let mut bbuf = Aligned::<T>::take(kmax * nr);
    // SAFETY: `bbuf` holds kmax·nr values from its pointer on.
    let bpanel = unsafe { std::slice::from_raw_parts_mut(bbuf.ptr(), kmax * nr) };
    let abase = a.buf_ptr();
    for col in (0..n).step_by(nr) {
        let cols = nr.min(n - col);
        let (width, run) = kernel.for_cols(cols);
        for (pi, (&(pc, kb), &s)) in a.depth.iter().zip(&a.start).enumerate() {
            let panel = &mut bpanel[..kb * width];
            pack_b(PanelRequest { pc, kb, col, cols, width }, panel);
            let beta_p = if pi == 0 { beta } else { T::ONE };
            for r in 0..a.tm {
                let (row, rows) = (r * mr, mr.min(m - r * mr));
                // SAFETY: panel r of depth block pi; tile (row, col) of C lies inside C.
                unsafe {
                    let ar = abase.add(s + r * mr * kb);
                    let ct = c.offset(row as isize * rsc + col as isize);
                    run_tile(
                        (width, run),
                        mr,
                        kb,
                        ar,
                        panel.as_ptr(),
                        ct,
                        rsc,
                        1,
                        (rows, cols),
                        T::ONE,
                        beta_p,
                    );
                }
            }
        }
    }
}

impl<T: GemmElem> PackedA<T> {
    fn buf_ptr(&self) -> *const T {
        self.buf.ptr_const()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_blocks_are_balanced() {
        assert_eq!(balanced_depth(288, 128), vec![(0, 96), (96, 96), (192, 96)]);
        assert_eq!(balanced_depth(27, 128), vec![(0, 27)]);
        assert_eq!(balanced_depth(257, 128), vec![(0, 85), (85, 86), (171, 86)]);
        assert_eq!(balanced_depth(128, 128), vec![(0, 128)]);
    }

    /// The implicit GEMM with a plain packer equals the reference product (f64, sizes that leave
    /// partial tiles in both directions and several depth blocks), for beta 0 and 1.
    #[test]
    fn matches_the_reference_product() {
        let (m, k, n) = (13usize, 300usize, 61usize);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 7919) % 23) as f64 / 7.0 - 1.5).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 104_729) % 19) as f64 / 5.0 - 1.8).collect();
        let Some(pa) = (unsafe { PackedA::new(m, k, a.as_ptr(), k as isize, 1) }) else {
            eprintln!("SKIPPED: no micro-kernel on this CPU");
            return;
        };
        for beta in [0.0, 1.0] {
            let c0: Vec<f64> = (0..m * n).map(|i| (i % 5) as f64).collect();
            let mut c = c0.clone();
            let pack = |r: PanelRequest, out: &mut [f64]| {
                for p in 0..r.kb {
                    for j in 0..r.width {
                        out[p * r.width + j] = if j < r.cols { b[(r.pc + p) * n + r.col + j] } else { 0.0 };
                    }
                }
            };
            unsafe { gemm_packed_a(&pa, n, pack, beta, c.as_mut_ptr(), n as isize) };
            for i in 0..m {
                for j in 0..n {
                    let want: f64 =
                        (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f64>() + beta * c0[i * n + j];
                    let got = c[i * n + j];
                    assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "({i}, {j}): {got} vs {want}");
                }
            }
        }
    }
}
