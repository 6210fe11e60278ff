//! cat, stack, chunk, split: values, gradients (hand-computed and finite differences), errors.
//! PyTorch's numbers come from `tests/torch/join_index.py`; the snippet is pasted above each use.

use glassgrad::{DType, Error, Generator, Tensor, gradcheck};

fn t64(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn leaf64(shape: &[usize], rng: &mut Generator) -> Tensor {
    Tensor::randn(shape, DType::F64, rng).unwrap().requires_grad_().unwrap()
}

#[test]
fn cat_values_along_each_dim_and_dtype() {
    // [[1, 2, 3], [4, 5, 6]] ++ [[7, 8, 9]] along 0, then [[1, 2, 3], [4, 5, 6]] ++ [[10], [20]] along -1.
    let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![7.0f32, 8.0, 9.0], &[1, 3]).unwrap();
    let y = Tensor::cat(&[a.clone(), b], 0).unwrap();
    assert_eq!(y.shape(), vec![3, 3]);
    assert_eq!(y.dtype(), DType::F32);
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);

    let c = Tensor::from_vec(vec![10.0f32, 20.0], &[2, 1]).unwrap();
    let y = Tensor::cat(&[a, c], -1).unwrap();
    assert_eq!(y.shape(), vec![2, 4]);
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 10.0, 4.0, 5.0, 6.0, 20.0]);

    // f64, three inputs, middle one empty along the dim.
    let y = Tensor::cat(&[t64(&[1.0, 2.0], &[2]), t64(&[], &[0]), t64(&[3.0], &[1])], 0).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![1.0, 2.0, 3.0]);

    // i64 and bool have no gradient but join all the same.
    let i = Tensor::cat(
        &[
            Tensor::from_vec(vec![1i64, 2], &[1, 2]).unwrap(),
            Tensor::from_vec(vec![3i64, 4], &[1, 2]).unwrap(),
        ],
        1,
    )
    .unwrap();
    assert_eq!((i.shape(), i.to_vec::<i64>().unwrap()), (vec![1, 4], vec![1, 2, 3, 4]));
    let m = Tensor::cat(
        &[Tensor::from_vec(vec![true], &[1]).unwrap(), Tensor::from_vec(vec![false, true], &[2]).unwrap()],
        0,
    )
    .unwrap();
    assert_eq!(m.to_vec::<bool>().unwrap(), vec![true, false, true]);
    assert!(!m.requires_grad());
}

#[test]
fn cat_of_non_contiguous_views() {
    // x^T = [[0, 3], [1, 4], [2, 5]]; cat with [[6, 7]] along 0.
    let x = Tensor::arange(0.0, 6.0, 1.0, DType::F64).unwrap().reshape(&[2, 3]).unwrap().t().unwrap();
    assert!(!x.is_contiguous());
    let y = Tensor::cat(&[x, t64(&[6.0, 7.0], &[1, 2])], 0).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0, 6.0, 7.0]);
}

#[test]
fn cat_gradient_is_the_matching_slice() {
    // y = cat([a (2x2), b (2x1)], 1); with g = [[1, 2, 3], [4, 5, 6]]:
    // dL/da = [[1, 2], [4, 5]], dL/db = [[3], [6]].
    let a = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad_().unwrap();
    let b = t64(&[5.0, 6.0], &[2, 1]).requires_grad_().unwrap();
    let frozen = t64(&[7.0, 8.0], &[2, 1]);
    let y = Tensor::cat(&[a.clone(), b.clone(), frozen.clone()], 1).unwrap();
    assert_eq!(y.grad_fn_name(), Some("cat"));
    y.backward_with(&t64(&[1.0, 2.0, 3.0, 0.5, 4.0, 5.0, 6.0, 0.5], &[2, 4])).unwrap();
    assert_eq!(a.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0, 2.0, 4.0, 5.0]);
    assert_eq!(b.grad().unwrap().to_vec::<f64>().unwrap(), vec![3.0, 6.0]);
    assert!(frozen.grad().is_none());
}

#[test]
fn cat_gradcheck_every_dim() {
    let mut rng = Generator::new(11);
    for dim in [0isize, 1, 2, -1] {
        let mut shapes = [vec![2, 3, 2], vec![2, 3, 2], vec![2, 3, 2]];
        let d = dim.rem_euclid(3) as usize;
        shapes[1][d] = 1;
        shapes[2][d] = 3;
        let xs: Vec<Tensor> = shapes.iter().map(|s| leaf64(s, &mut rng)).collect();
        let r = gradcheck(|xs| Tensor::cat(xs, dim)?.tanh(), &xs).unwrap();
        assert!(r.passed, "cat dim {dim}: {r}");
    }
}

#[test]
fn cat_of_one_tensor_and_same_tensor_twice() {
    // cat([x, x]) along 0: dL/dx = g[0..2] + g[2..4].
    let x = t64(&[1.0, 2.0], &[2]).requires_grad_().unwrap();
    assert_eq!(Tensor::cat(std::slice::from_ref(&x), 0).unwrap().to_vec::<f64>().unwrap(), vec![1.0, 2.0]);
    let y = Tensor::cat(&[x.clone(), x.clone()], 0).unwrap();
    y.backward_with(&t64(&[1.0, 10.0, 100.0, 1000.0], &[4])).unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![101.0, 1010.0]);
}

#[test]
fn stack_values_and_gradient() {
    // a = torch.tensor([[1., 2.], [3., 4.]], dtype=f64, requires_grad=True)
    // b = torch.tensor([[5., 6.], [7., 8.]], ...); c = torch.tensor([[9., 10.], [11., 12.]], ...)
    // y = torch.stack([a, b, c], dim=2); y.backward(torch.arange(12, dtype=f64).reshape(2, 2, 3))
    // y.flatten() -> [1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12], shape [2, 2, 3]
    // a.grad -> [0, 3, 6, 9], b.grad -> [1, 4, 7, 10], c.grad -> [2, 5, 8, 11]
    let a = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad_().unwrap();
    let b = t64(&[5.0, 6.0, 7.0, 8.0], &[2, 2]).requires_grad_().unwrap();
    let c = t64(&[9.0, 10.0, 11.0, 12.0], &[2, 2]).requires_grad_().unwrap();
    let y = Tensor::stack(&[a.clone(), b.clone(), c.clone()], 2).unwrap();
    assert_eq!(y.shape(), vec![2, 2, 3]);
    assert_eq!(
        y.to_vec::<f64>().unwrap(),
        vec![1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0, 4.0, 8.0, 12.0]
    );
    let g = Tensor::arange(0.0, 12.0, 1.0, DType::F64).unwrap().reshape(&[2, 2, 3]).unwrap();
    y.backward_with(&g).unwrap();
    assert_eq!(a.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0, 3.0, 6.0, 9.0]);
    assert_eq!(b.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0, 4.0, 7.0, 10.0]);
    assert_eq!(c.grad().unwrap().to_vec::<f64>().unwrap(), vec![2.0, 5.0, 8.0, 11.0]);

    // dim 0 and -1 (= 2 for 2-D inputs), f32 and i64.
    let p = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    let q = Tensor::from_vec(vec![3.0f32, 4.0], &[2]).unwrap();
    let s0 = Tensor::stack(&[p.clone(), q.clone()], 0).unwrap();
    assert_eq!((s0.shape(), s0.to_vec::<f32>().unwrap()), (vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]));
    let s1 = Tensor::stack(&[p, q], -1).unwrap();
    assert_eq!((s1.shape(), s1.to_vec::<f32>().unwrap()), (vec![2, 2], vec![1.0, 3.0, 2.0, 4.0]));
    let si = Tensor::stack(&[Tensor::scalar(7i64), Tensor::scalar(8i64)], 0).unwrap();
    assert_eq!((si.shape(), si.to_vec::<i64>().unwrap()), (vec![2], vec![7, 8]));
}

#[test]
fn stack_gradcheck() {
    let mut rng = Generator::new(12);
    for dim in [0isize, 1, 2, -3] {
        let xs: Vec<Tensor> = (0..3).map(|_| leaf64(&[2, 3], &mut rng)).collect();
        let r = gradcheck(|xs| Tensor::stack(xs, dim)?.exp(), &xs).unwrap();
        assert!(r.passed, "stack dim {dim}: {r}");
    }
}

#[test]
fn chunk_and_split_follow_pytorch() {
    // [t.shape[0] for t in torch.arange(5.).chunk(4)] -> [2, 2, 1]
    // [t.shape[0] for t in torch.arange(6.).chunk(4)] -> [2, 2, 2]
    // [t.shape[0] for t in torch.arange(7.).split(3)] -> [3, 3, 1]
    // len(torch.zeros(2, 0).chunk(3, 1)) -> 3; len(torch.zeros(2, 0).split(2, 1)) -> 1
    let lens = |v: Vec<Tensor>| v.iter().map(|t| t.shape()[0]).collect::<Vec<_>>();
    let r5 = Tensor::arange(0.0, 5.0, 1.0, DType::F32).unwrap();
    assert_eq!(lens(r5.chunk(4, 0).unwrap()), vec![2, 2, 1]);
    let r6 = Tensor::arange(0.0, 6.0, 1.0, DType::F32).unwrap();
    assert_eq!(lens(r6.chunk(4, 0).unwrap()), vec![2, 2, 2]);
    let r7 = Tensor::arange(0.0, 7.0, 1.0, DType::F64).unwrap();
    let parts = r7.split(3, 0).unwrap();
    assert_eq!(lens(parts.clone()), vec![3, 3, 1]);
    assert_eq!(parts[1].to_vec::<f64>().unwrap(), vec![3.0, 4.0, 5.0]);
    assert_eq!(parts[2].to_vec::<f64>().unwrap(), vec![6.0]);
    let empty = Tensor::zeros(&[2, 0], DType::F32).unwrap();
    assert_eq!(empty.chunk(3, 1).unwrap().len(), 3);
    assert_eq!(empty.split(2, 1).unwrap().len(), 1);
    assert_eq!(empty.split(0, 1).unwrap()[0].shape(), vec![2, 0]);

    // Along dim -1 of a 2x5 i64 matrix: chunks of ceil(5/2) = 3 and 2 columns, views of one buffer.
    let m = Tensor::from_vec((0..10i64).collect(), &[2, 5]).unwrap();
    let c = m.chunk(2, -1).unwrap();
    assert_eq!((c[0].shape(), c[0].to_vec::<i64>().unwrap()), (vec![2, 3], vec![0, 1, 2, 5, 6, 7]));
    assert_eq!((c[1].shape(), c[1].to_vec::<i64>().unwrap()), (vec![2, 2], vec![3, 4, 8, 9]));
    assert!(c[1].shares_storage(&m));
    // More chunks than entries: one entry each.
    assert_eq!(m.chunk(9, 1).unwrap().len(), 5);
}

#[test]
fn chunk_and_split_gradients() {
    // x = [1, 2, 3, 4, 5, 6] split(2): y = p0 * p1 + p2 * p2 (elementwise), summed.
    // dL/dx = [p1, p0, 2 p2] = [3, 4, 1, 2, 10, 12]: the three views' gradients add up in x.
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[6]).requires_grad_().unwrap();
    let p = x.split(2, 0).unwrap();
    let y = p[0].mul(&p[1]).unwrap().add(&p[2].mul(&p[2]).unwrap()).unwrap().sum().unwrap();
    y.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), vec![3.0, 4.0, 1.0, 2.0, 10.0, 12.0]);

    let mut rng = Generator::new(13);
    let x = leaf64(&[6, 2], &mut rng);
    let r = gradcheck(
        |xs| {
            let c = xs[0].chunk(3, 0)?;
            c[0].mul(&c[1])?.add(&c[2].tanh()?)
        },
        std::slice::from_ref(&x),
    )
    .unwrap();
    assert!(r.passed, "chunk: {r}");
    let x = leaf64(&[3, 5], &mut rng);
    let r = gradcheck(
        |xs| {
            let p = xs[0].split(2, 1)?; // widths 2, 2, 1
            Tensor::cat(&[p[2].exp()?, p[0].mul(&p[1])?], 1)
        },
        std::slice::from_ref(&x),
    )
    .unwrap();
    assert!(r.passed, "split: {r}");
}

#[test]
fn cat_errors_name_the_op_and_shapes() {
    let a = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let b = Tensor::zeros(&[3, 4], DType::F32).unwrap();
    let e = Tensor::cat(&[a.clone(), b], 0).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { op: "cat", .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("cat") && msg.contains("[2, 3]") && msg.contains("[3, 4]"), "{msg}");

    // Rank mismatch.
    let e = Tensor::cat(&[a.clone(), Tensor::zeros(&[2, 3, 1], DType::F32).unwrap()], 1).unwrap_err();
    assert!(e.to_string().contains("[2, 3, 1]"), "{e}");
    // dtype mismatch: never promoted.
    let e = Tensor::cat(&[a.clone(), Tensor::zeros(&[2, 3], DType::F64).unwrap()], 0).unwrap_err();
    assert!(matches!(e, Error::DTypeMismatch { op: "cat", .. }), "{e:?}");
    // Dimension out of range, empty list, 0-d tensors.
    let e = Tensor::cat(&[a.clone(), a.clone()], 2).unwrap_err();
    assert!(matches!(e, Error::Dim { op: "cat", dim: 2, .. }), "{e:?}");
    assert!(matches!(Tensor::cat(&[], 0).unwrap_err(), Error::Invalid { op: "cat", .. }));
    let e = Tensor::cat(&[Tensor::scalar(1.0f32), Tensor::scalar(2.0f32)], 0).unwrap_err();
    assert!(e.to_string().contains("zero-dimensional"), "{e}");
}

#[test]
fn stack_chunk_split_errors() {
    let a = Tensor::zeros(&[2, 3], DType::F64).unwrap();
    let e = Tensor::stack(&[a.clone(), Tensor::zeros(&[3, 2], DType::F64).unwrap()], 0).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("stack") && msg.contains("[2, 3]") && msg.contains("[3, 2]"), "{msg}");
    assert!(matches!(
        Tensor::stack(std::slice::from_ref(&a), 3).unwrap_err(),
        Error::Dim { op: "stack", .. }
    ));
    assert!(Tensor::stack(std::slice::from_ref(&a), -3).is_ok());
    assert!(matches!(Tensor::stack(&[], 0).unwrap_err(), Error::Invalid { op: "stack", .. }));

    let e = a.chunk(0, 0).unwrap_err();
    assert!(e.to_string().contains("chunk") && e.to_string().contains("[2, 3]"), "{e}");
    let e = a.split(0, 1).unwrap_err();
    assert!(e.to_string().contains("split") && e.to_string().contains("[2, 3]"), "{e}");
    assert!(matches!(a.split(1, 2).unwrap_err(), Error::Dim { op: "split", .. }));
    assert!(matches!(a.chunk(2, -3).unwrap_err(), Error::Dim { op: "chunk", .. }));
}
