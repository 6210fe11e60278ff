//! Comparisons, logic, where_cond, masked_fill, maximum, minimum: PyTorch's values (from
//! `tests/torch/stats_sort_compare.py`), f64 gradchecks, errors.

use glassgrad::{DType, Generator, Tensor, gradcheck};

fn t64(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn bools(v: &[bool], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn randn_leaf(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap().requires_grad_().unwrap()
}

fn assert_same(got: &[f64], want: &[f64]) {
    let same =
        got.len() == want.len() && got.iter().zip(want).all(|(g, w)| g == w || (g.is_nan() && w.is_nan()));
    assert!(same, "got {got:?}, want {want:?}");
}

const NAN: f64 = f64::NAN;
const T: bool = true;
const F: bool = false;

#[test]
fn comparisons_broadcast_and_follow_ieee_nan() {
    // a = torch.tensor([[1., 2., nan], [4., 2., 0.]]); b = torch.tensor([2., 2., nan])
    let a = Tensor::from_vec(vec![1.0f32, 2.0, f32::NAN, 4.0, 2.0, 0.0], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![2.0f32, 2.0, f32::NAN], &[3]).unwrap();
    type Cmp = fn(&Tensor, &Tensor) -> glassgrad::Result<Tensor>;
    let cases: [(&str, Cmp, [bool; 6]); 6] = [
        // a.eq(b) -> [[False, True, False], [False, True, False]]
        ("eq", Tensor::eq, [F, T, F, F, T, F]),
        // a.ne(b) -> [[True, False, True], [True, False, True]]
        ("ne", Tensor::ne, [T, F, T, T, F, T]),
        // a.lt(b) -> [[True, False, False], [False, False, False]]
        ("lt", Tensor::lt, [T, F, F, F, F, F]),
        // a.le(b) -> [[True, True, False], [False, True, False]]
        ("le", Tensor::le, [T, T, F, F, T, F]),
        // a.gt(b) -> [[False, False, False], [True, False, False]]
        ("gt", Tensor::gt, [F, F, F, T, F, F]),
        // a.ge(b) -> [[False, True, False], [True, True, False]]
        ("ge", Tensor::ge, [F, T, F, T, T, F]),
    ];
    for (name, f, want) in cases {
        let m = f(&a, &b).unwrap();
        assert_eq!(m.dtype(), DType::Bool, "{name}");
        assert_eq!(m.shape(), vec![2, 3], "{name}");
        assert_eq!(m.to_vec::<bool>().unwrap(), want.to_vec(), "{name}");
    }
    // f64, i64 and bool operands
    let x = t64(&[1.0, 5.0], &[2]);
    assert_eq!(x.lt(&t64(&[3.0], &[1])).unwrap().to_vec::<bool>().unwrap(), vec![T, F]);
    let i = Tensor::from_vec(vec![1i64, 2, 3], &[3]).unwrap();
    let j = Tensor::from_vec(vec![2i64], &[]).unwrap();
    assert_eq!(i.ge(&j).unwrap().to_vec::<bool>().unwrap(), vec![F, T, T]);
    let p = bools(&[T, F, T], &[3]);
    assert_eq!(p.eq(&bools(&[T], &[1])).unwrap().to_vec::<bool>().unwrap(), vec![T, F, T]);
    assert_eq!(p.ne(&bools(&[T, T, F], &[3])).unwrap().to_vec::<bool>().unwrap(), vec![F, T, T]);
}

#[test]
fn scalar_comparisons_use_the_tensor_dtype() {
    // torch.tensor([1, 2, 3]) < 1.5 -> [True, False, False] ; >= 2 -> [False, True, True]
    let i = Tensor::from_vec(vec![1i64, 2, 3], &[3]).unwrap();
    assert_eq!(i.lt_scalar(1.5).unwrap().to_vec::<bool>().unwrap(), vec![T, F, F]);
    assert_eq!(i.ge_scalar(2.0).unwrap().to_vec::<bool>().unwrap(), vec![F, T, T]);
    assert_eq!(i.eq_scalar(2.5).unwrap().to_vec::<bool>().unwrap(), vec![F, F, F]);
    // torch.tensor([0.1, 0.2]) == 0.1 -> [True, False] (0.1 is rounded to f32 first)
    let f = Tensor::from_vec(vec![0.1f32, 0.2], &[2]).unwrap();
    assert_eq!(f.eq_scalar(0.1).unwrap().to_vec::<bool>().unwrap(), vec![T, F]);
    let x = t64(&[-1.0, 0.0, 1.0, NAN], &[4]);
    assert_eq!(x.gt_scalar(0.0).unwrap().to_vec::<bool>().unwrap(), vec![F, F, T, F]);
    assert_eq!(x.le_scalar(0.0).unwrap().to_vec::<bool>().unwrap(), vec![T, T, F, F]);
    assert_eq!(x.ne_scalar(0.0).unwrap().to_vec::<bool>().unwrap(), vec![T, F, T, T]);
    assert_eq!(bools(&[T, F], &[2]).eq_scalar(1.0).unwrap().to_vec::<bool>().unwrap(), vec![T, F]);
}

#[test]
fn logical_ops() {
    let a = bools(&[T, T, F, F], &[2, 2]);
    let b = bools(&[T, F], &[2]);
    assert_eq!(a.logical_not().unwrap().to_vec::<bool>().unwrap(), vec![F, F, T, T]);
    assert_eq!(a.logical_and(&b).unwrap().to_vec::<bool>().unwrap(), vec![T, F, F, F]);
    assert_eq!(a.logical_or(&b).unwrap().to_vec::<bool>().unwrap(), vec![T, T, T, F]);
}

#[test]
fn where_cond_matches_pytorch() {
    // c = torch.tensor([[True], [False]])
    // x = torch.tensor([[1., 2., 3.], [4., 5., 6.]], dtype=torch.float64, requires_grad=True)
    // y = torch.tensor([10., 20., 30.], dtype=torch.float64, requires_grad=True)
    // z = torch.where(c, x, y) -> [[1., 2., 3.], [10., 20., 30.]]
    // z.backward(torch.tensor([[1., 2., 3.], [4., 5., 6.]], dtype=torch.float64))
    // x.grad -> [[1., 2., 3.], [0., 0., 0.]] ; y.grad -> [4., 5., 6.]
    let c = bools(&[T, F], &[2, 1]);
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).requires_grad_().unwrap();
    let y = t64(&[10.0, 20.0, 30.0], &[3]).requires_grad_().unwrap();
    let z = Tensor::where_cond(&c, &x, &y).unwrap();
    assert_eq!(z.to_vec::<f64>().unwrap(), vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
    z.backward_with(&t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])).unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
    assert_eq!(y.grad().unwrap().to_vec::<f64>().unwrap(), vec![4.0, 5.0, 6.0]);
    // Integers select too.
    let xi = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let yi = Tensor::from_vec(vec![-1i64], &[1]).unwrap();
    let zi = Tensor::where_cond(&bools(&[F, T], &[2]), &xi, &yi).unwrap();
    assert_eq!(zi.to_vec::<i64>().unwrap(), vec![-1, 2]);
}

#[test]
fn masked_fill_matches_pytorch() {
    // torch.tensor([[1., 2., 3.], [4., 5., 6.]]).masked_fill(torch.tensor([True, False, True]), -1.5)
    // -> [[-1.5, 2., -1.5], [-1.5, 5., -1.5]]
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let m = bools(&[T, F, T], &[3]);
    let z = x.masked_fill(&m, -1.5).unwrap();
    assert_eq!(z.dtype(), DType::F32);
    assert_eq!(z.to_vec::<f32>().unwrap(), vec![-1.5, 2.0, -1.5, -1.5, 5.0, -1.5]);
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).requires_grad_().unwrap();
    x.masked_fill(&m, 0.0).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    let i = Tensor::from_vec(vec![7i64, 8], &[2]).unwrap();
    assert_eq!(i.masked_fill(&bools(&[F, T], &[2]), 3.0).unwrap().to_vec::<i64>().unwrap(), vec![7, 3]);
}

#[test]
fn maximum_and_minimum_match_pytorch() {
    // p = torch.tensor([1., 5., 3., nan, 2.], dtype=torch.float64, requires_grad=True)
    // q = torch.tensor([4., 5., 1., 0., nan], dtype=torch.float64, requires_grad=True)
    let p = t64(&[1.0, 5.0, 3.0, NAN, 2.0], &[5]).requires_grad_().unwrap();
    let q = t64(&[4.0, 5.0, 1.0, 0.0, NAN], &[5]).requires_grad_().unwrap();
    // torch.maximum(p, q) -> [4., 5., 3., nan, nan]; grads of .sum(): p [0, .5, 1, 1, 1], q [1, .5, 0, 1, 1]
    let z = p.maximum(&q).unwrap();
    assert_same(&z.to_f64_vec(), &[4.0, 5.0, 3.0, NAN, NAN]);
    z.sum().unwrap().backward().unwrap();
    assert_eq!(p.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0, 0.5, 1.0, 1.0, 1.0]);
    assert_eq!(q.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0, 0.5, 0.0, 1.0, 1.0]);
    p.zero_grad();
    q.zero_grad();
    // torch.minimum(p, q) -> [1., 5., 1., nan, nan]; grads: p [1, .5, 0, 1, 1], q [0, .5, 1, 1, 1]
    let z = p.minimum(&q).unwrap();
    assert_same(&z.to_f64_vec(), &[1.0, 5.0, 1.0, NAN, NAN]);
    z.sum().unwrap().backward().unwrap();
    assert_eq!(p.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0, 0.5, 0.0, 1.0, 1.0]);
    assert_eq!(q.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0, 0.5, 1.0, 1.0, 1.0]);
    // Broadcasting, f32 and i64.
    let a = Tensor::from_vec(vec![1.0f32, -2.0, 3.0, -4.0], &[2, 2]).unwrap();
    let b = Tensor::from_vec(vec![0.0f32], &[1]).unwrap();
    assert_eq!(a.maximum(&b).unwrap().to_vec::<f32>().unwrap(), vec![1.0, 0.0, 3.0, 0.0]);
    let i = Tensor::from_vec(vec![3i64, -1], &[2]).unwrap();
    let j = Tensor::from_vec(vec![0i64, 0], &[2]).unwrap();
    assert_eq!(i.minimum(&j).unwrap().to_vec::<i64>().unwrap(), vec![0, -1]);
}

#[test]
fn selection_ops_gradcheck() {
    // Broadcast shapes, so sum_to is exercised for every input.
    let x = randn_leaf(&[3, 4], 1);
    let y = randn_leaf(&[4], 2);
    let c = Tensor::randn(&[3, 1], DType::F64, &mut Generator::new(3)).unwrap().gt_scalar(0.0).unwrap();
    let c2 = Tensor::randn(&[3, 4], DType::F64, &mut Generator::new(4)).unwrap().gt_scalar(0.0).unwrap();
    for cond in [&c, &c2] {
        let r = gradcheck(|xs| Tensor::where_cond(cond, &xs[0], &xs[1]), &[x.clone(), y.clone()]).unwrap();
        assert!(r.passed, "where_cond: {r}");
    }
    let m = bools(&[T, F, F, T], &[4]);
    let r = gradcheck(|xs| xs[0].masked_fill(&m, 2.5), std::slice::from_ref(&x)).unwrap();
    assert!(r.passed, "masked_fill: {r}");
    // Random normals never tie, so maximum/minimum are smooth at these points.
    let r = gradcheck(|xs| xs[0].maximum(&xs[1]), &[x.clone(), y.clone()]).unwrap();
    assert!(r.passed, "maximum: {r}");
    let r = gradcheck(|xs| xs[0].minimum(&xs[1]), &[x.clone(), y.clone()]).unwrap();
    assert!(r.passed, "minimum: {r}");
}

#[test]
fn large_inputs_take_the_parallel_path_with_the_same_answers() {
    let n = 50_000;
    let x = Tensor::randn(&[n], DType::F32, &mut Generator::new(9)).unwrap();
    let y = Tensor::zeros(&[1], DType::F32).unwrap();
    let mask = x.gt(&y).unwrap().to_vec::<bool>().unwrap();
    let xs = x.to_vec::<f32>().unwrap();
    assert!(mask.iter().zip(&xs).all(|(&m, &v)| m == (v > 0.0)));
    let relu = x.maximum(&y).unwrap().to_vec::<f32>().unwrap();
    let clipped = Tensor::where_cond(&x.gt(&y).unwrap(), &x, &y).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(relu, clipped);
    assert!(relu.iter().zip(&xs).all(|(&r, &v)| r == v.max(0.0)));
}

#[test]
fn bad_input_is_an_error_naming_op_and_shape() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]);
    let a32 = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    let e = a.lt(&a32).unwrap_err().to_string();
    assert!(e.contains("lt") && e.contains("[3]") && e.contains("[2]"), "{e}");
    let e = a.eq(&t64(&[1.0, 2.0], &[2])).unwrap_err().to_string();
    assert!(e.contains("eq") && e.contains("[3]") && e.contains("[2]"), "{e}");
    let b = bools(&[T, F], &[2]);
    let e = b.gt(&b).unwrap_err().to_string();
    assert!(e.contains("gt") && e.contains("bool"), "{e}");
    let e = b.lt_scalar(0.5).unwrap_err().to_string();
    assert!(e.contains("lt_scalar") && e.contains("[2]"), "{e}");
    let e = a.logical_not().unwrap_err().to_string();
    assert!(e.contains("logical_not") && e.contains("[3]"), "{e}");
    let e = b.logical_and(&a).unwrap_err().to_string();
    assert!(e.contains("logical_and") && e.contains("[3]"), "{e}");
    // non-bool mask / condition
    let e = a.masked_fill(&a, 0.0).unwrap_err().to_string();
    assert!(e.contains("masked_fill") && e.contains("float64") && e.contains("[3]"), "{e}");
    let e = Tensor::where_cond(&a, &a, &a).unwrap_err().to_string();
    assert!(e.contains("where_cond") && e.contains("[3]"), "{e}");
    // a mask that does not broadcast to the tensor, or would enlarge it
    let e = a.masked_fill(&b, 0.0).unwrap_err().to_string();
    assert!(e.contains("masked_fill") && e.contains("[3]") && e.contains("[2]"), "{e}");
    let e = a.masked_fill(&bools(&[T, F, T, T, F, T], &[2, 3]), 0.0).unwrap_err().to_string();
    assert!(e.contains("masked_fill") && e.contains("[2, 3]"), "{e}");
    // where_cond: x and y of different dtypes, or shapes that do not broadcast
    let e = Tensor::where_cond(&b, &a32, &t64(&[1.0, 2.0], &[2])).unwrap_err().to_string();
    assert!(e.contains("where_cond") && e.contains("float32") && e.contains("float64"), "{e}");
    let e = Tensor::where_cond(&b, &a, &a).unwrap_err().to_string();
    assert!(e.contains("where_cond") && e.contains("[2]") && e.contains("[3]"), "{e}");
    let e = a.maximum(&a32).unwrap_err().to_string();
    assert!(e.contains("maximum") && e.contains("[3]") && e.contains("[2]"), "{e}");
    let e = b.minimum(&b).unwrap_err().to_string();
    assert!(e.contains("minimum") && e.contains("bool"), "{e}");
}
