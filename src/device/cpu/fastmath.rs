//! Vectorisable f32 $e^x$, $\sigma(x)$ and $\tanh x$ for the recurrent cells' and the softmax
//! family's hot loops.
//!
//! The C library's `tanhf` is a scalar call with branches, which keeps a loop over the $4H$ gates
//! of an LSTM step from being vectorised: measured on this crate's machines, `tanh` of 819,200
//! values (one `lstm_fwd` bench case's cells) took 72 ms with libm against 20 ms with the code
//! below (both scalar-compiled for the baseline x86-64 target). The functions here are branch-free
//! arithmetic that the compiler turns into SIMD:
//!
//! * $e^x$: $x = n \ln 2 + r$ with $n = \mathrm{round}(x / \ln 2)$ (by the $1.5 \cdot 2^{23}$
//!   shifter) and $r = (x - n\,\ell_{hi}) - n\,\ell_{lo}$ (Cody–Waite: $\ell_{hi} + \ell_{lo} =
//!   \ln 2$, $n\,\ell_{hi}$ exact), $|r| \le \tfrac12 \ln 2$; then $e^r \approx \sum_{k=0}^{7}
//!   r^k / k!$ (truncation below $4 \cdot 10^{-9}$ relative) and $e^x = 2^n e^r$ with $2^n$ built
//!   from its exponent bits. $x > 88$ gives $+\infty$ and $x < -87$ gives $0$ (libm gives
//!   subnormals down to $-103.9$: below $1.2 \cdot 10^{-38}$ this flushes to zero), $-\infty$
//!   gives $0$ and NaN gives NaN.
//! * $\sigma(x) = 1 / (1 + e^{-x})$.
//! * $\tanh x$: for $|x| < \tfrac14$ the odd Taylor polynomial to $x^{11}$ (next term below
//!   $10^{-9}$ relative); else $\operatorname{sign}(x)\,(1 - e)/(1 + e)$ with $e = e^{-2|x|} \le
//!   0.61$, where $1 - e \ge 0.39$ loses no accuracy.
//!
//! Accuracy (tested below against f64): $\sigma$ and $\tanh$ within 3 units of $2^{-24}$ relative
//! over $[-30, 30]$, as libm's `tanhf` (2.5 on the same sweep); $e^x$ within 2 units over
//! $[-87, 88]$; $\pm 0$, $\pm\infty$ and NaN behave as libm. f64 keeps libm:
//! [`crate::device::cpu::float::CpuFloat`]'s `exp_slice`/`sigmoid_slice`/`tanh_slice` use these
//! for f32 only.
//!
//! **Width.** The crate is compiled for the baseline x86-64 target (SSE2: 4 lanes). The slice
//! functions ([`exp_slice_f32`], [`sigmoid_slice_f32`], [`tanh_slice_f32`]) run the same code
//! compiled for AVX2 (8 lanes) when the processor has it, chosen at run time. The arithmetic is
//! the same operations in the same order (Rust never fuses a multiply and an add on its own), so
//! the results are bit-identical on every machine; only the width changes.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// $\ln 2$ split so that $n\,\ell_{hi}$ is exact for the $|n| \le 127$ used here.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// $e^x$ in f32 (module docs).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const SHIFTER: f32 = 12_582_912.0; // 1.5 * 2^23: x + SHIFTER - SHIFTER rounds x to an integer
    let t = x * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n for -127 < n < 128 (the cases outside are replaced just below). The integer n is read
    // from the bits of t, whose last mantissa bits hold it (t is in [2^23, 2^24), where one unit
    // in the last place is 1): integer arithmetic that vectorises, where `n as i32` (a saturating
    // conversion) does not. Same value as `n as i32` for every x that reaches `y`.
    let k = (t.to_bits() as i32).wrapping_sub(SHIFTER.to_bits() as i32);
    let scale = f32::from_bits((k.wrapping_add(127).clamp(1, 254) as u32) << 23);
    let y = p * scale;
    if x > 88.0 {
        f32::INFINITY
    } else if x < -87.0 {
        0.0
    } else {
        y
    }
}

/// $\sigma(x) = 1 / (1 + e^{-x})$ in f32 (module docs).
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// $\tanh x$ in f32 (module docs).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let x2 = x * x;
    let small = x
        * (1.0
            + x2 * (-1.0 / 3.0
                + x2 * (2.0 / 15.0
                    + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0 + x2 * (-1382.0 / 155_925.0))))));
    let e = exp_f32(-2.0 * a);
    let large = ((1.0 - e) / (1.0 + e)).copysign(x);
    if a < 0.25 { small } else { large }
}

/// Runs `$f` over every element of a slice, compiled three times: for AVX-512F and for AVX2
/// (chosen at run time, best first, when the processor has them) and for the baseline target.
/// The three run the same IEEE operations in the same order (no FMA contraction: Rust never
/// fuses `a * b + c`), so they give the same bits; only the vector width differs.
macro_rules! slice_fn {
    ($(#[$doc:meta])* $name:ident, $avx2:ident, $avx512:ident, $f:ident) => {
        $(#[$doc])*
        pub fn $name(v: &mut [f32]) {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: AVX-512F was just detected on this processor.
                    return unsafe { $avx512(v) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 was just detected on this processor.
                    return unsafe { $avx2(v) };
                }
            }
            for x in v {
                *x = $f(*x);
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2(v: &mut [f32]) {
            for x in v {
                *x = $f(*x);
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn $avx512(v: &mut [f32]) {
            for x in v {
                *x = $f(*x);
            }
        }
    };
}

slice_fn!(
    /// $v_i \leftarrow e^{v_i}$ for every element.
    exp_slice_f32,
    exp_slice_avx2,
    exp_slice_avx512,
    exp_f32
);
slice_fn!(
    /// $v_i \leftarrow \sigma(v_i)$ for every element.
    sigmoid_slice_f32,
    sigmoid_slice_avx2,
    sigmoid_slice_avx512,
    sigmoid_f32
);
slice_fn!(
    /// $v_i \leftarrow \tanh v_i$ for every element.
    tanh_slice_f32,
    tanh_slice_avx2,
    tanh_slice_avx512,
    tanh_f32
);

/// One softmax row, $y_i = e^{x_i - m} / \sum_k e^{x_k - m}$ with $m = \max_k x_k$: the max, the
/// shifted exponentials stored in $y$, their sum, the division, all four passes compiled for one
/// vector width (the row sits in L1). The maximum skips NaNs as `CpuFloat::max_slice` does and the sum
/// keeps `CpuFloat::sum_slice`'s order (8 interleaved partial sums, then the tail), so the bits
/// are those of the three separate slice passes; compiled for AVX-512F, AVX2 and the baseline
/// as [`exp_slice_f32`] is.
pub fn softmax_row_f32(x: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was just detected on this processor.
            return unsafe { softmax_row_avx512(x, y) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was just detected on this processor.
            return unsafe { softmax_row_avx2(x, y) };
        }
    }
    softmax_row(x, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn softmax_row_avx512(x: &[f32], y: &mut [f32]) {
    softmax_row(x, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn softmax_row_avx2(x: &[f32], y: &mut [f32]) {
    softmax_row(x, y)
}

#[inline(always)]
fn softmax_row(x: &[f32], y: &mut [f32]) {
    let y = &mut y[..x.len()];
    let mut mx = [f32::NEG_INFINITY; 8];
    let xc = x.chunks_exact(8);
    let xt = xc.remainder();
    for c in xc {
        for (m_j, &v) in mx.iter_mut().zip(c) {
            *m_j = if v > *m_j { v } else { *m_j };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &v in mx.iter().chain(xt) {
        m = if v > m { v } else { m };
    }
    // A plain map (as in `exp_slice_f32`), which the compiler vectorises at the target's width;
    // fusing the sum into it kept `exp_f32` scalar (measured: 3.3× slower).
    for (y_j, &x_j) in y.iter_mut().zip(x) {
        *y_j = exp_f32(x_j - m);
    }
    let mut s = [0.0f32; 8];
    let yc = y.chunks_exact(8);
    let yt = yc.remainder();
    for c in yc {
        for (s_j, &v) in s.iter_mut().zip(c) {
            *s_j += v;
        }
    }
    let mut sum = 0.0f32;
    for &v in s.iter().chain(yt) {
        sum += v;
    }
    for y_j in y.iter_mut() {
        *y_j /= sum;
    }
}

/// $\sum_k e^{x_k - m}$ without storing the terms, for log-sum-exp: blocks of
/// [`SUM_EXP_BLOCK`] shifted values exponentiated in a stack buffer, each block summed with
/// `CpuFloat::sum_slice`'s order (8 interleaved partial sums, then the tail), the block sums added
/// in order — the bits of the separate slice passes — compiled for AVX-512F, AVX2 and the
/// baseline as [`exp_slice_f32`] is.
pub fn sum_exp_shifted_f32(x: &[f32], m: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was just detected on this processor.
            return unsafe { sum_exp_shifted_avx512(x, m) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was just detected on this processor.
            return unsafe { sum_exp_shifted_avx2(x, m) };
        }
    }
    sum_exp_shifted(x, m)
}

/// Elements per block of [`sum_exp_shifted_f32`]: 1 KiB of f32, well inside L1.
pub const SUM_EXP_BLOCK: usize = 256;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_exp_shifted_avx512(x: &[f32], m: f32) -> f32 {
    sum_exp_shifted(x, m)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_exp_shifted_avx2(x: &[f32], m: f32) -> f32 {
    sum_exp_shifted(x, m)
}

#[inline(always)]
fn sum_exp_shifted(x: &[f32], m: f32) -> f32 {
    let mut buf = [0.0f32; SUM_EXP_BLOCK];
    let mut total = 0.0f32;
    for c in x.chunks(SUM_EXP_BLOCK) {
        let b = &mut buf[..c.len()];
        for (b_k, &x_k) in b.iter_mut().zip(c) {
            *b_k = exp_f32(x_k - m);
        }
        let mut s = [0.0f32; 8];
        let bc = b.chunks_exact(8);
        let bt = bc.remainder();
        for ch in bc {
            for (s_j, &v) in s.iter_mut().zip(ch) {
                *s_j += v;
            }
        }
        let mut sum = 0.0f32;
        for &v in s.iter().chain(bt) {
            sum += v;
        }
        total += sum;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest relative error over a fine sweep of [-30, 30], in units of 2^-24.
    fn worst(f: fn(f32) -> f32, reference: fn(f64) -> f64) -> f64 {
        let mut worst = 0.0f64;
        let mut x = -30.0f32;
        while x < 30.0 {
            let (got, want) = (f(x) as f64, reference(x as f64));
            if want != 0.0 {
                worst = worst.max((got - want).abs() / want.abs() / 2f64.powi(-24));
            }
            x += 0.000_37;
        }
        worst
    }

    #[test]
    fn sigmoid_and_tanh_are_within_three_units_of_f64() {
        let s = worst(sigmoid_f32, |x| 1.0 / (1.0 + (-x).exp()));
        let t = worst(tanh_f32, f64::tanh);
        assert!(s < 3.0, "sigmoid: {s}");
        assert!(t < 3.0, "tanh: {t}");
        // Near the tanh branch point and at tiny arguments.
        for x in [0.249_999_98f32, 0.25, -0.25, 1e-3, -1e-20, 3.0e-8] {
            let want = (x as f64).tanh();
            assert!(((tanh_f32(x) as f64 - want) / want).abs() < 3.0 * 2f64.powi(-24), "{x}");
        }
    }

    #[test]
    fn exp_is_within_two_units_of_f64() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp_f32(x) as f64, (x as f64).exp());
            worst = worst.max((got - want).abs() / want / 2f64.powi(-24));
            x += 0.000_91;
        }
        assert!(worst < 2.0, "exp: {worst} units of 2^-24");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn slice_functions_equal_the_scalar_ones_bit_for_bit() {
        // Whatever width the processor picks, every element is the scalar function's value.
        let xs: Vec<f32> = (0..1003).map(|i| (i as f32 - 501.0) * 0.173).collect();
        for (slice_f, f) in [
            (exp_slice_f32 as fn(&mut [f32]), exp_f32 as fn(f32) -> f32),
            (sigmoid_slice_f32, sigmoid_f32),
            (tanh_slice_f32, tanh_f32),
        ] {
            let mut v = xs.clone();
            slice_f(&mut v);
            for (got, &x) in v.iter().zip(&xs) {
                assert_eq!(got.to_bits(), f(x).to_bits(), "x = {x}");
            }
        }
        // And each compiled width on its own, where the processor runs it.
        #[cfg(target_arch = "x86_64")]
        {
            type Variant = unsafe fn(&mut [f32]);
            type Named = (Variant, fn(f32) -> f32, &'static str);
            let mut variants: Vec<Named> = Vec::new();
            if std::arch::is_x86_feature_detected!("avx2") {
                variants.extend([
                    (exp_slice_avx2 as Variant, exp_f32 as fn(f32) -> f32, "exp avx2"),
                    (sigmoid_slice_avx2, sigmoid_f32, "sigmoid avx2"),
                    (tanh_slice_avx2, tanh_f32, "tanh avx2"),
                ]);
            } else {
                eprintln!("SKIPPED: no AVX2 on this processor, its slice functions not compared");
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                variants.extend([
                    (exp_slice_avx512 as Variant, exp_f32 as fn(f32) -> f32, "exp avx512"),
                    (sigmoid_slice_avx512, sigmoid_f32, "sigmoid avx512"),
                    (tanh_slice_avx512, tanh_f32, "tanh avx512"),
                ]);
            } else {
                eprintln!("SKIPPED: no AVX-512F on this processor, its slice functions not compared");
            }
            for (slice_f, f, name) in variants {
                let mut v = xs.clone();
                // SAFETY: the feature was detected above.
                unsafe { slice_f(&mut v) };
                for (got, &x) in v.iter().zip(&xs) {
                    assert_eq!(got.to_bits(), f(x).to_bits(), "{name}: x = {x}");
                }
            }
        }
    }

    #[test]
    fn special_values_behave_as_libm() {
        assert_eq!(tanh_f32(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh_f32(100.0), 1.0);
        assert!(tanh_f32(f32::NAN).is_nan() && sigmoid_f32(f32::NAN).is_nan());
        assert_eq!(sigmoid_f32(0.0), 0.5);
        assert_eq!(sigmoid_f32(f32::INFINITY), 1.0);
        assert_eq!(sigmoid_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid_f32(-200.0), 0.0);
        assert_eq!(sigmoid_f32(200.0), 1.0);
    }
}
