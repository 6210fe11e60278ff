//! Property tests: statements that hold for every input, checked on random ones.

use glassgrad::{DType, Generator, Tensor};
use proptest::prelude::*;

fn shape_strategy(max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..5, 0..=max_rank)
}

/// A shape and a second shape broadcast-compatible with it (some dims set to 1, some dropped).
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape_strategy(4)
        .prop_flat_map(|a| {
            let n = a.len();
            (Just(a), prop::collection::vec(any::<bool>(), n), 0..=n)
        })
        .prop_map(|(a, ones, drop)| {
            let b: Vec<usize> = a.iter().zip(&ones).map(|(&s, &o)| if o { 1 } else { s }).collect();
            (a, b[drop..].to_vec())
        })
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap()
}

/// Row-major multi-index of flat position `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

/// Flat position in `shape` of the broadcast multi-index `idx` (aligned right, size-1 dims read 0).
fn ravel_broadcast(idx: &[usize], shape: &[usize]) -> usize {
    let off = idx.len() - shape.len();
    shape.iter().enumerate().fold(0, |acc, (d, &s)| acc * s + if s == 1 { 0 } else { idx[off + d] })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn broadcasting_follows_the_numpy_rule((sa, sb) in broadcast_pair(), seed in 0u64..1000, swap in any::<bool>()) {
        let (sa, sb) = if swap { (sb, sa) } else { (sa, sb) };
        let (a, b) = (randn(&sa, seed), randn(&sb, seed + 1));
        let c = a.add(&b).unwrap();
        let rank = sa.len().max(sb.len());
        let pad = |s: &[usize]| -> Vec<usize> { let mut v = vec![1; rank - s.len()]; v.extend_from_slice(s); v };
        let want_shape: Vec<usize> = pad(&sa).iter().zip(pad(&sb)).map(|(&x, y)| x.max(y)).collect();
        prop_assert_eq!(c.shape(), want_shape.clone());
        let (va, vb, vc) = (a.to_f64_vec(), b.to_f64_vec(), c.to_f64_vec());
        for (i, &got) in vc.iter().enumerate() {
            let idx = unravel(i, &want_shape);
            prop_assert_eq!(got, va[ravel_broadcast(&idx, &sa)] + vb[ravel_broadcast(&idx, &sb)]);
        }
    }

    #[test]
    fn matmul_is_associative(m in 1usize..6, k in 1usize..6, l in 1usize..6, n in 1usize..6, seed in 0u64..1000) {
        let (a, b, c) = (randn(&[m, k], seed), randn(&[k, l], seed + 1), randn(&[l, n], seed + 2));
        let left = a.matmul(&b).unwrap().matmul(&c).unwrap().to_f64_vec();
        let right = a.matmul(&b.matmul(&c).unwrap()).unwrap().to_f64_vec();
        for (x, y) in left.iter().zip(&right) {
            prop_assert!((x - y).abs() <= 1e-10 * (1.0 + x.abs()), "{} vs {}", x, y);
        }
    }

    #[test]
    fn gradient_of_a_sum_is_ones(shape in shape_strategy(4), seed in 0u64..1000) {
        let x = randn(&shape, seed).requires_grad_().unwrap();
        x.sum().unwrap().backward().unwrap();
        prop_assert!(x.grad().unwrap().to_f64_vec().iter().all(|&g| g == 1.0));
    }

    #[test]
    fn sums_over_every_dim_in_any_grouping_agree(shape in shape_strategy(4), seed in 0u64..1000) {
        let x = randn(&shape, seed);
        let total = x.sum().unwrap().item().unwrap();
        let mut y = x.clone();
        while y.dims() > 0 {
            y = y.sum_dim(0, false).unwrap();
        }
        let stepwise = y.item().unwrap();
        prop_assert!((total - stepwise).abs() <= 1e-10 * (1.0 + total.abs()));
    }

    #[test]
    fn views_round_trip(shape in prop::collection::vec(1usize..5, 2..=4), seed in 0u64..1000) {
        let x = randn(&shape, seed);
        let r = x.dims();
        let perm: Vec<usize> = (0..r).rev().collect();
        let back = x.permute(&perm).unwrap().permute(&perm).unwrap();
        prop_assert_eq!(back.to_f64_vec(), x.to_f64_vec());
        let tt = x.transpose(0, -1).unwrap().transpose(0, -1).unwrap();
        prop_assert_eq!(tt.to_f64_vec(), x.to_f64_vec());
        let flat = x.reshape(&[-1]).unwrap().reshape_usize(&shape).unwrap();
        prop_assert_eq!(flat.to_f64_vec(), x.to_f64_vec());
        // A transposed view reshaped copies into row-major order of the view.
        let tr = x.transpose(0, 1).unwrap();
        let flat_t = tr.reshape(&[-1]).unwrap().to_f64_vec();
        prop_assert_eq!(flat_t, tr.contiguous().unwrap().to_f64_vec());
    }

    #[test]
    fn sub_is_add_of_negation((sa, sb) in broadcast_pair(), seed in 0u64..1000) {
        let (a, b) = (randn(&sa, seed), randn(&sb, seed + 7));
        prop_assert_eq!(a.sub(&b).unwrap().to_f64_vec(), a.add(&b.neg().unwrap()).unwrap().to_f64_vec());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn softmax_rows_sum_to_one_and_log_softmax_is_its_log(
        rows in 1usize..5, cols in 1usize..9, scale in prop::sample::select(vec![1.0, 30.0, 1000.0]), seed in 0u64..1000,
    ) {
        let x = randn(&[rows, cols], seed).mul_scalar(scale).unwrap();
        let s = x.softmax(-1).unwrap();
        let ls = x.log_softmax(-1).unwrap().to_f64_vec();
        let sv = s.to_f64_vec();
        for r in 0..rows {
            let sum: f64 = sv[r * cols..(r + 1) * cols].iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-12, "row {} sums to {}", r, sum);
        }
        for (p, lp) in sv.iter().zip(&ls) {
            prop_assert!(lp.is_finite() && *lp <= 0.0);
            if *p > 1e-300 {
                prop_assert!((p.ln() - lp).abs() < 1e-9 * (1.0 + lp.abs()), "{} vs {}", p.ln(), lp);
            }
        }
    }

    #[test]
    fn sort_is_a_permutation_in_order(n in 1usize..40, seed in 0u64..1000, descending in any::<bool>()) {
        let x = Tensor::randint(&[n], -5, 5, &mut Generator::new(seed)).unwrap().to_dtype(DType::F64).unwrap();
        let (values, indices) = x.sort(0, descending).unwrap();
        let (v, idx, orig) = (values.to_f64_vec(), indices.to_vec::<i64>().unwrap(), x.to_f64_vec());
        let mut seen = vec![false; n];
        for (k, &i) in idx.iter().enumerate() {
            prop_assert!(!seen[i as usize]);
            seen[i as usize] = true;
            prop_assert_eq!(v[k], orig[i as usize]);
        }
        for w in v.windows(2) {
            let ordered = if descending { w[0] >= w[1] } else { w[0] <= w[1] };
            prop_assert!(ordered, "{:?} out of order", w);
        }
        // Stable: equal values keep their original order.
        for k in 1..n {
            if v[k] == v[k - 1] {
                prop_assert!(idx[k] > idx[k - 1]);
            }
        }
    }

    #[test]
    fn cross_entropy_equals_mean_negative_log_softmax_at_target(n in 1usize..6, c in 2usize..7, seed in 0u64..1000) {
        use glassgrad::ops::loss::Reduction;
        let x = randn(&[n, c], seed);
        let t: Vec<i64> = (0..n).map(|i| ((i * 7 + seed as usize) % c) as i64).collect();
        let target = Tensor::from_vec(t.clone(), &[n]).unwrap();
        let ce = x.cross_entropy(&target, Reduction::Mean).unwrap().item().unwrap();
        let ls = x.log_softmax(-1).unwrap().to_f64_vec();
        let want = -(0..n).map(|i| ls[i * c + t[i] as usize]).sum::<f64>() / n as f64;
        prop_assert!((ce - want).abs() < 1e-12 * (1.0 + want.abs()));
    }

    #[test]
    fn cat_then_split_round_trips(a in 1usize..4, b in 1usize..4, w in 1usize..4, seed in 0u64..1000) {
        let (x, y) = (randn(&[a, w], seed), randn(&[b, w], seed + 1));
        let c = Tensor::cat(&[x.clone(), y.clone()], 0).unwrap();
        prop_assert_eq!(c.narrow(0, 0, a).unwrap().to_f64_vec(), x.to_f64_vec());
        prop_assert_eq!(c.narrow(0, a, b).unwrap().to_f64_vec(), y.to_f64_vec());
    }
}
