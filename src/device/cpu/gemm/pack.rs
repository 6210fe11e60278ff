//! Packing: copying a block of $A$ or $B$, whatever its strides, into the contiguous micro-panels
//! the micro-kernel streams through.
//!
//! * $\tilde A$ ($m_b \times k_b$ rows of $A$): micro-panels of $m_r$ rows; panel $r$ holds, for
//!   $p = 0, \dots, k_b - 1$, the $m_r$ values $a_{r m_r + i,\,p}$ ($i < m_r$) one after another.
//! * $\tilde B$ ($k_b \times n_b$ of $B$): micro-panels of $n_r$ columns; panel $q$ holds, for
//!   each $p$, the $n_r$ values $b_{p,\,q n_r + j}$.
//!
//! Rows (columns) past the edge of the block are zeros, so the kernel always computes a full
//! tile; the caller keeps only the part inside $C$. Each element of the source is read once.
//! Strides are in elements and may be any value (a transposed operand is the same matrix with its
//! two strides swapped); the two common layouts have a faster copy. [`pack_panel`] packs one
//! micro-panel of either: a $\tilde B$ panel is the $\tilde A$ panel of $B^\top$, its two
//! strides swapped (`driver::pack_b_panel`).

/// One micro-panel: `lines` (≤ `width`) lines of `kb` values, line `i` at `src + i·line_stride`,
/// value `p` of a line at `p·step`; out\[p·width + i\], zeros for `i ≥ lines`.
///
/// The kernels' widths (6, 8, 12, 16, 32, 48, 64) get a copy specialised to the width (fixed-size
/// copies and an unrolled gather the compiler keeps in registers); others take the general loop.
///
/// # Safety
/// `src` addresses `lines × kb` values with those strides; `out` has `width · kb` values.
#[inline]
pub unsafe fn pack_panel<T: Copy + Default>(
    lines: usize,
    kb: usize,
    src: *const T,
    line_stride: isize,
    step: isize,
    width: usize,
    out: &mut [T],
) {
    let out = &mut out[..width * kb];
    // SAFETY (every arm): the caller's contract.
    unsafe {
        if lines == width {
            match width {
                6 => return pack_full::<T, 6>(src, line_stride, step, out),
                8 => return pack_full::<T, 8>(src, line_stride, step, out),
                12 => return pack_full::<T, 12>(src, line_stride, step, out),
                16 => return pack_full::<T, 16>(src, line_stride, step, out),
                32 => return pack_full::<T, 32>(src, line_stride, step, out),
                48 => return pack_full::<T, 48>(src, line_stride, step, out),
                64 => return pack_full::<T, 64>(src, line_stride, step, out),
                _ => {}
            }
        }
        pack_general(lines, src, line_stride, step, width, out)
    }
}

/// A full panel of the constant width `W` (`out.len() / W` values per line).
///
/// # Safety
/// As [`pack_panel`] with `lines = W`.
#[inline(always)]
unsafe fn pack_full<T: Copy + Default, const W: usize>(
    src: *const T,
    line_stride: isize,
    step: isize,
    out: &mut [T],
) {
    // SAFETY: line i < W, value p < kb: inside the caller's block; out has W·kb values.
    unsafe {
        if line_stride == 1 {
            // Adjacent lines: each p is one run of W values.
            for (p, dst) in out.chunks_exact_mut(W).enumerate() {
                let run = &*(src.offset(p as isize * step) as *const [T; W]);
                dst.copy_from_slice(run);
            }
        } else {
            // W streams, one value of each per p: an unrolled gather.
            let lines: [*const T; W] = std::array::from_fn(|i| src.offset(i as isize * line_stride));
            for (p, dst) in out.chunks_exact_mut(W).enumerate() {
                let off = p as isize * step;
                let vals: [T; W] = std::array::from_fn(|i| *lines[i].offset(off));
                dst.copy_from_slice(&vals);
            }
        }
    }
}

/// Any width, any number of lines (the edge panels).
///
/// # Safety
/// As [`pack_panel`].
unsafe fn pack_general<T: Copy + Default>(
    lines: usize,
    src: *const T,
    line_stride: isize,
    step: isize,
    width: usize,
    out: &mut [T],
) {
    for (p, dst) in out.chunks_exact_mut(width).enumerate() {
        // SAFETY: line i < lines, value p < kb.
        let col = unsafe { src.offset(p as isize * step) };
        for (i, d) in dst.iter_mut().enumerate() {
            // SAFETY: as above.
            *d = if i < lines { unsafe { *col.offset(i as isize * line_stride) } } else { T::default() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every layout (row-major, column-major, a strided view) packs to the same panels, with
    /// zeros past the edges.
    #[test]
    fn panels_hold_the_block_in_kernel_order() {
        let (m, k, mr) = (7usize, 5usize, 3usize);
        let val = |i: usize, p: usize| (10 * i + p) as f64 + 1.0;
        let row_major: Vec<f64> = (0..m * k).map(|x| val(x / k, x % k)).collect();
        let col_major: Vec<f64> = (0..m * k).map(|x| val(x % m, x / m)).collect();
        let strided: Vec<f64> =
            (0..m * 2 * k * 3).map(|x| val(x / (2 * k * 3), x % (2 * k * 3) / 3)).collect();
        let mut expect = vec![0.0; m.div_ceil(mr) * mr * k];
        for r in 0..m.div_ceil(mr) {
            for p in 0..k {
                for i in 0..mr {
                    let row = r * mr + i;
                    expect[r * mr * k + p * mr + i] = if row < m { val(row, p) } else { 0.0 };
                }
            }
        }
        for (src, rs, cs) in
            [(&row_major, k as isize, 1), (&col_major, 1, m as isize), (&strided, 6 * k as isize, 3)]
        {
            let mut out = vec![f64::NAN; expect.len()];
            for (r, panel) in out.chunks_exact_mut(mr * k).enumerate() {
                let rows = mr.min(m - r * mr);
                unsafe {
                    pack_panel(rows, k, src.as_ptr().offset((r * mr) as isize * rs), rs, cs, mr, panel)
                };
            }
            assert_eq!(out, expect, "strides {rs}, {cs}");
        }
    }
}
