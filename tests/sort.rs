//! sort and topk: PyTorch's values (from `tests/torch/stats_sort_compare.py`), stability, NaN
//! order, f64 gradchecks, the parallel path, errors.

use glassgrad::{DType, Generator, Tensor, gradcheck};

fn t64(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

/// Equal as bit patterns, except that any NaN equals any NaN.
fn assert_same(got: &[f64], want: &[f64]) {
    let same =
        got.len() == want.len() && got.iter().zip(want).all(|(g, w)| g == w || (g.is_nan() && w.is_nan()));
    assert!(same, "got {got:?}, want {want:?}");
}

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

// s = torch.tensor([[3., 1., nan, 1., -2., 3.], [0.5, -0.5, 0.5, 7., nan, -inf]])
fn s26() -> Tensor {
    t64(&[3.0, 1.0, NAN, 1.0, -2.0, 3.0, 0.5, -0.5, 0.5, 7.0, NAN, -INF], &[2, 6])
}

#[test]
fn sort_matches_pytorch_stable_sort() {
    let s = s26();
    // v, i = s.sort(dim=1, stable=True)
    // v -> [[-2., 1., 1., 3., 3., nan], [-inf, -0.5, 0.5, 0.5, 7., nan]]
    // i -> [[4, 1, 3, 0, 5, 2], [5, 1, 0, 2, 3, 4]]
    let (v, i) = s.sort(1, false).unwrap();
    assert_same(&v.to_f64_vec(), &[-2.0, 1.0, 1.0, 3.0, 3.0, NAN, -INF, -0.5, 0.5, 0.5, 7.0, NAN]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![4, 1, 3, 0, 5, 2, 5, 1, 0, 2, 3, 4]);
    // v, i = s.sort(dim=1, descending=True, stable=True)
    // v -> [[nan, 3., 3., 1., 1., -2.], [nan, 7., 0.5, 0.5, -0.5, -inf]]
    // i -> [[2, 0, 5, 1, 3, 4], [4, 3, 0, 2, 1, 5]]
    let (v, i) = s.sort(-1, true).unwrap();
    assert_same(&v.to_f64_vec(), &[NAN, 3.0, 3.0, 1.0, 1.0, -2.0, NAN, 7.0, 0.5, 0.5, -0.5, -INF]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![2, 0, 5, 1, 3, 4, 4, 3, 0, 2, 1, 5]);
    // f32 gives the same order.
    let (v, i) = s.to_dtype(DType::F32).unwrap().sort(1, false).unwrap();
    assert_eq!(v.dtype(), DType::F32);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![4, 1, 3, 0, 5, 2, 5, 1, 0, 2, 3, 4]);
}

#[test]
fn sort_along_the_first_dim_and_of_integers() {
    // s0 = torch.tensor([[4., 1.], [2., 3.], [2., 0.]]); s0.sort(dim=0, stable=True)
    // values [[2., 0.], [2., 1.], [4., 3.]], indices [[1, 2], [2, 0], [0, 1]]
    let (v, i) = t64(&[4.0, 1.0, 2.0, 3.0, 2.0, 0.0], &[3, 2]).sort(0, false).unwrap();
    assert_eq!(v.to_vec::<f64>().unwrap(), vec![2.0, 0.0, 2.0, 1.0, 4.0, 3.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 2, 2, 0, 0, 1]);
    // torch.tensor([5, -3, 5, 0, 2]).sort(descending=True, stable=True)
    // values [5, 5, 2, 0, -3], indices [0, 2, 4, 3, 1]
    let (v, i) = Tensor::from_vec(vec![5i64, -3, 5, 0, 2], &[5]).unwrap().sort(0, true).unwrap();
    assert_eq!(v.to_vec::<i64>().unwrap(), vec![5, 5, 2, 0, -3]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![0, 2, 4, 3, 1]);
}

#[test]
fn topk_matches_pytorch() {
    // k = torch.tensor([[0.3, 2.5, -1., 4., 1.5], [9., -3., 0., 2., 8.]])
    let k = t64(&[0.3, 2.5, -1.0, 4.0, 1.5, 9.0, -3.0, 0.0, 2.0, 8.0], &[2, 5]);
    // k.topk(3, dim=1) -> values [[4., 2.5, 1.5], [9., 8., 2.]], indices [[3, 1, 4], [0, 4, 3]]
    let (v, i) = k.topk(3, 1, true, true).unwrap();
    assert_eq!(v.shape(), vec![2, 3]);
    assert_eq!(v.to_vec::<f64>().unwrap(), vec![4.0, 2.5, 1.5, 9.0, 8.0, 2.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![3, 1, 4, 0, 4, 3]);
    // k.topk(2, dim=1, largest=False) -> values [[-1., 0.3], [-3., 0.]], indices [[2, 0], [1, 2]]
    let (v, i) = k.topk(2, -1, false, true).unwrap();
    assert_eq!(v.to_vec::<f64>().unwrap(), vec![-1.0, 0.3, -3.0, 0.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![2, 0, 1, 2]);
    // k.topk(1, dim=0) -> values [[9., 2.5, 0., 4., 8.]], indices [[1, 0, 1, 0, 1]]
    let (v, i) = k.topk(1, 0, true, true).unwrap();
    assert_eq!(v.shape(), vec![1, 5]);
    assert_eq!(v.to_vec::<f64>().unwrap(), vec![9.0, 2.5, 0.0, 4.0, 8.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 0, 1, 0, 1]);
    // Unsorted: the same three elements in input order.
    let (v, i) = k.topk(3, 1, true, false).unwrap();
    assert_eq!(v.to_vec::<f64>().unwrap(), vec![2.5, 4.0, 1.5, 9.0, 2.0, 8.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 3, 4, 0, 3, 4]);
    // k = 0 and k = n are fine.
    assert_eq!(k.topk(0, 1, true, true).unwrap().0.shape(), vec![2, 0]);
    let (v, _) = k.topk(5, 1, false, true).unwrap();
    assert_eq!(v.to_vec::<f64>().unwrap(), k.sort(1, false).unwrap().0.to_vec::<f64>().unwrap());
}

#[test]
fn topk_ties_go_to_the_earlier_index_and_nan_is_largest() {
    let x = t64(&[1.0, 2.0, 2.0, NAN, 2.0], &[5]);
    let (v, i) = x.topk(3, 0, true, true).unwrap();
    assert_same(&v.to_f64_vec(), &[NAN, 2.0, 2.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![3, 1, 2]);
    let (v, i) = x.topk(2, 0, false, true).unwrap();
    assert_eq!(v.to_vec::<f64>().unwrap(), vec![1.0, 2.0]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![0, 1]);
    let (v, i) = Tensor::from_vec(vec![4i64, 9, 4, 9], &[4]).unwrap().topk(2, 0, true, true).unwrap();
    assert_eq!((v.to_vec::<i64>().unwrap(), i.to_vec::<i64>().unwrap()), (vec![9, 9], vec![1, 3]));
}

#[test]
fn gradients_scatter_back_through_the_indices() {
    let x = t64(&[3.0, 1.0, 2.0], &[3]).requires_grad_().unwrap();
    let (v, _) = x.sort(0, false).unwrap(); // [1, 2, 3] from [1, 2, 0]
    v.backward_with(&t64(&[10.0, 20.0, 30.0], &[3])).unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![30.0, 10.0, 20.0]);
    x.zero_grad();
    let (v, _) = x.topk(2, 0, true, true).unwrap(); // [3, 2] from [0, 2]
    v.backward_with(&t64(&[5.0, 7.0], &[2])).unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![5.0, 0.0, 7.0]);
}

#[test]
fn sort_and_topk_gradcheck() {
    let x = Tensor::randn(&[3, 4, 5], DType::F64, &mut Generator::new(11)).unwrap().requires_grad_().unwrap();
    for dim in [0isize, 1, -1] {
        for descending in [false, true] {
            let r = gradcheck(|xs| Ok(xs[0].sort(dim, descending)?.0), std::slice::from_ref(&x)).unwrap();
            assert!(r.passed, "sort dim {dim}: {r}");
        }
        for (largest, sorted) in [(true, true), (false, true), (true, false)] {
            let r =
                gradcheck(|xs| Ok(xs[0].topk(2, dim, largest, sorted)?.0), std::slice::from_ref(&x)).unwrap();
            assert!(r.passed, "topk dim {dim}: {r}");
        }
    }
}

#[test]
fn large_sorts_are_sorted_permutations_on_the_parallel_path() {
    // 300 × 200 = 60,000 elements: above the parallel threshold; sorted along the strided dim 0.
    let (rows, cols) = (300usize, 200usize);
    let x = Tensor::randn(&[rows, cols], DType::F32, &mut Generator::new(5)).unwrap();
    let xv = x.to_vec::<f32>().unwrap();
    let (v, i) = x.sort(0, true).unwrap();
    let (v, i) = (v.to_vec::<f32>().unwrap(), i.to_vec::<i64>().unwrap());
    for c in 0..cols {
        let mut seen = vec![false; rows];
        for r in 0..rows {
            let src = i[r * cols + c] as usize;
            assert!(!seen[src]);
            seen[src] = true;
            assert_eq!(v[r * cols + c], xv[src * cols + c]);
            if r > 0 {
                assert!(v[(r - 1) * cols + c] >= v[r * cols + c]);
            }
        }
    }
    // topk on the same tensor agrees with the sort's first rows.
    let (tv, _) = x.topk(7, 0, true, true).unwrap();
    assert_eq!(tv.to_vec::<f32>().unwrap(), v[..7 * cols].to_vec());
}

#[test]
fn bad_input_is_an_error_naming_op_and_shape() {
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let e = x.topk(4, 1, true, true).unwrap_err().to_string();
    assert!(e.contains("topk") && e.contains("[2, 3]") && e.contains("k = 4"), "{e}");
    let e = x.sort(2, false).unwrap_err().to_string();
    assert!(e.contains("sort") && e.contains("[2, 3]"), "{e}");
    let e = x.topk(1, -3, true, true).unwrap_err().to_string();
    assert!(e.contains("topk") && e.contains("[2, 3]"), "{e}");
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    let e = b.sort(0, false).unwrap_err().to_string();
    assert!(e.contains("sort") && e.contains("bool"), "{e}");
}
