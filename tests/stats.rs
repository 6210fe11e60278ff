//! var, std, max_dim, min_dim, max, min, argmax, argmin: PyTorch's values (from
//! `tests/torch/stats_sort_compare.py`), f64 gradchecks, NaN and tie rules, errors.

use glassgrad::{DType, Generator, Tensor, gradcheck};

fn t64(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn leaf(v: &[f64], shape: &[usize]) -> Tensor {
    t64(v, shape).requires_grad_().unwrap()
}

fn randn_leaf(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap().requires_grad_().unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        let same_nan = g.is_nan() && w.is_nan();
        assert!(same_nan || g == w || (g - w).abs() <= tol * (1.0 + w.abs()), "got {got:?}, want {want:?}");
    }
}

const NAN: f64 = f64::NAN;

// x = torch.tensor([[1., 2., 3., 4.], [2., 4., 6., 9.]], dtype=torch.float64)
fn x24() -> Tensor {
    t64(&[1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 9.0], &[2, 4])
}

#[test]
fn var_and_std_match_pytorch() {
    let x = x24();
    // x.var(dim=1) -> [1.6666666666666667, 8.916666666666666]
    let v = x.var_dims(Some(&[1]), 1, false).unwrap();
    assert_eq!(v.shape(), vec![2]);
    assert_close(&v.to_f64_vec(), &[1.6666666666666667, 8.916666666666666], 1e-15);
    // x.var(dim=1, correction=0, keepdim=True) -> [[1.25], [6.6875]]
    let v = x.var_dims(Some(&[-1]), 0, true).unwrap();
    assert_eq!(v.shape(), vec![2, 1]);
    assert_close(&v.to_f64_vec(), &[1.25, 6.6875], 1e-15);
    // x.var(dim=0) -> [0.5, 2.0, 4.5, 12.5]
    assert_close(&x.var_dims(Some(&[0]), 1, false).unwrap().to_f64_vec(), &[0.5, 2.0, 4.5, 12.5], 1e-15);
    // x.var() -> 6.696428571428571 ; x.std() -> 2.5877458475338284
    let v = x.var().unwrap();
    assert_eq!(v.shape(), Vec::<usize>::new());
    assert_close(&v.to_f64_vec(), &[6.696428571428571], 1e-15);
    assert_close(&x.std().unwrap().to_f64_vec(), &[2.5877458475338284], 1e-15);
    // x.std(dim=1, correction=0) -> [1.118033988749895, 2.5860201081971503]
    assert_close(
        &x.std_dims(Some(&[1]), 0, false).unwrap().to_f64_vec(),
        &[1.118033988749895, 2.5860201081971503],
        1e-15,
    );
    // x.float().var(dim=1) -> [1.6666666269302368, 8.916666984558105]
    let v32 = x.to_dtype(DType::F32).unwrap().var_dims(Some(&[1]), 1, false).unwrap();
    assert_eq!(v32.dtype(), DType::F32);
    assert_eq!(v32.to_f64_vec(), vec![1.6666666269302368, 8.916666984558105]); // f32 → f64 is exact
}

#[test]
fn var_with_no_degrees_of_freedom_divides_by_zero_like_pytorch() {
    // torch.tensor([5.]).var() -> nan
    assert!(t64(&[5.0], &[1]).var().unwrap().item().unwrap().is_nan());
    // torch.tensor([1., 3.]).var(correction=2) -> inf ; torch.tensor([2., 2.]).var(correction=2) -> nan
    assert_eq!(t64(&[1.0, 3.0], &[2]).var_dims(None, 2, false).unwrap().item().unwrap(), f64::INFINITY);
    assert!(t64(&[2.0, 2.0], &[2]).var_dims(None, 2, false).unwrap().item().unwrap().is_nan());
}

#[test]
fn var_gradient_is_two_deviations_over_dof() {
    // var of [1, 2, 6] (mean 3, N − 1 = 2): dvar/dx = 2 (x − 3) / 2 = [-2, -1, 3]
    let x = leaf(&[1.0, 2.0, 6.0], &[3]);
    x.var().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![-2.0, -1.0, 3.0]);
}

#[test]
fn var_and_std_gradcheck() {
    let x = randn_leaf(&[3, 4, 5], 1);
    for dims in [&[0isize, 2][..], &[1][..], &[-1][..]] {
        for correction in [0, 1] {
            for keepdim in [false, true] {
                let r =
                    gradcheck(|xs| xs[0].var_dims(Some(dims), correction, keepdim), std::slice::from_ref(&x))
                        .unwrap();
                assert!(r.passed, "var {dims:?} c={correction}: {r}");
                let r =
                    gradcheck(|xs| xs[0].std_dims(Some(dims), correction, keepdim), std::slice::from_ref(&x))
                        .unwrap();
                assert!(r.passed, "std {dims:?} c={correction}: {r}");
            }
        }
    }
    assert!(gradcheck(|xs| xs[0].var(), std::slice::from_ref(&x)).unwrap().passed);
    assert!(gradcheck(|xs| xs[0].std(), std::slice::from_ref(&x)).unwrap().passed);
}

// m = torch.tensor([[3., 7., 7., 1.], [nan, 2., nan, 5.], [4., 4., -1., -1.]])
fn m34() -> Tensor {
    t64(&[3.0, 7.0, 7.0, 1.0, NAN, 2.0, NAN, 5.0, 4.0, 4.0, -1.0, -1.0], &[3, 4])
}

#[test]
fn max_and_min_along_a_dim_match_pytorch() {
    let m = m34();
    // m.max(dim=1) -> values [7.0, nan, 4.0], indices [1, 0, 0]
    let (v, i) = m.max_dim(1, false).unwrap();
    assert_close(&v.to_f64_vec(), &[7.0, NAN, 4.0], 0.0);
    assert_eq!(i.dtype(), DType::I64);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 0, 0]);
    // m.min(dim=1) -> values [1.0, nan, -1.0], indices [3, 0, 2]
    let (v, i) = m.min_dim(-1, false).unwrap();
    assert_close(&v.to_f64_vec(), &[1.0, NAN, -1.0], 0.0);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![3, 0, 2]);
    // m.max(dim=0, keepdim=True) -> values [[nan, 7.0, nan, 5.0]], indices [[1, 0, 1, 1]]
    let (v, i) = m.max_dim(0, true).unwrap();
    assert_eq!(v.shape(), vec![1, 4]);
    assert_eq!(i.shape(), vec![1, 4]);
    assert_close(&v.to_f64_vec(), &[NAN, 7.0, NAN, 5.0], 0.0);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, 0, 1, 1]);
    // f32 and i64 inputs keep their dtype.
    let (v, _) = m.to_dtype(DType::F32).unwrap().max_dim(1, false).unwrap();
    assert_eq!(v.dtype(), DType::F32);
    let mi = Tensor::from_vec(vec![3i64, 7, 7, 1, 0, 2, -4, 5], &[2, 4]).unwrap();
    let (v, i) = mi.min_dim(1, false).unwrap();
    assert_eq!(v.to_vec::<i64>().unwrap(), vec![1, -4]);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![3, 2]);
}

#[test]
fn argmax_and_argmin_match_pytorch() {
    let m = m34();
    // m.argmax() -> 4 ; m.argmin() -> 4 (the first NaN of the flattened tensor)
    assert_eq!(m.argmax(None, false).unwrap().to_vec::<i64>().unwrap(), vec![4]);
    assert_eq!(m.argmin(None, false).unwrap().shape(), Vec::<usize>::new());
    assert_eq!(m.argmin(None, false).unwrap().to_vec::<i64>().unwrap(), vec![4]);
    // mi = torch.tensor([[3, 7, 7, 1], [0, 2, -4, 5]])
    let mi = Tensor::from_vec(vec![3i64, 7, 7, 1, 0, 2, -4, 5], &[2, 4]).unwrap();
    // mi.argmax(dim=1) -> [1, 3]
    assert_eq!(mi.argmax(Some(1), false).unwrap().to_vec::<i64>().unwrap(), vec![1, 3]);
    // mi.argmin(dim=0, keepdim=True) -> [[1, 1, 1, 0]]
    let a = mi.argmin(Some(0), true).unwrap();
    assert_eq!(a.shape(), vec![1, 4]);
    assert_eq!(a.to_vec::<i64>().unwrap(), vec![1, 1, 1, 0]);
    // mi.argmax(dim=None, keepdim=True) -> [[1]]
    let a = mi.argmax(None, true).unwrap();
    assert_eq!(a.shape(), vec![1, 1]);
    assert_eq!(a.to_vec::<i64>().unwrap(), vec![1]);
    // f32 works too, and agrees with max_dim's indices.
    let m32 = m.to_dtype(DType::F32).unwrap();
    assert_eq!(m32.argmax(Some(1), false).unwrap().to_vec::<i64>().unwrap(), vec![1, 0, 0]);
}

#[test]
fn full_max_and_min_split_the_gradient_among_ties() {
    // t = torch.tensor([[1., 5., 5.], [2., 5., 0.]], dtype=torch.float64, requires_grad=True)
    // t.max().backward() -> [[0, 1/3, 1/3], [0, 1/3, 0]] ; t.min().backward() -> [[0, 0, 0], [0, 0, 1]]
    let t = leaf(&[1.0, 5.0, 5.0, 2.0, 5.0, 0.0], &[2, 3]);
    let y = t.max().unwrap();
    assert_eq!(y.shape(), Vec::<usize>::new());
    assert_eq!(y.item().unwrap(), 5.0);
    y.backward().unwrap();
    let third = 1.0 / 3.0;
    assert_close(&t.grad().unwrap().to_f64_vec(), &[0.0, third, third, 0.0, third, 0.0], 1e-15);
    t.zero_grad();
    let y = t.min().unwrap();
    assert_eq!(y.item().unwrap(), 0.0);
    y.backward().unwrap();
    assert_eq!(t.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    // t2 = torch.tensor([1., nan, 3., nan], dtype=torch.float64, requires_grad=True)
    // t2.max() -> nan ; grad -> [0.0, 0.5, 0.0, 0.5]
    let t2 = leaf(&[1.0, NAN, 3.0, NAN], &[4]);
    let y = t2.max().unwrap();
    assert!(y.item().unwrap().is_nan());
    y.backward().unwrap();
    assert_eq!(t2.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0, 0.5, 0.0, 0.5]);
}

#[test]
fn max_dim_gradient_goes_to_the_first_maximum() {
    let x = leaf(&[2.0, 9.0, 9.0, 1.0, 0.0, 1.0], &[2, 3]);
    let (v, _) = x.max_dim(1, false).unwrap();
    v.backward_with(&t64(&[10.0, 20.0], &[2])).unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0, 10.0, 0.0, 20.0, 0.0, 0.0]);
}

#[test]
fn max_min_gradcheck() {
    // Random normals are distinct, so each maximum is unique and the function is smooth there.
    let x = randn_leaf(&[3, 4, 5], 7);
    for dim in [0isize, 1, 2, -1] {
        for keepdim in [false, true] {
            let r = gradcheck(|xs| Ok(xs[0].max_dim(dim, keepdim)?.0), std::slice::from_ref(&x)).unwrap();
            assert!(r.passed, "max_dim {dim}: {r}");
            let r = gradcheck(|xs| Ok(xs[0].min_dim(dim, keepdim)?.0), std::slice::from_ref(&x)).unwrap();
            assert!(r.passed, "min_dim {dim}: {r}");
        }
    }
    assert!(gradcheck(|xs| xs[0].max(), std::slice::from_ref(&x)).unwrap().passed);
    assert!(gradcheck(|xs| xs[0].min(), std::slice::from_ref(&x)).unwrap().passed);
}

#[test]
fn zero_dim_tensors_reduce_to_themselves() {
    let s = Tensor::scalar(4.5f64);
    let (v, i) = s.max_dim(0, false).unwrap();
    assert_eq!((v.shape(), v.item().unwrap()), (vec![], 4.5));
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![0]);
    assert_eq!(s.argmin(Some(-1), true).unwrap().to_vec::<i64>().unwrap(), vec![0]);
    assert_eq!(s.max().unwrap().item().unwrap(), 4.5);
}

#[test]
fn large_tensors_agree_with_a_sequential_scan() {
    // Large enough for the parallel lane and chunk paths (> 2^15 elements, > 2^14 per chunk).
    let (rows, cols) = (40usize, 1500usize);
    let x = Tensor::randn(&[rows, cols], DType::F32, &mut Generator::new(3)).unwrap();
    let v = x.to_vec::<f32>().unwrap();
    // along dim 0 (strided lanes) and dim 1 (contiguous lanes)
    let (m0, i0) = x.max_dim(0, false).unwrap();
    let (m0, i0) = (m0.to_vec::<f32>().unwrap(), i0.to_vec::<i64>().unwrap());
    for c in 0..cols {
        let (mut best, mut at) = (v[c], 0);
        for r in 1..rows {
            if v[r * cols + c] > best {
                (best, at) = (v[r * cols + c], r);
            }
        }
        assert_eq!((m0[c], i0[c]), (best, at as i64));
    }
    let i1 = x.argmin(Some(1), false).unwrap().to_vec::<i64>().unwrap();
    for r in 0..rows {
        let row = &v[r * cols..(r + 1) * cols];
        let want = (0..cols).fold(0, |b, j| if row[j] < row[b] { j } else { b });
        assert_eq!(i1[r], want as i64);
    }
    // A tie that spans chunks: the flat argmax is the first occurrence.
    let mut w = vec![0.0f64; 50_000];
    w[40_000] = 2.0;
    w[20_000] = 2.0;
    let t = Tensor::from_vec(w, &[50_000]).unwrap();
    assert_eq!(t.argmax(None, false).unwrap().to_vec::<i64>().unwrap(), vec![20_000]);
    assert_eq!(t.max().unwrap().item().unwrap(), 2.0);
}

#[test]
fn bad_input_is_an_error_naming_op_and_shape() {
    let x = x24();
    let e = x.max_dim(2, false).unwrap_err().to_string();
    assert!(e.contains("max_dim") && e.contains("[2, 4]"), "{e}");
    let e = x.argmin(Some(-3), false).unwrap_err().to_string();
    assert!(e.contains("argmin") && e.contains("[2, 4]"), "{e}");
    let e = x.var_dims(Some(&[0, 0]), 1, false).unwrap_err().to_string();
    assert!(e.contains("var") && e.contains("[2, 4]"), "{e}");
    let e = x.std_dims(Some(&[5]), 1, false).unwrap_err().to_string();
    assert!(e.contains("std") && e.contains("[2, 4]"), "{e}");
    let empty = Tensor::zeros(&[3, 0], DType::F64).unwrap();
    let e = empty.min_dim(1, false).unwrap_err().to_string();
    assert!(e.contains("min_dim") && e.contains("[3, 0]"), "{e}");
    assert!(empty.max().unwrap_err().to_string().contains("max"));
    assert!(empty.argmax(None, false).is_err());
    assert_eq!(empty.max_dim(0, false).unwrap().0.shape(), vec![0]);
    let i = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let e = i.var().unwrap_err().to_string();
    assert!(e.contains("var") && e.contains("int64"), "{e}");
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    let e = b.argmax(None, false).unwrap_err().to_string();
    assert!(e.contains("argmax") && e.contains("bool"), "{e}");
}
