//! linear: PyTorch values for a 3-D input, gradcheck of all three inputs (with and without bias,
//! 1-D, 2-D and 3-D inputs, a transposed input), f32, errors. PyTorch numbers come from
//! `tests/torch/softmax_loss_linear.py`.

use glassgrad::{DType, Error, Generator, Tensor, gradcheck};

fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths: got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}"
        );
    }
}

fn leaf(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap().requires_grad_().unwrap()
}

// x = torch.arange(12, dtype=torch.float64).reshape(2, 2, 3).sub(5.0).div(4.0).requires_grad_()
// W = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=torch.float64, requires_grad=True)
// bias = torch.tensor([0.1, -0.2], dtype=torch.float64, requires_grad=True)
// y = F.linear(x, W, bias)
// y.backward(torch.tensor([[[1.0, -1.0], [0.5, 2.0]], [[-1.5, 0.0], [3.0, 1.0]]], dtype=torch.float64))
#[test]
fn three_d_input_with_bias_matches_pytorch() {
    let x = leaf((0..12).map(|i| (i as f64 - 5.0) / 4.0).collect(), &[2, 2, 3]);
    let w = leaf(vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.5], &[2, 3]);
    let b = leaf(vec![0.1, -0.2], &[2]);
    let y = x.linear(&w, Some(&b)).unwrap();
    assert_eq!(y.shape(), vec![2, 2, 2]);
    y.backward_with(&Tensor::from_vec(vec![1.0, -1.0, 0.5, 2.0, -1.5, 0.0, 3.0, 1.0], &[2, 2, 2]).unwrap())
        .unwrap();
    close(&y.to_f64_vec(), &[-1.025, -1.95, 0.1, -1.0125, 1.225, -0.07500000000000001, 2.35, 0.8625], 1e-15);
    #[rustfmt::skip]
    close(&x.grad().unwrap().to_f64_vec(),
        &[-1.0, -1.25, 2.5, 3.25, 0.0, 0.0, -0.75, 1.5, -3.0, 3.0, -2.75, 5.5], 1e-15);
    close(&w.grad().unwrap().to_f64_vec(), &[1.125, 1.875, 2.625, 1.25, 1.75, 2.25], 1e-15);
    close(&b.grad().unwrap().to_f64_vec(), &[3.0, 2.0], 1e-15);
}

#[test]
fn without_bias_equals_x_times_w_transposed() {
    // Hand-computed: [1, 2] · [[3, 4], [5, 6]]ᵀ = [1·3 + 2·4, 1·5 + 2·6] = [11, 17].
    let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
    let w = Tensor::from_vec(vec![3.0, 4.0, 5.0, 6.0], &[2, 2]).unwrap();
    assert_eq!(x.linear(&w, None).unwrap().to_f64_vec(), vec![11.0, 17.0]);
    // A 1-D input gives a 1-D output, as F.linear.
    let y = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap().linear(&w, None).unwrap();
    assert_eq!((y.shape(), y.to_f64_vec()), (vec![2], vec![11.0, 17.0]));
    // f32 works and stays f32.
    let y32 = x.to_dtype(DType::F32).unwrap().linear(&w.to_dtype(DType::F32).unwrap(), None).unwrap();
    assert_eq!(y32.to_vec::<f32>().unwrap(), vec![11.0, 17.0]);
}

fn rand_leaf(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap().requires_grad_().unwrap()
}

#[test]
fn gradcheck_all_inputs() {
    let w = rand_leaf(&[4, 3], 2);
    let b = rand_leaf(&[4], 3);
    for (k, shape) in [vec![3], vec![5, 3], vec![2, 3, 3]].into_iter().enumerate() {
        let x = rand_leaf(&shape, 10 + k as u64);
        let r =
            gradcheck(|xs| xs[0].linear(&xs[1], Some(&xs[2])), &[x.clone(), w.clone(), b.clone()]).unwrap();
        assert!(r.passed, "with bias, x {shape:?}: {r}");
        let r = gradcheck(|xs| xs[0].linear(&xs[1], None), &[x.clone(), w.clone()]).unwrap();
        assert!(r.passed, "without bias, x {shape:?}: {r}");
    }
    // A transposed (non-contiguous) input, and only some inputs requiring gradients.
    let xt = rand_leaf(&[3, 5], 20);
    let r = gradcheck(|xs| xs[0].t()?.linear(&xs[1], Some(&xs[2])), &[xt, w.clone(), b.clone()]).unwrap();
    assert!(r.passed, "transposed x: {r}");
    let x_const = Tensor::randn(&[5, 3], DType::F64, &mut Generator::new(21)).unwrap();
    let r = gradcheck(|xs| x_const.linear(&xs[0], Some(&xs[1])), &[w, b]).unwrap();
    assert!(r.passed, "constant x: {r}");
}

#[test]
fn bias_gradient_sums_over_every_leading_dimension() {
    let x = Tensor::ones(&[2, 3, 4], DType::F64).unwrap();
    let w = Tensor::ones(&[5, 4], DType::F64).unwrap();
    let b = Tensor::zeros(&[5], DType::F64).unwrap().requires_grad_().unwrap();
    x.linear(&w, Some(&b)).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(b.grad().unwrap().to_f64_vec(), vec![6.0; 5]);
}

#[test]
fn shape_and_dtype_errors_name_linear_and_the_shapes() {
    let x = Tensor::zeros(&[2, 3], DType::F64).unwrap();
    let w = Tensor::zeros(&[4, 5], DType::F64).unwrap();
    let err = x.linear(&w, None).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "linear", .. }), "{err}");
    assert!(err.to_string().contains("[2, 3]") && err.to_string().contains("[4, 5]"), "{err}");
    let w = Tensor::zeros(&[4, 3], DType::F64).unwrap();
    let err = x.linear(&w, Some(&Tensor::zeros(&[3], DType::F64).unwrap())).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "linear", .. }), "{err}");
    assert!(err.to_string().contains("[3]") && err.to_string().contains("[4, 3]"), "{err}");
    let err = x.linear(&Tensor::zeros(&[3], DType::F64).unwrap(), None).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "linear", .. }), "{err}");
    let err = Tensor::scalar(1.0f64).linear(&w, None).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "linear", .. }), "{err}");
    let err = x.linear(&w.to_dtype(DType::F32).unwrap(), None).unwrap_err();
    assert!(matches!(err, Error::DTypeMismatch { op: "linear", .. }), "{err}");
    let err = x.linear(&w, Some(&Tensor::zeros(&[4], DType::F32).unwrap())).unwrap_err();
    assert!(matches!(err, Error::DTypeMismatch { op: "linear", .. }), "{err}");
}
