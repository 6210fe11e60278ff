//! CPU kernels of `conv2d`: im2col, col2im and the GEMMs around them (see the module docs of
//! `ops::conv2d` for the formulas and the measurements behind the choices), with the parameters
//! the op and both backends share: [`ConvMode`] and the validated sizes, [`Geometry`].
//!
//! All buffers are row-major and contiguous: `x` is (N, C, H, W), `w` is (O, C/G, kH, kW), `y` is
//! (N, O, OH, OW). The kernels compute **cross-correlation**; the `Convolution` mode is handled by
//! the caller, which flips `w` before and the weight gradient after.

pub mod implicit;

use rayon::prelude::*;

use crate::device::cpu::float::CpuFloat;
use crate::device::cpu::scratch;
use crate::device::cpu::scratch::ScratchElem;

/// Which of the two conventions `conv2d` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvMode {
    /// $y_{ij} = \sum_{a,b} x_{i+a,\,j+b}\, w_{ab}$: PyTorch's `conv2d`, what CNNs call convolution.
    #[default]
    CrossCorrelation,
    /// The document's true convolution, $y_{ij} = \sum_{k,l} x_{(i-k+1)(j-l+1)}\, k_{kl}$ (the
    /// kernel flipped in both spatial dimensions).
    Convolution,
}

/// Every size of one convolution, derived once from the shapes and the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub groups: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

impl Geometry {
    /// Input channels per group, $C/G$.
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }
    /// Output channels per group, $O/G$.
    pub fn og(&self) -> usize {
        self.o / self.groups
    }
    /// Rows of the im2col matrix (the GEMM's reduction length), $K = (C/G)\,k_H k_W$.
    pub fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    /// Output positions per channel, $OH \cdot OW$.
    pub fn ohw(&self) -> usize {
        self.oh * self.ow
    }
    /// A 1×1 kernel with stride 1 and no padding: the input plane *is* the im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.padding == [0, 0]
    }
    /// The output columns `j` whose input column `j·s − p + b·d` lies inside `0..W`, as `lo..hi`.
    fn valid_cols(&self, b: usize) -> (usize, usize) {
        valid_range(self.ow, self.w, self.stride[1], self.padding[1], b * self.dilation[1])
    }
}

/// The `i` in `0..out` with `0 ≤ i·s + off − p < len`, as a half-open range.
fn valid_range(out: usize, len: usize, s: usize, p: usize, off: usize) -> (usize, usize) {
    // i·s ≥ p − off  and  i·s < len + p − off
    let lo = if p > off { (p - off).div_ceil(s) } else { 0 };
    let hi = if len + p > off { (len + p - off).div_ceil(s) } else { 0 };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}

/// im2col for one sample and one group: `x` holds the group's `C/G` input planes (H×W each) and
/// `cols` (K × OH·OW) receives
/// $$\text{cols}[(c k_H + a) k_W + b,\; i\,OW + j] = x[c,\; i s_0 - p_0 + a d_0,\; j s_1 - p_1 + b d_1]$$
/// with zero outside the input (the padding). Every element of `cols` is written.
pub fn im2col<T: CpuFloat + ScratchElem>(g: &Geometry, x: &[T], cols: &mut [T]) {
    let (h, w, ow, ohw) = (g.h, g.w, g.ow, g.ohw());
    let mut row = 0;
    for c in 0..g.cg() {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for a in 0..g.kh {
            let (ilo, ihi) = valid_range(g.oh, h, g.stride[0], g.padding[0], a * g.dilation[0]);
            for b in 0..g.kw {
                let (jlo, jhi) = g.valid_cols(b);
                let out = &mut cols[row * ohw..(row + 1) * ohw];
                out[..ilo * ow].fill(T::zero());
                out[ihi * ow..].fill(T::zero());
                for i in ilo..ihi {
                    let hi = i * g.stride[0] + a * g.dilation[0] - g.padding[0];
                    let src = &plane[hi * w..(hi + 1) * w];
                    let dst = &mut out[i * ow..(i + 1) * ow];
                    dst[..jlo].fill(T::zero());
                    dst[jhi..].fill(T::zero());
                    let w0 = (jlo * g.stride[1] + b * g.dilation[1]) as isize - g.padding[1] as isize;
                    if jhi > jlo {
                        let w0 = w0 as usize; // ≥ 0 for j ≥ jlo
                        if g.stride[1] == 1 {
                            dst[jlo..jhi].copy_from_slice(&src[w0..w0 + (jhi - jlo)]);
                        } else {
                            for (t, d) in dst[jlo..jhi].iter_mut().enumerate() {
                                *d = src[w0 + t * g.stride[1]];
                            }
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// col2im, the adjoint of [`im2col`]: adds every element of `cols` back into the input position
/// it was copied from (`dx += im2colᵀ(cols)`); padding positions are dropped. Sequential, so the
/// order of the additions is fixed.
pub fn col2im<T: CpuFloat + ScratchElem>(g: &Geometry, cols: &[T], dx: &mut [T]) {
    let (h, w, ow, ohw) = (g.h, g.w, g.ow, g.ohw());
    let mut row = 0;
    for c in 0..g.cg() {
        let plane = &mut dx[c * h * w..(c + 1) * h * w];
        for a in 0..g.kh {
            let (ilo, ihi) = valid_range(g.oh, h, g.stride[0], g.padding[0], a * g.dilation[0]);
            for b in 0..g.kw {
                let (jlo, jhi) = g.valid_cols(b);
                let src_row = &cols[row * ohw..(row + 1) * ohw];
                if jhi > jlo {
                    for i in ilo..ihi {
                        let hi = i * g.stride[0] + a * g.dilation[0] - g.padding[0];
                        let w0 = jlo * g.stride[1] + b * g.dilation[1] - g.padding[1];
                        let dst = &mut plane[hi * w..(hi + 1) * w];
                        for (t, &v) in src_row[i * ow + jlo..i * ow + jhi].iter().enumerate() {
                            dst[w0 + t * g.stride[1]] += v;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// `C = A·B + beta·C` for contiguous row-major operands, `A` optionally read transposed.
/// `a_t`: `A` (m×k) is stored as its transpose (k×m); `b_t`: `B` (k×n) is stored as its
/// transpose (n×k).
#[allow(clippy::too_many_arguments)]
fn gemm<T: CpuFloat + ScratchElem>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    a_t: bool,
    b: &[T],
    b_t: bool,
    beta: T,
    c: &mut [T],
) {
    debug_assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    let (rsa, csa) = if a_t { (1, m as isize) } else { (k as isize, 1) };
    let (rsb, csb) = if b_t { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: the slices hold at least m·k, k·n and m·n elements (checked by the callers'
    // geometry, asserted in debug builds), the strides describe those row-major layouts, and `c`
    // is a `&mut` slice, so it aliases neither `a` nor `b`.
    unsafe {
        T::gemm(
            m,
            k,
            n,
            T::one(),
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Forward cross-correlation: `y[n, g·O/G + o] = W_g · im2col(x[n, g]) + bias`, one task per
/// sample (rayon), one GEMM per sample and group: the implicit GEMM of [`implicit`] (weights
/// packed once, patches packed straight from the padded input), or, for a row stride above 1 or
/// where the GEMM has no micro-kernel, explicit im2col columns from the scratch pool.
pub fn forward<T: CpuFloat + ScratchElem>(g: &Geometry, x: &[T], w: &[T], bias: Option<&[T]>) -> Vec<T> {
    let (chw, ohw, k, og, cg) = (g.c * g.h * g.w, g.ohw(), g.k(), g.og(), g.cg());
    let mut y = vec![T::zero(); g.n * g.o * ohw];
    if y.is_empty() {
        return y;
    }
    let packed = implicit::wide(g).and_then(|wd| Some((wd, implicit::pack_weights(g, w, false)?)));
    let beta = if bias.is_some() { T::one() } else { T::zero() };
    let one_sample = |n: usize, y_n: &mut [T]| {
        let x_n = &x[n * chw..(n + 1) * chw];
        if let Some((wd, pw)) = &packed {
            return implicit::forward_sample(g, wd, pw, x_n, bias, y_n);
        }
        if let Some(b) = bias {
            for (o, plane) in y_n.chunks_mut(ohw).enumerate() {
                plane.fill(b[o]);
            }
        }
        for grp in 0..g.groups {
            let x_g = &x_n[grp * cg * g.h * g.w..(grp + 1) * cg * g.h * g.w];
            let w_g = &w[grp * og * k..(grp + 1) * og * k];
            let y_g = &mut y_n[grp * og * ohw..(grp + 1) * og * ohw];
            if g.is_pointwise() {
                gemm(og, k, ohw, w_g, false, x_g, false, beta, y_g);
            } else {
                scratch::with_scratch::<T, _>(k * ohw, |cols| {
                    im2col(g, x_g, cols);
                    gemm(og, k, ohw, w_g, false, cols, false, beta, y_g);
                });
            }
        }
    };
    if g.n == 1 {
        one_sample(0, &mut y);
    } else {
        y.par_chunks_mut(g.o * ohw).enumerate().for_each(|(n, y_n)| one_sample(n, y_n));
    }
    y
}

/// Samples per partial sum of the weight gradient. A constant (never the thread count), so the
/// order of every addition is the same on any machine.
pub const DW_CHUNK: usize = 4;

/// Backward of [`forward`] for `x` and `w`:
/// $\partial x_n = \operatorname{col2im}(W_g^\top\,\partial y_{n,g})$ per sample, and
/// $\partial W_g = \sum_n \partial y_{n,g}\,\operatorname{im2col}(x_{n,g})^\top$, accumulated by one
/// GEMM (`beta = 1`) per sample into a partial for each fixed chunk of [`DW_CHUNK`] samples; the
/// partials are then added in chunk order. Chunks run in parallel; nothing depends on the threads.
/// The products are [`implicit`]'s where it applies (as in [`forward`]).
pub fn backward<T: CpuFloat + ScratchElem>(
    g: &Geometry,
    x: &[T],
    w: &[T],
    dy: &[T],
    need_dx: bool,
    need_dw: bool,
) -> (Option<Vec<T>>, Option<Vec<T>>) {
    let (chw, ohw, k, og, cg) = (g.c * g.h * g.w, g.ohw(), g.k(), g.og(), g.cg());
    let (oyw, wlen) = (g.o * ohw, g.o * k);
    let nchunks = g.n.div_ceil(DW_CHUNK);
    let mut dx = if need_dx { vec![T::zero(); g.n * chw] } else { Vec::new() };
    let mut partials = if need_dw { vec![T::zero(); nchunks * wlen] } else { Vec::new() };
    if g.n == 0 || (!need_dx && !need_dw) {
        return (need_dx.then_some(dx), need_dw.then(|| vec![T::zero(); wlen]));
    }
    let wide = implicit::wide(g);
    // The implicit weight gradient accumulates dWᵀ (K × O/G per group), transposed at the end.
    let wide_dw = wide.filter(|_| need_dw && implicit::has_kernel::<T>());
    let packed_t = wide.filter(|_| need_dx).and_then(|wd| Some((wd, implicit::pack_weights(g, w, true)?)));
    let one_chunk = |ch: usize, dx_ch: &mut [T], dw_ch: &mut [T]| {
        for n in ch * DW_CHUNK..((ch + 1) * DW_CHUNK).min(g.n) {
            let x_n = &x[n * chw..(n + 1) * chw];
            let dy_n = &dy[n * oyw..(n + 1) * oyw];
            if let Some(wd) = wide_dw {
                implicit::dwt_sample(g, &wd, x_n, dy_n, dw_ch);
            }
            let dx_done = if let Some((wd, pwt)) = &packed_t {
                let off = (n - ch * DW_CHUNK) * chw;
                implicit::dx_sample(g, wd, pwt, dy_n, &mut dx_ch[off..off + chw]);
                true
            } else {
                false
            };
            for grp in 0..g.groups {
                let dy_g = &dy_n[grp * og * ohw..(grp + 1) * og * ohw];
                let w_g = &w[grp * og * k..(grp + 1) * og * k];
                if need_dw && wide_dw.is_none() {
                    let x_g = &x_n[grp * cg * g.h * g.w..(grp + 1) * cg * g.h * g.w];
                    let dw_g = &mut dw_ch[grp * og * k..(grp + 1) * og * k];
                    if g.is_pointwise() {
                        gemm(og, ohw, k, dy_g, false, x_g, true, T::one(), dw_g);
                    } else {
                        scratch::with_scratch::<T, _>(k * ohw, |cols| {
                            im2col(g, x_g, cols);
                            gemm(og, ohw, k, dy_g, false, cols, true, T::one(), dw_g);
                        });
                    }
                }
                if need_dx && !dx_done {
                    let off = (n - ch * DW_CHUNK) * chw + grp * cg * g.h * g.w;
                    let dx_g = &mut dx_ch[off..off + cg * g.h * g.w];
                    if g.is_pointwise() {
                        gemm(k, og, ohw, w_g, true, dy_g, false, T::zero(), dx_g);
                    } else {
                        scratch::with_scratch::<T, _>(k * ohw, |dcols| {
                            gemm(k, og, ohw, w_g, true, dy_g, false, T::zero(), dcols);
                            col2im(g, dcols, dx_g);
                        });
                    }
                }
            }
        }
    };
    // (`max(1)`: a zero-sized gradient has no chunks; the resize below supplies empty ones.)
    let (dx_step, dw_step) = ((DW_CHUNK * chw).max(1), wlen.max(1));
    // Empty buffers stand in for the gradients that are not wanted.
    let mut dx_chunks: Vec<&mut [T]> = if need_dx { dx.chunks_mut(dx_step).collect() } else { Vec::new() };
    let mut dw_chunks: Vec<&mut [T]> =
        if need_dw { partials.chunks_mut(dw_step).collect() } else { Vec::new() };
    dx_chunks.resize_with(nchunks, Default::default);
    dw_chunks.resize_with(nchunks, Default::default);
    dx_chunks
        .into_par_iter()
        .zip(dw_chunks.into_par_iter())
        .enumerate()
        .for_each(|(ch, (dx_ch, dw_ch))| one_chunk(ch, dx_ch, dw_ch));

    let dw = need_dw.then(|| {
        let mut dw = partials[..wlen].to_vec();
        for p in partials[wlen..].chunks(wlen) {
            for (a, &b) in dw.iter_mut().zip(p) {
                *a += b;
            }
        }
        if wide_dw.is_none() {
            return dw;
        }
        // Back from dWᵀ (K × O/G per group) to (O/G × K).
        let mut out = vec![T::zero(); wlen];
        for (src, dst) in dw.chunks_exact(og * k).zip(out.chunks_exact_mut(og * k)) {
            for (kk, row) in src.chunks_exact(og).enumerate() {
                for (o, &v) in row.iter().enumerate() {
                    dst[o * k + kk] = v;
                }
            }
        }
        out
    });
    (need_dx.then_some(dx), dw)
}

/// Gradient of the bias: $\partial b_o = \sum_n \sum_{i,j} \partial y_{n,o,i,j}$, in that order.
pub fn bias_grad<T: CpuFloat + ScratchElem>(g: &Geometry, dy: &[T]) -> Vec<T> {
    let ohw = g.ohw();
    (0..g.o)
        .into_par_iter()
        .map(|o| {
            let mut s = T::zero();
            for n in 0..g.n {
                let base = (n * g.o + o) * ohw;
                for &v in &dy[base..base + ohw] {
                    s += v;
                }
            }
            s
        })
        .collect()
}

/// The kernel flipped in both spatial dimensions, $w'[o, c, a, b] = w[o, c, k_H-1-a, k_W-1-b]$
/// (an involution: flipping twice gives `w` back).
pub fn flip<T: CpuFloat + ScratchElem>(w: &[T], kh: usize, kw: usize) -> Vec<T> {
    let mut out = vec![T::zero(); w.len()];
    for (src, dst) in w.chunks(kh * kw).zip(out.chunks_mut(kh * kw)) {
        for a in 0..kh {
            for b in 0..kw {
                dst[a * kw + b] = src[(kh - 1 - a) * kw + (kw - 1 - b)];
            }
        }
    }
    out
}
