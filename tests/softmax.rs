//! softmax, log_softmax, logsumexp: PyTorch values, stability at ±1000, gradcheck along every
//! dimension, the parallel path, and errors. PyTorch numbers come from
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

fn x64() -> Tensor {
    Tensor::from_vec(vec![1.0, 2.0, 3.0, -1.0, 0.0, 5.0], &[2, 3]).unwrap().requires_grad_().unwrap()
}

fn g64() -> Tensor {
    Tensor::from_vec(vec![0.5, -1.0, 2.0, 1.0, 3.0, -2.0], &[2, 3]).unwrap()
}

// x = torch.tensor([[1., 2., 3.], [-1., 0., 5.]], dtype=torch.float64, requires_grad=True)
// g = torch.tensor([[0.5, -1., 2.], [1., 3., -2.]], dtype=torch.float64)
// y = F.softmax(x, dim=-1); y.backward(g)
#[test]
fn softmax_last_dim_matches_pytorch() {
    let x = x64();
    let y = x.softmax(-1).unwrap();
    y.backward_with(&g64()).unwrap();
    #[rustfmt::skip]
    close(&y.to_f64_vec(), &[0.09003057317038045, 0.2447284710547976, 0.6652409557748218,
        0.0024561149044509535, 0.006676412513376451, 0.9908674725821726], 1e-14);
    #[rustfmt::skip]
    close(&x.grad().unwrap().to_f64_vec(), &[-0.05678847003696693, -0.5214597727496746, 0.5782482427866417,
        0.007268257030669428, 0.03310999603779131, -0.040378253068460775], 1e-14);
}

// y = F.softmax(x, dim=0); y.backward(g)   (lanes along a non-last dimension: strided path)
#[test]
fn softmax_first_dim_matches_pytorch() {
    let x = x64();
    let y = x.softmax(0).unwrap();
    y.backward_with(&g64()).unwrap();
    #[rustfmt::skip]
    close(&y.to_f64_vec(), &[0.8807970779778823, 0.8807970779778823, 0.11920292202211755,
        0.11920292202211755, 0.11920292202211755, 0.8807970779778823], 1e-14);
    #[rustfmt::skip]
    close(&x.grad().unwrap().to_f64_vec(), &[-0.05249679270175316, -0.4199743416140261, 0.419974341614026,
        0.05249679270175327, 0.419974341614026, -0.41997434161402625], 1e-14);
}

// y = F.log_softmax(x, dim=1); y.backward(g)
// y = F.log_softmax(x, dim=0); y.backward(g)
#[test]
fn log_softmax_matches_pytorch() {
    let x = x64();
    let y = x.log_softmax(1).unwrap();
    y.backward_with(&g64()).unwrap();
    #[rustfmt::skip]
    close(&y.to_f64_vec(), &[-2.4076059644443806, -1.4076059644443804, -0.4076059644443804,
        -6.0091744845917345, -5.0091744845917345, -0.009174484591734727], 1e-14);
    #[rustfmt::skip]
    close(&x.grad().unwrap().to_f64_vec(), &[0.36495414024442935, -1.3670927065821965, 1.0021385663377673,
        0.9950877701910981, 2.986647174973247, -3.9817349451643453], 1e-14);

    let x = x64();
    let y = x.log_softmax(0).unwrap();
    y.backward_with(&g64()).unwrap();
    #[rustfmt::skip]
    close(&y.to_f64_vec(), &[-0.1269280110429726, -0.1269280110429726, -2.1269280110429727,
        -2.1269280110429727, -2.1269280110429727, -0.1269280110429726], 1e-14);
    #[rustfmt::skip]
    close(&x.grad().unwrap().to_f64_vec(), &[-0.8211956169668235, -2.7615941559557644, 2.0,
        0.8211956169668237, 2.761594155955765, -2.0], 1e-14);
}

// y = torch.logsumexp(x, dim=1); y.backward(torch.tensor([2.0, -1.0], dtype=torch.float64))
#[test]
fn logsumexp_matches_pytorch() {
    let x = x64();
    let y = x.logsumexp(1, false).unwrap();
    assert_eq!(y.shape(), vec![2]);
    y.backward_with(&Tensor::from_vec(vec![2.0, -1.0], &[2]).unwrap()).unwrap();
    close(&y.to_f64_vec(), &[3.4076059644443806, 5.0091744845917345], 1e-14);
    #[rustfmt::skip]
    close(&x.grad().unwrap().to_f64_vec(), &[0.18006114634076087, 0.48945694210959517, 1.3304819115496433,
        -0.002456114904450954, -0.006676412513376452, -0.9908674725821728], 1e-14);
    assert_eq!(x.logsumexp(0, true).unwrap().shape(), vec![1, 3]);
    // Hand-computed: logsumexp over dim 0 of column [1, -1] is ln(e + 1/e).
    let col0 = x.logsumexp(0, false).unwrap().to_f64_vec()[0];
    close(&[col0], &[(1f64.exp() + (-1f64).exp()).ln()], 1e-15);
}

#[test]
fn f32_agrees_with_f64() {
    let x32 = x64().detach().to_dtype(DType::F32).unwrap();
    for dim in [0, 1] {
        let a = x32.softmax(dim).unwrap();
        assert_eq!(a.dtype(), DType::F32);
        close(&a.to_f64_vec(), &x64().softmax(dim).unwrap().to_f64_vec(), 1e-6);
        close(
            &x32.log_softmax(dim).unwrap().to_f64_vec(),
            &x64().log_softmax(dim).unwrap().to_f64_vec(),
            1e-6,
        );
        close(
            &x32.logsumexp(dim, false).unwrap().to_f64_vec(),
            &x64().logsumexp(dim, false).unwrap().to_f64_vec(),
            1e-6,
        );
    }
}

// F.log_softmax(torch.tensor([1000.0, -1000.0]), 0)                        -> [0.0, -2000.0]
// F.softmax(torch.tensor([1000.0, -1000.0, 999.0], dtype=torch.float64), 0) ->
//     [0.7310585786300049, 0.0, 0.26894142136999516]
#[test]
fn stable_at_plus_minus_1000() {
    let x = Tensor::from_vec(vec![1000.0f32, -1000.0], &[2]).unwrap().requires_grad_().unwrap();
    let y = x.log_softmax(0).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![0.0, -2000.0]);
    y.backward_with(&Tensor::from_vec(vec![1.0f32, 1.0], &[2]).unwrap()).unwrap();
    // dx = g − softmax·Σg = [1 − 2, 1 − 0]
    assert_eq!(x.grad().unwrap().to_vec::<f32>().unwrap(), vec![-1.0, 1.0]);

    let x = Tensor::from_vec(vec![1000.0f64, -1000.0, 999.0], &[3]).unwrap();
    close(&x.softmax(0).unwrap().to_f64_vec(), &[0.7310585786300049, 0.0, 0.26894142136999516], 1e-15);
    // logsumexp([1000, 1000]) = 1000 + ln 2, and of a lane of −∞ it is −∞ (as PyTorch).
    let l = Tensor::from_vec(vec![1000.0f32, 1000.0], &[1, 2]).unwrap().logsumexp(1, false).unwrap();
    assert_eq!(l.to_vec::<f32>().unwrap(), vec![1000.0 + 2f32.ln()]);
    let l = Tensor::from_vec(vec![f64::NEG_INFINITY; 2], &[2]).unwrap().logsumexp(0, false).unwrap();
    assert_eq!(l.item().unwrap(), f64::NEG_INFINITY);
    // Every value of softmax, log_softmax and their gradients is finite for ±1000 logits.
    let big = Tensor::from_vec(vec![1000.0f32, -1000.0, 500.0, -1000.0, 1000.0, 0.0], &[2, 3])
        .unwrap()
        .requires_grad_()
        .unwrap();
    for dim in [0, 1] {
        let s = big.softmax(dim).unwrap();
        let ls = big.log_softmax(dim).unwrap();
        assert!(s.to_f64_vec().iter().chain(ls.to_f64_vec().iter()).all(|v| v.is_finite()));
        s.sum().unwrap().add(&ls.sum().unwrap()).unwrap().backward().unwrap();
        assert!(big.grad().unwrap().to_f64_vec().iter().all(|v| v.is_finite()));
        big.zero_grad();
    }
}

fn rand_leaf(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap().requires_grad_().unwrap()
}

#[test]
fn gradcheck_every_dimension() {
    let x = rand_leaf(&[2, 3, 4], 1);
    for dim in [-1isize, 0, 1, 2] {
        let r = gradcheck(|xs| xs[0].softmax(dim), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed, "softmax dim {dim}: {r}");
        let r = gradcheck(|xs| xs[0].log_softmax(dim), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed, "log_softmax dim {dim}: {r}");
        for keepdim in [false, true] {
            let r = gradcheck(|xs| xs[0].logsumexp(dim, keepdim), std::slice::from_ref(&x)).unwrap();
            assert!(r.passed, "logsumexp dim {dim} keepdim {keepdim}: {r}");
        }
    }
    // A transposed (non-contiguous) input.
    let xt = rand_leaf(&[4, 3], 2);
    let r = gradcheck(|xs| xs[0].t()?.softmax(1), std::slice::from_ref(&xt)).unwrap();
    assert!(r.passed, "softmax of a transposed view: {r}");
}

#[test]
fn large_tensors_take_the_parallel_path_and_agree_with_the_reference() {
    // 260 × 150 = 39,000 elements, above the parallel threshold; along dim 0 (strided lanes) and
    // dim 1 (contiguous lanes). Each lane must equal the literal reference.
    let x = Tensor::randn(&[260, 150], DType::F64, &mut Generator::new(7)).unwrap().mul_scalar(4.0).unwrap();
    let v = x.to_f64_vec();
    let rows = ndarray::Array2::from_shape_vec((260, 150), v).unwrap();
    let want = glassgrad::reference::softmax(&rows);
    close(&x.softmax(1).unwrap().to_f64_vec(), want.as_slice().unwrap(), 1e-13);
    let want_t = glassgrad::reference::log_softmax(&rows.t().to_owned());
    let got_t = x.log_softmax(0).unwrap().t().unwrap().contiguous().unwrap().to_f64_vec();
    close(&got_t, want_t.as_slice().unwrap(), 1e-13);
    let lse = glassgrad::reference::logsumexp(&rows.t().to_owned());
    close(&x.logsumexp(0, false).unwrap().to_f64_vec(), lse.as_slice().unwrap(), 1e-13);
}

#[test]
fn zero_dimensional_and_empty() {
    // softmax of a 0-d tensor is 1 (PyTorch: F.softmax(torch.tensor(3.0), 0) = 1.0).
    let s = Tensor::scalar(3.0f64).softmax(0).unwrap();
    assert_eq!(s.shape(), Vec::<usize>::new());
    assert_eq!(s.item().unwrap(), 1.0);
    assert_eq!(Tensor::scalar(3.0f64).log_softmax(-1).unwrap().item().unwrap(), 0.0);
    let e = Tensor::zeros(&[0, 3], DType::F32).unwrap();
    assert_eq!(e.softmax(1).unwrap().shape(), vec![0, 3]);
    assert_eq!(e.logsumexp(1, false).unwrap().shape(), vec![0]);
}

#[test]
fn errors_name_the_op_and_shape() {
    let x = Tensor::zeros(&[2, 3], DType::F64).unwrap();
    let err = x.softmax(2).unwrap_err();
    assert!(matches!(err, Error::Dim { op: "softmax", dim: 2, .. }), "{err}");
    assert!(err.to_string().contains("[2, 3]"), "{err}");
    assert!(matches!(x.log_softmax(-3).unwrap_err(), Error::Dim { op: "log_softmax", .. }));
    assert!(matches!(x.logsumexp(5, false).unwrap_err(), Error::Dim { op: "logsumexp", .. }));
    let i = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let err = i.softmax(0).unwrap_err();
    assert!(matches!(err, Error::UnsupportedDType { op: "softmax", .. }), "{err}");
    assert!(matches!(i.log_softmax(0).unwrap_err(), Error::UnsupportedDType { op: "log_softmax", .. }));
}
