//! The convolution as an **implicit GEMM** on a padded, wide grid (row stride 1): no im2col
//! matrix in the forward pass, the weights packed once per call, and every micro-panel row of
//! the patches one contiguous copy.
//!
//! **The wide grid.** Each sample's planes are first copied into zero-padded planes of
//! $H_p \times W_p$ ($H_p = H + 2p_0$, $W_p = W + 2p_1$ rounded up to a multiple of $s_1$), and
//! the output is computed on a grid of $OH \times W_q$ positions, $W_q = W_p / s_1 \ge OW$, of which
//! the columns $j \ge OW$ are discarded. Position $q = i\,W_q + j$ with kernel offset $(a, b)$ of
//! channel $c$ reads the padded value
//! $$x_p[c,\; i + a d_0,\; j s_1 + b d_1] = x_p\big[\,c H_p W_p + a d_0 W_p + b d_1 + q\,s_1\,\big],$$
//! an affine function of $q$: the im2col row $(c, a, b)$ restricted to any run of positions is one
//! run of the padded planes (contiguous for $s_1 = 1$), with no bounds test, so a $\tilde B$
//! micro-panel row is one `copy_from_slice` of $n_r$ values. The price is $W_q/OW - 1$ more
//! columns in the forward and $\partial X$ products (16/14 for the CNN's 14×14 layer, 30/28 for
//! its 28×28 one); the weight gradient sums over the real positions only.
//!
//! | product (per sample, per group) | $A$ | $B$ | $C$ |
//! |---|---|---|---|
//! | forward $Y = W\,\operatorname{im2col}(x)$ | $W$, packed once per call | runs of $x_p$ | wide scratch, then the real columns + bias into $y_n$ |
//! | $\partial X = \operatorname{col2im}(W^\top \partial Y)$ | $W^\top$, packed once per call | rows of $\partial y_n$ widened with zeros | wide scratch, added back into padded $\partial x_p$, cropped |
//! | $\partial W \mathrel{+}= \partial Y\,\operatorname{im2col}(x)^\top$ | $\partial y_n$ (per sample) | the wide im2col rows, real positions only | the chunk's partial |
//!
//! A stride $s_0 > 1$ along the rows breaks the affine map ([`wide`] returns `None`), as does a CPU
//! without a micro-kernel; the parent module then takes its explicit im2col path. Every addition
//! is in a fixed order per sample: the results do not depend on the thread count.

use super::Geometry;
use crate::device::cpu::float::CpuFloat;
use crate::device::cpu::gemm::{Isa, PackedA, PanelRequest, gemm_packed_a, kernel_on_this_cpu};
use crate::device::cpu::scratch;
use crate::device::cpu::scratch::ScratchElem;

/// The sizes of the wide grid of one convolution (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wide {
    /// Padded rows, $H_p = H + 2p_0$.
    pub hp: usize,
    /// Padded columns, $W + 2p_1$ rounded up to a multiple of $s_1$.
    pub wp: usize,
    /// Columns of the wide output grid, $W_p / s_1$.
    pub wq: usize,
    /// Values of one group's padded planes, with the slack the last channel's runs read past its
    /// plane (zeros).
    pub xp_len: usize,
}

impl Wide {
    /// Positions of the wide grid, $OH \cdot W_q$.
    pub fn q(&self, g: &Geometry) -> usize {
        g.oh * self.wq
    }
    /// The offset in the padded planes of im2col row `kk` = (c, a, b).
    fn row_offset(&self, g: &Geometry, kk: usize) -> usize {
        let khw = g.kh * g.kw;
        let (c, a, b) = (kk / khw, kk % khw / g.kw, kk % g.kw);
        c * self.hp * self.wp + a * g.dilation[0] * self.wp + b * g.dilation[1]
    }
}

/// The wide grid of `g`, or `None` when the rows are strided (`stride[0] > 1`).
pub fn wide(g: &Geometry) -> Option<Wide> {
    if g.stride[0] != 1 {
        return None;
    }
    let hp = g.h + 2 * g.padding[0];
    let wp = (g.w + 2 * g.padding[1]).next_multiple_of(g.stride[1]);
    let wq = wp / g.stride[1];
    // The farthest read: row (cg-1, kh-1, kw-1) at position q-1 (module docs' formula).
    let last = (g.cg() - 1) * hp * wp + (g.kh - 1) * g.dilation[0] * wp + (g.kw - 1) * g.dilation[1];
    let xp_len = (last + (g.oh * wq - 1) * g.stride[1] + 1).max(g.cg() * hp * wp);
    Some(Wide { hp, wp, wq, xp_len })
}

#[inline(never)]
/// Copies one group's planes `x_g` into the zero-padded planes `xp` (`wd.xp_len` values).
pub fn pad<T: CpuFloat>(g: &Geometry, wd: &Wide, x_g: &[T], xp: &mut [T]) {
    xp.fill(T::zero());
    let (h, w, plane) = (g.h, g.w, wd.hp * wd.wp);
    for c in 0..g.cg() {
        for r in 0..h {
            let dst = c * plane + (r + g.padding[0]) * wd.wp + g.padding[1];
            xp[dst..dst + w].copy_from_slice(&x_g[(c * h + r) * w..(c * h + r + 1) * w]);
        }
    }
}

#[inline(never)]
/// One $\tilde B$ micro-panel of the wide im2col matrix: row $p$ is im2col row $p_c + p$ at the
/// positions `col..col+cols`, one run of the padded planes (module docs).
fn pack_wide<T: CpuFloat>(g: &Geometry, wd: &Wide, xp: &[T], r: PanelRequest, out: &mut [T]) {
    let s = g.stride[1];
    for p in 0..r.kb {
        let start = wd.row_offset(g, r.pc + p) + r.col * s;
        let dst = &mut out[p * r.width..(p + 1) * r.width];
        if s == 1 {
            copy_run(&mut dst[..r.cols], &xp[start..start + r.cols]);
        } else {
            for (t, d) in dst[..r.cols].iter_mut().enumerate() {
                *d = xp[start + t * s];
            }
        }
        dst[r.cols..].fill(T::zero());
    }
}

/// `dst.copy_from_slice(src)`, with the micro-panel widths (8, 16, 24, 32, 48) as fixed-size copies
/// the compiler keeps inline instead of a `memmove` call per run (`memmove` was 10 % of the first
/// CNN layer's forward profile, whose panels have 27 runs each).
#[inline(always)]
fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    fn fixed<T: Copy, const W: usize>(dst: &mut [T], src: &[T]) {
        // ok: `copy_run` calls this only when dst.len() == W, and its callers pass src and dst of
        // one length (as `copy_from_slice` requires).
        let d: &mut [T; W] = dst.try_into().expect("W values"); // ok: len == W (above)
        let s: &[T; W] = src.try_into().expect("W values"); // ok: len == W (above)
        *d = *s;
    }
    match dst.len() {
        48 => fixed::<T, 48>(dst, src),
        32 => fixed::<T, 32>(dst, src),
        24 => fixed::<T, 24>(dst, src),
        16 => fixed::<T, 16>(dst, src),
        8 => fixed::<T, 8>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// The plain panel of a row-major matrix `src` with row stride `n`.
fn pack_rows<T: CpuFloat>(src: &[T], n: usize, r: PanelRequest, out: &mut [T]) {
    for p in 0..r.kb {
        let row = &src[(r.pc + p) * n + r.col..(r.pc + p) * n + r.col + r.cols];
        let dst = &mut out[p * r.width..(p + 1) * r.width];
        copy_run(&mut dst[..r.cols], row);
        dst[r.cols..].fill(T::zero());
    }
}

/// Each group's weights packed as $\tilde A$: $W_g$ (`transposed = false`) or $W_g^\top$; `None`
/// without a micro-kernel.
pub fn pack_weights<T: CpuFloat>(g: &Geometry, w: &[T], transposed: bool) -> Option<Vec<PackedA<T>>> {
    let (og, k) = (g.og(), g.k());
    (0..g.groups)
        .map(|grp| {
            let w_g = w[grp * og * k..(grp + 1) * og * k].as_ptr();
            // SAFETY: group grp's weights are og × k, row-major, inside w.
            unsafe {
                if transposed {
                    PackedA::new(k, og, w_g, 1, k as isize)
                } else {
                    PackedA::new(og, k, w_g, k as isize, 1)
                }
            }
        })
        .collect()
}

/// The forward product of one sample: `y_n` (O × OH·OW) $= W_g\,\operatorname{im2col}(x_{n,g})$
/// for every group, plus `bias`: the wide product into a scratch buffer, then its real columns.
pub fn forward_sample<T: CpuFloat + ScratchElem>(
    g: &Geometry,
    wd: &Wide,
    pw: &[PackedA<T>],
    x_n: &[T],
    bias: Option<&[T]>,
    y_n: &mut [T],
) {
    let (ohw, og, cghw, q) = (g.ohw(), g.og(), g.cg() * g.h * g.w, wd.q(g));
    scratch::with_scratch::<T, _>(wd.xp_len, |xp| {
        scratch::with_scratch::<T, _>(og * q, |yw| {
            for (grp, pa) in pw.iter().enumerate() {
                pad(g, wd, &x_n[grp * cghw..(grp + 1) * cghw], xp);
                let xp = &*xp;
                // SAFETY: yw is og × q, row-major; the closure reads only xp.
                unsafe {
                    gemm_packed_a(
                        pa,
                        q,
                        |r, out| pack_wide(g, wd, xp, r, out),
                        T::zero(),
                        yw.as_mut_ptr(),
                        q as isize,
                    )
                };
                for (o, wide_o) in yw.chunks_exact(q).enumerate() {
                    let oc = grp * og + o;
                    let b = bias.map_or(T::zero(), |b| b[oc]);
                    let dst = &mut y_n[oc * ohw..(oc + 1) * ohw];
                    for (d_row, w_row) in dst.chunks_exact_mut(g.ow).zip(wide_o.chunks_exact(wd.wq)) {
                        for (d, &v) in d_row.iter_mut().zip(w_row) {
                            *d = b + v;
                        }
                    }
                }
            }
        })
    });
}

/// $\partial x_n$ of one sample (overwritten): per group the wide product
/// $W_g^\top\,\partial y_{n,g}$ (the garbage columns of $\partial y$ are zeros), added back into
/// zero-padded planes ($\operatorname{col2im}$ over the real positions, im2col rows in order), then
/// cropped.
pub fn dx_sample<T: CpuFloat + ScratchElem>(
    g: &Geometry,
    wd: &Wide,
    pwt: &[PackedA<T>],
    dy_n: &[T],
    dx_n: &mut [T],
) {
    let (ohw, og, k, cghw, q) = (g.ohw(), g.og(), g.k(), g.cg() * g.h * g.w, wd.q(g));
    let plane = wd.hp * wd.wp;
    scratch::with_scratch::<T, _>(og * q + k * q + wd.xp_len, |buf| {
        let (dyw, rest) = buf.split_at_mut(og * q);
        let (dcols, dxp) = rest.split_at_mut(k * q);
        for (grp, pa) in pwt.iter().enumerate() {
            let dy_g = &dy_n[grp * og * ohw..(grp + 1) * og * ohw];
            for (w_row, d_row) in dyw.chunks_exact_mut(wd.wq).zip(dy_g.chunks_exact(g.ow)) {
                w_row[..g.ow].copy_from_slice(d_row);
                w_row[g.ow..].fill(T::zero());
            }
            let dyw = &*dyw;
            // SAFETY: dcols is k × q, row-major; the closure reads only dyw.
            unsafe {
                gemm_packed_a(
                    pa,
                    q,
                    |r, out| pack_rows(dyw, q, r, out),
                    T::zero(),
                    dcols.as_mut_ptr(),
                    q as isize,
                )
            };
            col2im_wide(g, wd, dcols, dxp);
            let dx_g = &mut dx_n[grp * cghw..(grp + 1) * cghw];
            for c in 0..g.cg() {
                for r in 0..g.h {
                    let src = c * plane + (r + g.padding[0]) * wd.wp + g.padding[1];
                    dx_g[(c * g.h + r) * g.w..(c * g.h + r + 1) * g.w].copy_from_slice(&dxp[src..src + g.w]);
                }
            }
        }
    });
}

/// Adds the real positions of the wide columns `dcols` (K × q) back into the zero-padded planes
/// `dxp` (overwritten), im2col rows in order: $\operatorname{col2im}$ on the wide grid.
#[inline(never)]
fn col2im_wide<T: CpuFloat>(g: &Geometry, wd: &Wide, dcols: &[T], dxp: &mut [T]) {
    let (s, q) = (g.stride[1], wd.q(g));
    dxp.fill(T::zero());
    for (kk, row) in dcols.chunks_exact(q).enumerate() {
        let off = wd.row_offset(g, kk);
        for i in 0..g.oh {
            let src = &row[i * wd.wq..i * wd.wq + g.ow];
            let base = off + i * wd.wq * s;
            if s == 1 {
                for (d, &v) in dxp[base..base + g.ow].iter_mut().zip(src) {
                    *d += v;
                }
            } else {
                for (t, &v) in src.iter().enumerate() {
                    dxp[base + t * s] += v;
                }
            }
        }
    }
}

/// $\partial W_g^\top \mathrel{+}= \operatorname{im2col}(x_{n,g})\,\partial y_{n,g}^\top$ for every
/// group of one sample: `dwt` accumulates the **transposed** gradient, group `grp` at
/// `grp·K·O/G` as K × O/G (the caller transposes once at the end). The im2col rows are copied
/// over the real positions only (one run of $OW$ per output row, from the padded planes) and
/// packed as $\tilde A$ — eight rows at a time, each read in order — and $\partial y_{n,g}$ is
/// transposed once so that its panels are plain rows: no panel is gathered across 48 rows.
pub fn dwt_sample<T: CpuFloat + ScratchElem>(g: &Geometry, wd: &Wide, x_n: &[T], dy_n: &[T], dwt: &mut [T]) {
    let (ohw, og, k, cghw) = (g.ohw(), g.og(), g.k(), g.cg() * g.h * g.w);
    scratch::with_scratch::<T, _>(wd.xp_len + k * ohw + ohw * og, |buf| {
        let (xp, rest) = buf.split_at_mut(wd.xp_len);
        let (cols, dyt) = rest.split_at_mut(k * ohw);
        for grp in 0..g.groups {
            pad(g, wd, &x_n[grp * cghw..(grp + 1) * cghw], xp);
            im2col_real(g, wd, xp, cols);
            let dy_g = &dy_n[grp * og * ohw..(grp + 1) * og * ohw];
            transpose(dy_g, og, ohw, dyt);
            // SAFETY: cols is k × ohw, row-major.
            let Some(pa) = (unsafe { PackedA::new(k, ohw, cols.as_ptr(), ohw as isize, 1) }) else {
                // ok: `backward` calls this only when `has_kernel` holds, the one condition under
                // which `PackedA::new` returns `None` (no user input reaches it).
                unreachable!("the caller checked the micro-kernel")
            };
            let dyt = &*dyt;
            let dwt_g = &mut dwt[grp * k * og..(grp + 1) * k * og];
            // SAFETY: dwt_g is k × og, row-major; the closure reads only dyt.
            unsafe {
                gemm_packed_a(
                    &pa,
                    og,
                    |r, out| pack_rows(dyt, og, r, out),
                    T::one(),
                    dwt_g.as_mut_ptr(),
                    og as isize,
                )
            };
        }
    });
}

/// The im2col matrix over the real positions (K × OH·OW) from the padded planes: row
/// (c, a, b), output row i is one run of the padded planes.
#[inline(never)]
fn im2col_real<T: CpuFloat>(g: &Geometry, wd: &Wide, xp: &[T], cols: &mut [T]) {
    let (s, ow, ohw) = (g.stride[1], g.ow, g.ohw());
    for (kk, row) in cols.chunks_exact_mut(ohw).enumerate() {
        let off = wd.row_offset(g, kk);
        for (i, dst) in row.chunks_exact_mut(ow).enumerate() {
            let start = off + i * wd.wp;
            if s == 1 {
                dst.copy_from_slice(&xp[start..start + ow]);
            } else {
                for (t, d) in dst.iter_mut().enumerate() {
                    *d = xp[start + t * s];
                }
            }
        }
    }
}

/// `dst` (cols × rows) = `src` (rows × cols)ᵀ: eight source rows at a time, each read in order,
/// each destination row receiving eight adjacent values.
#[inline(never)]
fn transpose<T: CpuFloat>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    const B: usize = 8;
    let dst = &mut dst[..rows * cols];
    let mut i0 = 0;
    while i0 + B <= rows {
        let r: [&[T]; B] = std::array::from_fn(|t| &src[(i0 + t) * cols..(i0 + t + 1) * cols]);
        for (j, d) in dst.chunks_exact_mut(rows).enumerate() {
            // ok: a slice of exactly B values.
            let d: &mut [T; B] = (&mut d[i0..i0 + B]).try_into().expect("B values");
            for t in 0..B {
                d[t] = r[t][j];
            }
        }
        i0 += B;
    }
    for i in i0..rows {
        for (d, &v) in dst.chunks_exact_mut(rows).zip(&src[i * cols..(i + 1) * cols]) {
            d[i] = v;
        }
    }
}

/// Whether the micro-kernels of [`PackedA`] exist on this CPU for `T`.
pub fn has_kernel<T: CpuFloat>() -> bool {
    kernel_on_this_cpu::<T>(Isa::chosen()).is_some()
}
