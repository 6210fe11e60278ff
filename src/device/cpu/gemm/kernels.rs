//! The register-blocked micro-kernels: one $m_r \times n_r$ tile of $C$ from one micro-panel of
//! $\tilde A$ and one of $\tilde B$.
//!
//! Inside the kernel the tile lives in vector registers: $m_r$ rows of $n_r / \ell$ vectors of
//! $\ell$ lanes. For each $p < k_c$ it loads row $p$ of the $\tilde B$ micro-panel ($n_r$
//! contiguous values, $n_r/\ell$ vector loads), broadcasts each of the $m_r$ values of column $p$
//! of the $\tilde A$ micro-panel, and issues $m_r n_r / \ell$ fused multiply-adds:
//!
//! $$ \mathrm{acc}_{ij} \leftarrow \operatorname{fma}(\tilde a_{ip}, \tilde b_{pj}, \mathrm{acc}_{ij}),
//! \qquad p = 0, 1, \dots, k_c - 1, $$
//!
//! one FMA chain per element in the order of $p$. The tile is then written back as
//! $c_{ij} \leftarrow \alpha\,\mathrm{acc}_{ij} + \beta\,c_{ij}$ (a multiply and an add, rounded
//! separately; $\alpha = 1$ skips the multiply, $\beta = 0$ never reads $C$, so a NaN there does
//! not leak into the result, as BLAS specifies).
//!
//! | kernel | $m_r \times n_r$ | accumulators | loads per $p$ | FMAs per $p$ |
//! |---|---|---|---|---|
//! | AVX-512F f32 | 8 × 48 | 24 zmm | 3 + 8 broadcasts | 24 |
//! | AVX-512F f64 | 8 × 24 | 24 zmm | 3 + 8 broadcasts | 24 |
//! | AVX2+FMA f32 | 6 × 16 | 12 ymm | 2 + 6 broadcasts | 12 |
//! | AVX2+FMA f64 | 6 × 8 | 12 ymm | 2 + 6 broadcasts | 12 |
//!
//! Each has narrower siblings of the same $m_r$ (one and two vectors wide) for the last column
//! panel ([`Kernel::narrow`]). An element's FMA chain is the same in any of them.
//!
//! 24 (12) independent accumulators cover the FMA latency (4 cycles) times the FMA ports (2)
//! three (1.5) times over, and leave registers for the $\tilde B$ row and the broadcast: 24 + 3 + 1
//! of AVX-512's 32, 12 + 2 + 1 of AVX2's 16. $m_r = 8$ divides the batch sizes and channel counts
//! the models use (32, 64, 128), so their products have no partial row tiles. The kernel asks for
//! the $\tilde A$ line 16 iterations ahead ($\tilde A$ streams from L2) and for the C tile's lines
//! before its loop. The layout of the packed panels is [`super::pack`]'s.
//!
//! **Measured** (a throw-away probe whose kernel part is now `examples/gemm_kernels.rs`, one
//! thread, this crate's Zen 5 machine, FMA peak 237–250 GFLOP/s measured beside it, before the
//! driver took its present form): with both panels in L1 ($k_c = 192$, 20,000 calls, best
//! of 20) the 12×32, 8×48 and 6×64 shapes all ran at 222–228 GFLOP/s, 89–96 % of the peak; inside
//! the whole 1024³ GEMM, alternating rounds, 8×48 at $k_c = 128$ gave 194–208 GFLOP/s and 12×32 at
//! $k_c = 192$ 176–192. 8×48 was kept.

/// A micro-kernel: `acc = Ã·B̃` over `kc` (the packed micro-panels `a`, `mr·kc` values, and `b`,
/// `kc·nr` values), then `c[i·rsc + j] = alpha·acc[i][j] + beta·c[i·rsc + j]` for the whole
/// `mr × nr` tile (C's columns contiguous). Partial tiles at the edges of C are computed into a
/// full-size scratch tile (`alpha = 1`, `beta = 0`) and copied by the caller.
///
/// # Safety
/// `a` and `b` hold `mr·kc` and `kc·nr` readable values, `c` an `mr × nr` tile with row stride
/// `rsc`; the ISA of the kernel is present.
pub type MicroKernel<T> =
    unsafe fn(kc: usize, a: *const T, b: *const T, c: *mut T, rsc: isize, alpha: T, beta: T);

/// One micro-kernel with its tile shape.
#[derive(Clone, Copy)]
pub struct Kernel<T: 'static> {
    /// Rows of the tile.
    pub mr: usize,
    /// Columns of the tile.
    pub nr: usize,
    /// The kernel.
    pub run: MicroKernel<T>,
    /// Its name, for reports (`avx512f`, `avx2+fma`).
    pub name: &'static str,
    /// Narrower kernels of the same `mr` for the last column panel, `(width, kernel)` by
    /// increasing width below `nr`: a product whose N leaves `w ≤ width` columns over runs the
    /// narrowest that holds them instead of a full tile of zeros (N = 256 with `nr` = 48: 5 full
    /// panels and one of 16, not 32 wasted columns).
    pub narrow: &'static [(usize, MicroKernel<T>)],
}

impl<T: 'static> Kernel<T> {
    /// The width and kernel for a panel of `cols` columns: the narrowest that holds them.
    pub fn for_cols(&self, cols: usize) -> (usize, MicroKernel<T>) {
        self.narrow.iter().copied().find(|&(w, _)| cols <= w).unwrap_or((self.nr, self.run))
    }
}

/// Defines one micro-kernel for one ISA and element type.
#[cfg(target_arch = "x86_64")]
macro_rules! micro_kernel {
    ($name:ident, $t:ty, $feat:literal, mr = $mr:literal, nv = $nv:literal, lanes = $lanes:literal,
     $zero:ident, $set1:ident, $load:ident, $store:ident, $fma:ident, $mul:ident, $add:ident) => {
        /// A micro-kernel of the module docs' table.
        ///
        /// # Safety
        /// As [`MicroKernel`]; the CPU has the features of `target_feature`.
        #[target_feature(enable = $feat)]
        pub unsafe fn $name(
            kc: usize,
            a: *const $t,
            b: *const $t,
            c: *mut $t,
            rsc: isize,
            alpha: $t,
            beta: $t,
        ) {
            use std::arch::x86_64::*;
            const MR: usize = $mr;
            const NV: usize = $nv;
            const NR: usize = $nv * $lanes;
            const PF: usize = 16;
            let mut acc = [[$zero(); NV]; MR];
            // SAFETY: the caller's contract: `a` has MR·kc values, `b` kc·NR, `c` an MR×NR tile.
            unsafe {
                // The C tile is read (or written) only after the loop: start fetching its lines now.
                for i in 0..MR {
                    let row = c.offset(i as isize * rsc) as *const i8;
                    _mm_prefetch::<_MM_HINT_T0>(row);
                    _mm_prefetch::<_MM_HINT_T0>(row.add(NR * size_of::<$t>() - 1));
                }
                let (mut pa, mut pb) = (a, b);
                for _ in 0..kc {
                    // Ã streams from L2: ask for the line PF iterations ahead.
                    _mm_prefetch::<_MM_HINT_T0>(pa.add(MR * PF) as *const i8);
                    let mut bv = [$zero(); NV];
                    for (v, bv_v) in bv.iter_mut().enumerate() {
                        *bv_v = $load(pb.add(v * $lanes));
                    }
                    for (i, acc_i) in acc.iter_mut().enumerate() {
                        let ai = $set1(*pa.add(i));
                        for (acc_iv, &bv_v) in acc_i.iter_mut().zip(bv.iter()) {
                            *acc_iv = $fma(ai, bv_v, *acc_iv);
                        }
                    }
                    pa = pa.add(MR);
                    pb = pb.add(NR);
                }
                let (va, vb) = ($set1(alpha), $set1(beta));
                for (i, acc_i) in acc.iter().enumerate() {
                    let row = c.offset(i as isize * rsc);
                    for (v, &acc_iv) in acc_i.iter().enumerate() {
                        let t = if alpha == 1.0 { acc_iv } else { $mul(va, acc_iv) };
                        let out = if beta == 0.0 {
                            t
                        } else if beta == 1.0 {
                            $add($load(row.add(v * $lanes)), t)
                        } else {
                            $add($mul(vb, $load(row.add(v * $lanes))), t)
                        };
                        $store(row.add(v * $lanes), out);
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f32_avx512_8x48,
    f32,
    "avx512f",
    mr = 8,
    nv = 3,
    lanes = 16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps,
    _mm512_add_ps
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f64_avx512_8x24,
    f64,
    "avx512f",
    mr = 8,
    nv = 3,
    lanes = 8,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_fmadd_pd,
    _mm512_mul_pd,
    _mm512_add_pd
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f32_avx2_6x16,
    f32,
    "avx2,fma",
    mr = 6,
    nv = 2,
    lanes = 8,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_fmadd_ps,
    _mm256_mul_ps,
    _mm256_add_ps
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f64_avx2_6x8,
    f64,
    "avx2,fma",
    mr = 6,
    nv = 2,
    lanes = 4,
    _mm256_setzero_pd,
    _mm256_set1_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_fmadd_pd,
    _mm256_mul_pd,
    _mm256_add_pd
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f32_avx512_8x16,
    f32,
    "avx512f",
    mr = 8,
    nv = 1,
    lanes = 16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps,
    _mm512_add_ps
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f32_avx512_8x32,
    f32,
    "avx512f",
    mr = 8,
    nv = 2,
    lanes = 16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps,
    _mm512_add_ps
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f64_avx512_8x8,
    f64,
    "avx512f",
    mr = 8,
    nv = 1,
    lanes = 8,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_fmadd_pd,
    _mm512_mul_pd,
    _mm512_add_pd
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f64_avx512_8x16,
    f64,
    "avx512f",
    mr = 8,
    nv = 2,
    lanes = 8,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_fmadd_pd,
    _mm512_mul_pd,
    _mm512_add_pd
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f32_avx2_6x8,
    f32,
    "avx2,fma",
    mr = 6,
    nv = 1,
    lanes = 8,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_fmadd_ps,
    _mm256_mul_ps,
    _mm256_add_ps
);
#[cfg(target_arch = "x86_64")]
micro_kernel!(
    f64_avx2_6x4,
    f64,
    "avx2,fma",
    mr = 6,
    nv = 1,
    lanes = 4,
    _mm256_setzero_pd,
    _mm256_set1_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_fmadd_pd,
    _mm256_mul_pd,
    _mm256_add_pd
);
