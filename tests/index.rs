//! index_select, gather, scatter_add, one_hot: PyTorch's values and gradients, agreement with a
//! literal loop transcription on random 3-D cases, finite-difference gradchecks, determinism,
//! and errors. PyTorch's numbers come from `tests/torch/join_index.py`; each snippet is pasted
//! above the numbers it produced.

use glassgrad::{DType, Error, Generator, Tensor, gradcheck};

fn t64(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn idx(v: &[i64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn grad(t: &Tensor) -> Vec<f64> {
    t.grad().unwrap().to_vec::<f64>().unwrap()
}

// ------------------------------------------------------------- the formulas, literally (oracle)

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut c = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        c[k] = flat % shape[k];
        flat /= shape[k];
    }
    c
}

fn ravel(c: &[usize], shape: &[usize]) -> usize {
    c.iter().zip(shape).fold(0, |acc, (&ci, &s)| acc * s + ci)
}

/// y[p] = x[p with coordinate d replaced by index[p]], for every position p of the index.
fn gather_ref(x: &[f64], xs: &[usize], d: usize, index: &[i64], is: &[usize]) -> Vec<f64> {
    (0..index.len())
        .map(|p| {
            let mut c = unravel(p, is);
            c[d] = index[p] as usize;
            x[ravel(&c, xs)]
        })
        .collect()
}

/// y = x; for every position p of the index, in row-major order: y[p with d := index[p]] += src[p].
fn scatter_add_ref<T: Copy + std::ops::AddAssign>(
    x: &[T],
    xs: &[usize],
    d: usize,
    index: &[i64],
    is: &[usize],
    src: &[T],
    ss: &[usize],
) -> Vec<T> {
    let mut y = x.to_vec();
    for (p, &i) in index.iter().enumerate() {
        let mut c = unravel(p, is);
        let s = src[ravel(&c, ss)];
        c[d] = i as usize;
        y[ravel(&c, xs)] += s;
    }
    y
}

// ----------------------------------------------------------------------------- index_select

#[test]
fn index_select_values_and_gradient_with_repeats() {
    // x = torch.arange(12, dtype=f64).reshape(3, 4).requires_grad_()
    // y = x.index_select(1, torch.tensor([3, 0, 3, 1]))
    // y.flatten() -> [3, 0, 3, 1, 7, 4, 7, 5, 11, 8, 11, 9]
    // y.backward(torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 10., 11., 12.]]))
    // x.grad.flatten() -> [2, 4, 0, 4, 6, 8, 0, 12, 10, 12, 0, 20]
    let x = Tensor::arange(0.0, 12.0, 1.0, DType::F64)
        .unwrap()
        .reshape(&[3, 4])
        .unwrap()
        .requires_grad_()
        .unwrap();
    let y = x.index_select(1, &idx(&[3, 0, 3, 1], &[4])).unwrap();
    assert_eq!(y.shape(), vec![3, 4]);
    assert_eq!(
        y.to_vec::<f64>().unwrap(),
        vec![3.0, 0.0, 3.0, 1.0, 7.0, 4.0, 7.0, 5.0, 11.0, 8.0, 11.0, 9.0]
    );
    y.backward_with(&Tensor::arange(1.0, 13.0, 1.0, DType::F64).unwrap().reshape(&[3, 4]).unwrap()).unwrap();
    assert_eq!(grad(&x), vec![2.0, 4.0, 0.0, 4.0, 6.0, 8.0, 0.0, 12.0, 10.0, 12.0, 0.0, 20.0]);
}

#[test]
fn index_select_every_dtype_and_edge_shapes() {
    // Rows 2, 0 (dim 0, negative dim -2) of [[1, 2], [3, 4], [5, 6]].
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    let y = x.index_select(-2, &idx(&[2, 0], &[2])).unwrap();
    assert_eq!((y.shape(), y.to_vec::<f32>().unwrap()), (vec![2, 2], vec![5.0, 6.0, 1.0, 2.0]));
    let xi = Tensor::from_vec(vec![10i64, 20, 30], &[3]).unwrap();
    assert_eq!(
        xi.index_select(0, &idx(&[1, 1, 2], &[3])).unwrap().to_vec::<i64>().unwrap(),
        vec![20, 20, 30]
    );
    let xb = Tensor::from_vec(vec![true, false], &[1, 2]).unwrap();
    assert_eq!(xb.index_select(1, &idx(&[1, 0], &[2])).unwrap().to_vec::<bool>().unwrap(), vec![false, true]);
    // An empty index gives an empty dimension, and a zero gradient.
    let x = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad_().unwrap();
    let y = x.index_select(0, &idx(&[], &[0])).unwrap();
    assert_eq!(y.shape(), vec![0, 2]);
    let z = x.index_select(0, &idx(&[1], &[1])).unwrap();
    Tensor::cat(&[y, z], 0).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(grad(&x), vec![0.0, 0.0, 1.0, 1.0]);
}

#[test]
fn index_select_gradcheck_repeated_indices() {
    let mut rng = Generator::new(21);
    let x = Tensor::randn(&[3, 4, 2], DType::F64, &mut rng).unwrap().requires_grad_().unwrap();
    for (dim, index) in
        [(0isize, idx(&[2, 2, 0, 2], &[4])), (1, idx(&[1, 3, 1, 1, 0], &[5])), (-1, idx(&[1, 1], &[2]))]
    {
        let r = gradcheck(|xs| xs[0].index_select(dim, &index)?.tanh(), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed, "index_select dim {dim}: {r}");
    }
}

// ----------------------------------------------------------------------------------- gather

#[test]
fn gather_values_and_gradient_match_pytorch() {
    // x = torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 10., 11., 12.]], dtype=f64, requires_grad=True)
    // y0 = x.gather(0, torch.tensor([[2, 0, 1], [2, 2, 0]]))
    // y0.flatten() -> [9, 2, 7, 9, 10, 3]
    // y0.backward(torch.tensor([[1., 2., 3.], [4., 5., 6.]]))
    // x.grad.flatten() -> [0, 2, 6, 0, 0, 0, 3, 0, 5, 5, 0, 0]
    let data: Vec<f64> = (1..=12).map(f64::from).collect();
    let x = t64(&data, &[3, 4]).requires_grad_().unwrap();
    let y0 = x.gather(0, &idx(&[2, 0, 1, 2, 2, 0], &[2, 3])).unwrap();
    assert_eq!(y0.shape(), vec![2, 3]);
    assert_eq!(y0.to_vec::<f64>().unwrap(), vec![9.0, 2.0, 7.0, 9.0, 10.0, 3.0]);
    y0.backward_with(&t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])).unwrap();
    assert_eq!(grad(&x), vec![0.0, 2.0, 6.0, 0.0, 0.0, 0.0, 3.0, 0.0, 5.0, 5.0, 0.0, 0.0]);

    // x.grad = None
    // y1 = x.gather(1, torch.tensor([[3, 3, 0, 1, 0], [1, 2, 2, 2, 2]]))   # index wider than x along dim 1
    // y1.flatten() -> [4, 4, 1, 2, 1, 6, 7, 7, 7, 7]
    // y1.backward(torch.tensor([[1., 2., 3., 4., 5.], [6., 7., 8., 9., 10.]]))
    // x.grad.flatten() -> [8, 4, 0, 3, 0, 6, 34, 0, 0, 0, 0, 0]
    x.zero_grad();
    let y1 = x.gather(1, &idx(&[3, 3, 0, 1, 0, 1, 2, 2, 2, 2], &[2, 5])).unwrap();
    assert_eq!(y1.to_vec::<f64>().unwrap(), vec![4.0, 4.0, 1.0, 2.0, 1.0, 6.0, 7.0, 7.0, 7.0, 7.0]);
    y1.backward_with(&Tensor::arange(1.0, 11.0, 1.0, DType::F64).unwrap().reshape(&[2, 5]).unwrap()).unwrap();
    assert_eq!(grad(&x), vec![8.0, 4.0, 0.0, 3.0, 0.0, 6.0, 34.0, 0.0, 0.0, 0.0, 0.0, 0.0]);

    // f32, i64 and bool gather the same positions.
    let x32 = Tensor::from_vec(data.iter().map(|&v| v as f32).collect(), &[3, 4]).unwrap();
    let y32 = x32.gather(0, &idx(&[2, 0, 1, 2, 2, 0], &[2, 3])).unwrap();
    assert_eq!(y32.to_vec::<f32>().unwrap(), vec![9.0, 2.0, 7.0, 9.0, 10.0, 3.0]);
    let xi = Tensor::from_vec((1..=12i64).collect(), &[3, 4]).unwrap();
    assert_eq!(xi.gather(0, &idx(&[2, 0, 1], &[1, 3])).unwrap().to_vec::<i64>().unwrap(), vec![9, 2, 7]);
    let xb = Tensor::from_vec(vec![true, false, false, true], &[2, 2]).unwrap();
    assert_eq!(xb.gather(1, &idx(&[1, 1], &[2, 1])).unwrap().to_vec::<bool>().unwrap(), vec![false, true]);
}

#[test]
fn gather_agrees_with_the_literal_formula_in_3d() {
    let mut rng = Generator::new(22);
    let xs = [3usize, 4, 5];
    for d in 0..3 {
        // Index smaller than x outside d, larger along d; x itself a non-contiguous view.
        let mut is = vec![2usize, 3, 4];
        is[d] = 7;
        let x = Tensor::randn(&[5, 4, 3], DType::F64, &mut rng).unwrap().permute(&[2, 1, 0]).unwrap();
        assert!(!x.is_contiguous() && x.shape() == xs);
        let index = Tensor::randint(&is, 0, xs[d] as i64, &mut rng).unwrap();
        let y = x.gather(d as isize, &index).unwrap();
        assert_eq!(y.shape(), is);
        let want = gather_ref(&x.to_vec::<f64>().unwrap(), &xs, d, &index.to_vec::<i64>().unwrap(), &is);
        assert_eq!(y.to_vec::<f64>().unwrap(), want, "dim {d}");
    }
}

#[test]
fn gather_gradcheck_every_dim() {
    let mut rng = Generator::new(23);
    let x = Tensor::randn(&[3, 4, 2], DType::F64, &mut rng).unwrap().requires_grad_().unwrap();
    for d in 0..3usize {
        let mut is = vec![2usize, 3, 2];
        is[d] = 5; // more picks than entries: repeats guaranteed
        let index = Tensor::randint(&is, 0, x.shape()[d] as i64, &mut rng).unwrap();
        let r =
            gradcheck(|xs| xs[0].gather(d as isize - 3, &index)?.exp(), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed, "gather dim {d}: {r}");
    }
}

// ------------------------------------------------------------------------------ scatter_add

#[test]
fn scatter_add_values_and_gradients_match_pytorch() {
    // x = torch.tensor([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]], dtype=f64, requires_grad=True)
    // s = torch.tensor([[10., 20., 30.], [40., 50., 60.]], dtype=f64, requires_grad=True)
    // y = x.scatter_add(0, torch.tensor([[2, 0, 2], [2, 1, 0]]), s)
    // y.flatten() -> [1, 22, 63, 4, 55, 6, 57, 8, 39]
    // g = torch.tensor([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]]); y.backward(g)
    // x.grad.flatten() -> [1, 2, 3, 4, 5, 6, 7, 8, 9]; s.grad.flatten() -> [7, 2, 9, 7, 5, 3]
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], &[3, 3]).requires_grad_().unwrap();
    let s = t64(&[10.0, 20.0, 30.0, 40.0, 50.0, 60.0], &[2, 3]).requires_grad_().unwrap();
    let g = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], &[3, 3]);
    let y = x.scatter_add(0, &idx(&[2, 0, 2, 2, 1, 0], &[2, 3]), &s).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![1.0, 22.0, 63.0, 4.0, 55.0, 6.0, 57.0, 8.0, 39.0]);
    y.backward_with(&g).unwrap();
    assert_eq!(grad(&x), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    assert_eq!(grad(&s), vec![7.0, 2.0, 9.0, 7.0, 5.0, 3.0]);

    // x.grad = None
    // s2 = torch.tensor([[1., 2.], [3., 4.], [5., 6.]], dtype=f64, requires_grad=True)
    // y = x.scatter_add(1, torch.tensor([[0, 0], [2, 1], [1, 1]]), s2)
    // y.flatten() -> [4, 2, 3, 4, 9, 9, 7, 19, 9]
    // y.backward(g); x.grad.flatten() -> [1, ..., 9]; s2.grad.flatten() -> [1, 1, 6, 5, 8, 8]
    x.zero_grad();
    let s2 = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).requires_grad_().unwrap();
    let y = x.scatter_add(-1, &idx(&[0, 0, 2, 1, 1, 1], &[3, 2]), &s2).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![4.0, 2.0, 3.0, 4.0, 9.0, 9.0, 7.0, 19.0, 9.0]);
    y.backward_with(&g).unwrap();
    assert_eq!(grad(&x), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    assert_eq!(grad(&s2), vec![1.0, 1.0, 6.0, 5.0, 8.0, 8.0]);
}

#[test]
fn scatter_add_reads_only_the_index_shaped_corner_of_src() {
    // src is 2x3 but the index is 1x2: only src[0][0..2] is added, and only there is d src nonzero.
    // (PyTorch computes the same forward; its backward rejects this case, ours pads with zeros.)
    // y = zeros(2, 2); y[index[0][j]][j] += src[0][j]: index [[1, 0]] -> y = [[0, 20], [10, 0]]
    // g = [[1, 2], [3, 4]]: d src = [[g[1][0], g[0][1], 0], [0, 0, 0]] = [[3, 2, 0], [0, 0, 0]]
    let x = Tensor::zeros(&[2, 2], DType::F64).unwrap();
    let src = t64(&[10.0, 20.0, 30.0, 40.0, 50.0, 60.0], &[2, 3]).requires_grad_().unwrap();
    let y = x.scatter_add(0, &idx(&[1, 0], &[1, 2]), &src).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![0.0, 20.0, 10.0, 0.0]);
    y.backward_with(&t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2])).unwrap();
    assert_eq!(grad(&src), vec![3.0, 2.0, 0.0, 0.0, 0.0, 0.0]);
    assert!(x.grad().is_none());
}

#[test]
fn scatter_add_agrees_with_the_literal_formula_in_3d() {
    let mut rng = Generator::new(24);
    let xs = [3usize, 4, 5];
    for d in 0..3 {
        let mut is = vec![2usize, 3, 4];
        is[d] = 6;
        let ss: Vec<usize> = is.iter().map(|s| s + 1).collect();
        let x = Tensor::randn(&xs, DType::F64, &mut rng).unwrap();
        // src is a non-contiguous view of shape ss, larger than the index everywhere.
        let src =
            Tensor::randn(&[ss[2], ss[1], ss[0]], DType::F64, &mut rng).unwrap().transpose(0, 2).unwrap();
        assert_eq!(src.shape(), ss);
        let index = Tensor::randint(&is, 0, xs[d] as i64, &mut rng).unwrap();
        let y = x.scatter_add(d as isize, &index, &src).unwrap();
        let want = scatter_add_ref(
            &x.to_vec::<f64>().unwrap(),
            &xs,
            d,
            &index.to_vec::<i64>().unwrap(),
            &is,
            &src.to_vec::<f64>().unwrap(),
            &ss,
        );
        assert_eq!(y.to_vec::<f64>().unwrap(), want, "dim {d}");
    }
    // i64 counts: a histogram of [2, 0, 2, 2, 1].
    let counts = Tensor::zeros(&[3], DType::I64)
        .unwrap()
        .scatter_add(0, &idx(&[2, 0, 2, 2, 1], &[5]), &Tensor::ones(&[5], DType::I64).unwrap())
        .unwrap();
    assert_eq!(counts.to_vec::<i64>().unwrap(), vec![1, 1, 3]);
}

#[test]
fn scatter_add_is_deterministic_in_index_order() {
    // Large enough for the parallel path; f32 sums with ~3-10 terms per element, whose value
    // depends on the order of addition. The result must equal the sequential row-major loop bit
    // for bit (the additions into one element in index order), whatever the thread count.
    let mut rng = Generator::new(25);
    for (d, xs, is) in [(0usize, [64usize, 600], [200usize, 600]), (1, [600, 64], [600, 200])] {
        let x = Tensor::randn(&xs, DType::F32, &mut rng).unwrap();
        let src = Tensor::randn(&is, DType::F32, &mut rng).unwrap().mul_scalar(1e3).unwrap();
        let index = Tensor::randint(&is, 0, xs[d] as i64, &mut rng).unwrap();
        let y = x.scatter_add(d as isize, &index, &src).unwrap().to_vec::<f32>().unwrap();
        let want = scatter_add_ref(
            &x.to_vec::<f32>().unwrap(),
            &xs,
            d,
            &index.to_vec::<i64>().unwrap(),
            &is,
            &src.to_vec::<f32>().unwrap(),
            &is,
        );
        assert!(y.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "dim {d}");
        let again = x.scatter_add(d as isize, &index, &src).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(y, again);
    }
}

#[test]
fn scatter_add_gradcheck_both_inputs() {
    let mut rng = Generator::new(26);
    for d in 0..3usize {
        let x = Tensor::randn(&[3, 4, 2], DType::F64, &mut rng).unwrap().requires_grad_().unwrap();
        let mut ss = vec![2usize, 3, 2];
        ss[d] = 6; // six sources into at most four slots: repeated targets
        let src = Tensor::randn(&ss, DType::F64, &mut rng).unwrap().requires_grad_().unwrap();
        let index = Tensor::randint(&ss, 0, x.shape()[d] as i64, &mut rng).unwrap();
        let r = gradcheck(|xs| xs[0].scatter_add(d as isize, &index, &xs[1])?.tanh(), &[x, src]).unwrap();
        assert!(r.passed, "scatter_add dim {d}: {r}");
    }
}

// ---------------------------------------------------------------------------------- one_hot

#[test]
fn one_hot_values() {
    // torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 1]]), 3).flatten()
    // -> [1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0]
    let labels = idx(&[0, 2, 1, 1], &[2, 2]);
    let y = Tensor::one_hot(&labels, 3, DType::I64).unwrap();
    assert_eq!(y.shape(), vec![2, 2, 3]);
    assert_eq!(y.to_vec::<i64>().unwrap(), vec![1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    let y = Tensor::one_hot(&labels, 3, DType::F32).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    let y = Tensor::one_hot(&idx(&[1], &[]), 2, DType::Bool).unwrap();
    assert_eq!((y.shape(), y.to_vec::<bool>().unwrap()), (vec![2], vec![false, true]));
    let y = Tensor::one_hot(&idx(&[2, 0], &[2]), 4, DType::F64).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    assert!(!y.requires_grad());
}

// ----------------------------------------------------------------------------------- errors

#[test]
fn out_of_range_indices_name_op_value_and_shape() {
    let x = Tensor::zeros(&[3, 4], DType::F32).unwrap();
    let e = x.index_select(0, &idx(&[0, 3], &[2])).unwrap_err();
    assert!(matches!(e, Error::Index { op: "index_select", index: 3, size: 3, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("index_select") && msg.contains('3') && msg.contains("[3, 4]"), "{msg}");
    let e = x.index_select(1, &idx(&[-1], &[1])).unwrap_err();
    assert!(matches!(e, Error::Index { op: "index_select", index: -1, size: 4, .. }), "{e:?}");

    let e = x.gather(1, &idx(&[0, 4], &[1, 2])).unwrap_err();
    assert!(matches!(e, Error::Index { op: "gather", index: 4, size: 4, .. }), "{e:?}");
    assert!(e.to_string().contains("[3, 4]") && e.to_string().contains("[1, 2]"), "{e}");
    let e = x.scatter_add(0, &idx(&[-2], &[1, 1]), &Tensor::ones(&[1, 1], DType::F32).unwrap()).unwrap_err();
    assert!(matches!(e, Error::Index { op: "scatter_add", index: -2, size: 3, .. }), "{e:?}");
    let e = Tensor::one_hot(&idx(&[0, 5], &[2]), 5, DType::F32).unwrap_err();
    assert!(matches!(e, Error::Index { op: "one_hot", index: 5, size: 5, .. }), "{e:?}");
    assert!(Tensor::one_hot(&idx(&[-1], &[1]), 5, DType::F32).is_err());
}

#[test]
fn wrong_index_dtype_or_rank_is_an_error() {
    let x = Tensor::zeros(&[3, 4], DType::F64).unwrap();
    let fidx = Tensor::zeros(&[2], DType::F32).unwrap();
    for e in [
        x.index_select(0, &fidx).unwrap_err(),
        x.gather(0, &Tensor::zeros(&[2, 2], DType::F64).unwrap()).unwrap_err(),
        x.scatter_add(0, &Tensor::zeros(&[1, 1], DType::Bool).unwrap(), &x).unwrap_err(),
        Tensor::one_hot(&fidx, 3, DType::F32).unwrap_err(),
    ] {
        assert!(matches!(e, Error::UnsupportedDType { .. }), "{e:?}");
        assert!(e.to_string().contains("int64"), "{e}");
    }

    // index_select wants a 1-D index.
    let e = x.index_select(0, &idx(&[0, 1], &[1, 2])).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("index_select") && msg.contains("[3, 4]") && msg.contains("[1, 2]"), "{msg}");
    // gather and scatter_add want the input's rank.
    let e = x.gather(1, &idx(&[0, 1], &[2])).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { op: "gather", .. }), "{e:?}");
    assert!(e.to_string().contains("[3, 4]") && e.to_string().contains("[2]"), "{e}");
    let e = x.scatter_add(1, &idx(&[0], &[1, 1, 1]), &x).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { op: "scatter_add", .. }), "{e:?}");
    // 0-d input.
    let e = Tensor::scalar(1.0f64).index_select(0, &idx(&[0], &[1])).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "index_select", .. }), "{e:?}");
}

#[test]
fn shape_rules_of_gather_and_scatter_add() {
    let x = Tensor::zeros(&[3, 4], DType::F64).unwrap();
    // Index larger than the input outside dim.
    let e = x.gather(1, &Tensor::zeros(&[4, 1], DType::I64).unwrap()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("gather")
            && msg.contains("[3, 4]")
            && msg.contains("[4, 1]")
            && msg.contains("dimension 0"),
        "{msg}"
    );
    // src smaller than the index.
    let src = Tensor::zeros(&[1, 4], DType::F64).unwrap();
    let e = x.scatter_add(0, &Tensor::zeros(&[2, 4], DType::I64).unwrap(), &src).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("scatter_add") && msg.contains("[1, 4]") && msg.contains("[2, 4]"), "{msg}");
    // src of another dtype, or bool data.
    let e = x.scatter_add(0, &idx(&[0], &[1, 1]), &Tensor::zeros(&[1, 1], DType::F32).unwrap()).unwrap_err();
    assert!(matches!(e, Error::DTypeMismatch { op: "scatter_add", .. }), "{e:?}");
    let b = Tensor::zeros(&[2], DType::Bool).unwrap();
    assert!(matches!(
        b.scatter_add(0, &idx(&[0], &[1]), &b).unwrap_err(),
        Error::UnsupportedDType { op: "scatter_add", .. }
    ));
    // Dimension out of range.
    assert!(matches!(
        x.gather(2, &Tensor::zeros(&[1, 1], DType::I64).unwrap()).unwrap_err(),
        Error::Dim { op: "gather", .. }
    ));
}
