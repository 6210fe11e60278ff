//! The packed GEMM (`device::cpu::gemm`) against `matrixmultiply`, its oracle: random shapes
//! (1, primes, sizes around the micro-tiles and the cache blocks), row-major, transposed and
//! strided operands, alpha and beta including 0 and 1, f32 and f64, every kernel family this CPU
//! runs; and bit-identical results for any number of threads.

use glassgrad::device::cpu::gemm::{Blocks, Caches, GemmElem, Isa, gemm_with};
use proptest::prelude::*;

/// A matrix stored with a layout: row-major, transposed (column-major) or strided (every
/// `pad`-th element of a wider buffer, rows `pad`-times longer still).
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    Transposed,
    Strided(usize),
}

/// `rows × cols` values `f(i, j)` stored in `layout`: (buffer, row stride, column stride).
fn store<T: Copy + Default>(
    rows: usize,
    cols: usize,
    layout: Layout,
    f: impl Fn(usize, usize) -> T,
) -> (Vec<T>, isize, isize) {
    let (len, rs, cs) = match layout {
        Layout::RowMajor => (rows * cols, cols, 1),
        Layout::Transposed => (rows * cols, 1, rows),
        Layout::Strided(p) => (rows * cols * p * 2 + 1, cols * p * 2, p),
    };
    let mut buf = vec![T::default(); len.max(1)];
    for i in 0..rows {
        for j in 0..cols {
            buf[i * rs + j * cs] = f(i, j);
        }
    }
    (buf, rs as isize, cs as isize)
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![Just(Layout::RowMajor), Just(Layout::Transposed), (2usize..4).prop_map(Layout::Strided)]
}

/// Sizes that stress the edges: 1, primes, multiples of the micro-tiles and one past them.
fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        prop::sample::select(vec![2usize, 3, 5, 7, 11, 13, 17, 23, 31, 37, 47, 53, 61, 97, 131]),
        prop::sample::select(vec![6usize, 8, 12, 16, 24, 32, 48, 49, 64, 65, 95, 96, 97, 127, 128, 129, 257]),
        1usize..200,
    ]
}

/// The families this CPU runs, best first (always includes the portable one).
fn families() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|i| i.available()).collect()
}

trait Elem: GemmElem + std::fmt::Debug + Into<f64> {
    const EPS: f64;
    fn from_f64(v: f64) -> Self;
}
impl Elem for f32 {
    const EPS: f64 = f32::EPSILON as f64;
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
}
impl Elem for f64 {
    const EPS: f64 = f64::EPSILON;
    fn from_f64(v: f64) -> f64 {
        v
    }
}

/// Deterministic values in [-1, 1) from a seed.
fn value(seed: u64, i: usize, j: usize) -> f64 {
    let mut h = seed
        ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    (h % 2000) as f64 / 1000.0 - 1.0
}

#[allow(clippy::too_many_arguments)]
fn check<T: Elem>(
    m: usize,
    k: usize,
    n: usize,
    la: Layout,
    lb: Layout,
    lc: Layout,
    alpha: f64,
    beta: f64,
    seed: u64,
) -> Result<(), TestCaseError> {
    let (a, rsa, csa) = store(m, k, la, |i, j| T::from_f64(value(seed, i, j)));
    let (b, rsb, csb) = store(k, n, lb, |i, j| T::from_f64(value(seed + 1, i, j)));
    // With beta = 0 the old C is never read: fill it with NaN to prove it.
    let c0 = |i, j| if beta == 0.0 { T::from_f64(f64::NAN) } else { T::from_f64(value(seed + 2, i, j)) };
    let (cbuf, rsc, csc) = store(m, n, lc, c0);
    let (alpha_t, beta_t) = (T::from_f64(alpha), T::from_f64(beta));
    let mut oracle = cbuf.clone();
    unsafe {
        gemm_with(
            Isa::Portable,
            1,
            m,
            k,
            n,
            alpha_t,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta_t,
            oracle.as_mut_ptr(),
            rsc,
            csc,
        )
    };
    // Each side rounds k products and sums: both within about k·eps·Σ|terms| of the exact value.
    let mut tol = vec![0.0f64; cbuf.len()];
    let mut inside = vec![false; cbuf.len()];
    for i in 0..m {
        for j in 0..n {
            let at = (i as isize * rsc + j as isize * csc) as usize;
            let mut mag = 0.0;
            for p in 0..k {
                let x: f64 = a[(i as isize * rsa + p as isize * csa) as usize].into();
                let y: f64 = b[(p as isize * rsb + j as isize * csb) as usize].into();
                mag += (x * y).abs();
            }
            let old: f64 = cbuf[at].into();
            mag = mag * alpha.abs() + if beta == 0.0 { 0.0 } else { (beta * old).abs() };
            tol[at] = 2.0 * (k as f64 + 2.0) * T::EPS * mag + 1e-30;
            inside[at] = true;
        }
    }
    for isa in families() {
        let mut first: Option<Vec<T>> = None;
        for threads in [1usize, 2, 3, 4] {
            let mut c = cbuf.clone();
            unsafe {
                gemm_with(
                    isa,
                    threads,
                    m,
                    k,
                    n,
                    alpha_t,
                    a.as_ptr(),
                    rsa,
                    csa,
                    b.as_ptr(),
                    rsb,
                    csb,
                    beta_t,
                    c.as_mut_ptr(),
                    rsc,
                    csc,
                )
            };
            for (at, ((&x, &want), &old)) in c.iter().zip(&oracle).zip(&cbuf).enumerate() {
                let (got, want, old): (f64, f64, f64) = (x.into(), want.into(), old.into());
                if inside[at] {
                    prop_assert!(
                        got.is_finite() && (got - want).abs() <= tol[at],
                        "{isa:?} threads {threads}: C element {at} = {got}, matrixmultiply {want} (tol {}); {m}x{k}x{n} {la:?} {lb:?} {lc:?} alpha {alpha} beta {beta}",
                        tol[at]
                    );
                } else {
                    // The gaps of a strided C are untouched.
                    prop_assert!(got.to_bits() == old.to_bits(), "{isa:?}: element {at} outside C changed");
                }
            }
            match &first {
                None => first = Some(c),
                Some(f) => prop_assert!(
                    f.iter()
                        .zip(&c)
                        .all(|(x, y)| Into::<f64>::into(*x).to_bits() == Into::<f64>::into(*y).to_bits()),
                    "{isa:?}: {threads} threads differ from 1 thread ({m}x{k}x{n})"
                ),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn f32_matches_matrixmultiply(m in dim(), k in dim(), n in dim(), la in layout(), lb in layout(), lc in layout(),
                                  alpha in prop::sample::select(vec![1.0, -0.5, 2.0]), beta in prop::sample::select(vec![0.0, 1.0, 0.75]), seed in 0u64..1000) {
        check::<f32>(m, k, n, la, lb, lc, alpha, beta, seed)?;
    }

    #[test]
    fn f64_matches_matrixmultiply(m in dim(), k in dim(), n in dim(), la in layout(), lb in layout(), lc in layout(),
                                  alpha in prop::sample::select(vec![1.0, -0.5]), beta in prop::sample::select(vec![0.0, 1.0]), seed in 0u64..1000) {
        check::<f64>(m, k, n, la, lb, lc, alpha, beta, seed)?;
    }
}

/// Depths and row counts just around this machine's cache blocks ($k_c$, $m_c$), where a block
/// boundary falls: several `pc` and `ic` iterations, with a partial last one.
#[test]
fn crossing_the_cache_blocks() {
    for isa in families() {
        let Some(kernel) = f32::kernel(isa) else { continue };
        let blocks = Blocks::derive(Caches::detect(), kernel.mr, kernel.nr, 4);
        for (m, k, n) in [
            (17, blocks.kc + 1, 50),
            (blocks.mc + 3, 2 * blocks.kc - 1, kernel.nr + 1),
            (5, 3 * blocks.kc, 2 * kernel.nr),
        ] {
            check::<f32>(m, k, n, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, 1.0, 1.0, 7).unwrap();
            check::<f32>(m, k, n, Layout::Transposed, Layout::Transposed, Layout::Transposed, 1.0, 0.0, 8)
                .unwrap();
        }
    }
}

/// k = 0 or alpha = 0: C = beta·C, and beta = 0 writes zeros over NaN.
#[test]
fn empty_depth_scales_c() {
    for isa in families() {
        let mut c = vec![f32::NAN, 2.0, 3.0, 4.0];
        unsafe {
            gemm_with(
                isa,
                1,
                2,
                0,
                2,
                1.0f32,
                [].as_ptr(),
                0,
                1,
                [].as_ptr(),
                2,
                1,
                0.0,
                c.as_mut_ptr(),
                2,
                1,
            )
        };
        assert_eq!(c, vec![0.0; 4]);
        let mut c = vec![1.0f64, 2.0, 3.0, 4.0];
        let a = [1.0f64; 6];
        unsafe {
            gemm_with(isa, 1, 2, 3, 2, 0.0f64, a.as_ptr(), 3, 1, a.as_ptr(), 2, 1, 0.5, c.as_mut_ptr(), 2, 1)
        };
        assert_eq!(c, vec![0.5, 1.0, 1.5, 2.0]);
    }
}

/// A known product with exact values: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]].
#[test]
fn small_known_product() {
    for isa in families() {
        let (a, b) = ([1.0f32, 2.0, 3.0, 4.0], [5.0f32, 6.0, 7.0, 8.0]);
        let mut c = [0.0f32; 4];
        unsafe {
            gemm_with(isa, 1, 2, 2, 2, 1.0, a.as_ptr(), 2, 1, b.as_ptr(), 2, 1, 0.0, c.as_mut_ptr(), 2, 1)
        };
        assert_eq!(c, [19.0, 22.0, 43.0, 50.0], "{isa:?}");
    }
}

/// A B packed once (`PackedB`) and reused gives the bits of the plain call, for every family,
/// transposed B (the recurrent W_hhᵀ), shapes with partial panels, several depth blocks, and a
/// strided A and C (the time-step views of the recurrent layers).
#[test]
fn packed_b_reuse_gives_the_same_bits() {
    use glassgrad::device::cpu::gemm::{PackedB, gemm_packed_b};
    for isa in families() {
        for &(m, k, n) in
            &[(64usize, 128usize, 512usize), (5, 300, 77), (1, 1, 1), (33, 129, 49), (200, 64, 16)]
        {
            let a: Vec<f32> = (0..m * k * 2).map(|i| value(3, i, 0) as f32).collect();
            let w: Vec<f32> = (0..n * k).map(|i| value(4, i, 1) as f32).collect(); // n×k, B = Wᵀ
            let c0: Vec<f32> = (0..m * n * 3).map(|i| value(5, i, 2) as f32).collect();
            let packed = unsafe { PackedB::new_with(isa, k, n, w.as_ptr(), 1, k as isize) };
            assert_eq!((packed.k(), packed.n()), (k, n));
            for (beta, rsa, rsc) in [(0.0f32, k as isize, n as isize), (1.0, 2 * k as isize, 3 * n as isize)]
            {
                let (mut plain, mut reused) = (c0.clone(), c0.clone());
                for _ in 0..2 {
                    unsafe {
                        gemm_with(
                            isa,
                            2,
                            m,
                            k,
                            n,
                            1.0,
                            a.as_ptr(),
                            rsa,
                            1,
                            w.as_ptr(),
                            1,
                            k as isize,
                            beta,
                            plain.as_mut_ptr(),
                            rsc,
                            1,
                        );
                        gemm_packed_b(m, 1.0, a.as_ptr(), rsa, 1, &packed, beta, reused.as_mut_ptr(), rsc, 1);
                    }
                }
                assert!(
                    plain.iter().zip(&reused).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{isa:?} {m}x{k}x{n} beta {beta}"
                );
            }
        }
    }
}
