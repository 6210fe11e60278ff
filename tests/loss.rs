//! cross_entropy (every option), nll_loss, mse_loss: PyTorch values, gradcheck, stability, errors.
//! PyTorch numbers come from `tests/torch/softmax_loss_linear.py`.

use glassgrad::ops::loss::{CrossEntropyOptions, NllOptions, Reduction};
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

// x = torch.tensor([[1.0, 2.0, 0.5, -1.0], [0.0, -2.0, 3.0, 1.0], [2.5, 0.5, -0.5, 1.5]],
//                  dtype=torch.float64, requires_grad=True)
// t = torch.tensor([0, 3, 1])
// w = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
fn logits() -> Tensor {
    Tensor::from_vec(vec![1.0, 2.0, 0.5, -1.0, 0.0, -2.0, 3.0, 1.0, 2.5, 0.5, -0.5, 1.5], &[3, 4])
        .unwrap()
        .requires_grad_()
        .unwrap()
}
fn targets() -> Tensor {
    Tensor::from_vec(vec![0i64, 3, 1], &[3]).unwrap()
}
fn class_weights() -> Tensor {
    Tensor::from_vec(vec![1.0, 2.0, 0.5, 3.0], &[4]).unwrap()
}

/// Runs the loss, backpropagates (ones for a scalar, [1, −2, 0.5] per row for `none`), and
/// compares the value and the gradient of the logits.
fn check_ce(opts: CrossEntropyOptions, want: &[f64], want_grad: &[f64]) {
    let x = logits();
    let l = x.cross_entropy_with(&targets(), &opts).unwrap();
    if opts.reduction == Reduction::None {
        assert_eq!(l.shape(), vec![3]);
        l.backward_with(&Tensor::from_vec(vec![1.0, -2.0, 0.5], &[3]).unwrap()).unwrap();
    } else {
        assert_eq!(l.shape(), Vec::<usize>::new());
        l.backward().unwrap();
    }
    close(&l.to_f64_vec(), want, 1e-14);
    close(&x.grad().unwrap().to_f64_vec(), want_grad, 1e-14);
}

// l = F.cross_entropy(x, t); l.backward()
#[test]
fn cross_entropy_mean_matches_pytorch() {
    #[rustfmt::skip]
    check_ce(CrossEntropyOptions::default(), &[2.0369623197545885], &[
        -0.25859739398393294, 0.20315334586629236, 0.045329638597835176, 0.010114409519805408,
        0.013924190171783486, 0.001884434220738777, 0.27967483582084396, -0.29548346021336624,
        0.2146380866293241, -0.30428522708598915, 0.010686201093361661, 0.07896093936330338]);
    // The plain entry point is the same op.
    let l = logits().cross_entropy(&targets(), Reduction::Mean).unwrap();
    close(&l.to_f64_vec(), &[2.0369623197545885], 1e-14);
}

// l = F.cross_entropy(x, t, reduction="sum"); l.backward()
#[test]
fn cross_entropy_sum_matches_pytorch() {
    #[rustfmt::skip]
    check_ce(CrossEntropyOptions { reduction: Reduction::Sum, ..Default::default() }, &[6.110886959263765], &[
        -0.7757921819517989, 0.6094600375988771, 0.13598891579350553, 0.030343228559416225,
        0.04177257051535046, 0.005653302662216331, 0.839024507462532, -0.8864503806400987,
        0.6439142598879724, -0.9128556812579675, 0.03205860328008499, 0.23688281808991016]);
}

// l = F.cross_entropy(x, t, reduction="none"); l.backward(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
#[test]
fn cross_entropy_none_matches_pytorch() {
    #[rustfmt::skip]
    check_ce(CrossEntropyOptions { reduction: Reduction::None, ..Default::default() },
        &[1.495181898085856, 2.1755153626167143, 2.4401896985611953], &[
        -0.7757921819517989, 0.6094600375988771, 0.13598891579350553, 0.030343228559416225,
        -0.08354514103070092, -0.011306605324432662, -1.678049014925064, 1.7729007612801975,
        0.3219571299439862, -0.4564278406289837, 0.016029301640042494, 0.11844140904495508]);
}

// l = F.cross_entropy(x, t, weight=w); l.backward()
#[test]
fn cross_entropy_weighted_mean_matches_pytorch() {
    #[rustfmt::skip]
    check_ce(CrossEntropyOptions { weight: Some(class_weights()), ..Default::default() }, &[2.1503512305097314], &[
        -0.12929869699196647, 0.10157667293314618, 0.022664819298917588, 0.005057204759902704,
        0.02088628525767523, 0.0028266513311081655, 0.419512253731266, -0.44322519032004937,
        0.2146380866293241, -0.30428522708598915, 0.010686201093361661, 0.07896093936330338]);
}

// l = F.cross_entropy(x, t, ignore_index=3); l.backward()
#[test]
fn cross_entropy_ignore_index_matches_pytorch() {
    #[rustfmt::skip]
    check_ce(CrossEntropyOptions { ignore_index: Some(3), ..Default::default() }, &[1.9676857983235256], &[
        -0.38789609097589944, 0.30473001879943856, 0.06799445789675276, 0.015171614279708113,
        0.0, 0.0, 0.0, 0.0,
        0.3219571299439862, -0.4564278406289837, 0.016029301640042494, 0.11844140904495508]);
}

// l = F.cross_entropy(x, t, label_smoothing=0.1); l.backward()
#[test]
fn cross_entropy_label_smoothing_matches_pytorch() {
    #[rustfmt::skip]
    check_ce(CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() }, &[2.0494623197545887], &[
        -0.23359739398393295, 0.1948200125329591, 0.03699630526450186, 0.001781076186472078,
        0.005590856838450155, -0.006448899112594556, 0.2713415024875107, -0.2704834602133663,
        0.20630475329599085, -0.27928522708598913, 0.0023528677600283326, 0.07062760602997008]);
}

// l = F.cross_entropy(x, t, weight=w, ignore_index=3, label_smoothing=0.2); l.backward()
// l = F.cross_entropy(x, t, weight=w, label_smoothing=0.3, reduction="sum"); l.backward()
#[test]
fn cross_entropy_all_options_match_pytorch() {
    let opts = CrossEntropyOptions {
        weight: Some(class_weights()),
        ignore_index: Some(3),
        label_smoothing: 0.2,
        ..Default::default()
    };
    #[rustfmt::skip]
    check_ce(opts, &[2.1223149350256296], &[
        -0.1992554015652579, 0.19521418076624558, 0.04266251008923124, -0.03862128929021892,
        0.0, 0.0, 0.0, 0.0,
        0.3965116500947823, -0.5107490621405291, 0.012237603771387868, 0.10199980827435903]);
    let opts = CrossEntropyOptions {
        reduction: Reduction::Sum,
        weight: Some(class_weights()),
        label_smoothing: 0.3,
        ..Default::default()
    };
    #[rustfmt::skip]
    check_ce(opts, &[12.441782560781958], &[
        -0.508753216067761, 0.5737337946486666, 0.12398683750478781, -0.1889674160856932,
        0.033086526208469295, -0.13537207936151524, 2.1334759130593013, -2.0311903599062555,
        1.1403881655385477, -1.3855150983744133, 0.023010613691160406, 0.2221163191447054]);
}

// lp = F.log_softmax(x, 1).detach().requires_grad_()
// l = F.nll_loss(lp, t, weight=w); l.backward()
#[test]
fn nll_loss_matches_pytorch_and_cross_entropy() {
    let lp = logits().detach().log_softmax(1).unwrap().requires_grad_().unwrap();
    let l = lp
        .nll_loss_with(&targets(), &NllOptions { weight: Some(class_weights()), ..Default::default() })
        .unwrap();
    l.backward().unwrap();
    close(&l.to_f64_vec(), &[2.1503512305097314], 1e-14);
    #[rustfmt::skip]
    close(&lp.grad().unwrap().to_f64_vec(), &[
        -0.16666666666666666, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, 0.0, -0.3333333333333333, 0.0, 0.0], 1e-15);
    // nll_loss(log_softmax(x)) = cross_entropy(x), for every reduction.
    for r in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let a = logits().log_softmax(1).unwrap().nll_loss(&targets(), r).unwrap();
        let b = logits().cross_entropy(&targets(), r).unwrap();
        close(&a.to_f64_vec(), &b.to_f64_vec(), 1e-14);
    }
}

// a = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
// b = torch.tensor([[0.5, 2.0], [1.0, 1.0]], dtype=torch.float64)
// F.mse_loss(a, b) = 2.0625; reduction="sum": 8.25; reduction="none": [0.25, 0.0, 4.0, 4.0]
#[test]
fn mse_loss_matches_pytorch() {
    let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, -1.0], &[2, 2]).unwrap();
    let b = Tensor::from_vec(vec![0.5, 2.0, 1.0, 1.0], &[2, 2]).unwrap();
    assert_eq!(a.mse_loss(&b, Reduction::Mean).unwrap().item().unwrap(), 2.0625);
    assert_eq!(a.mse_loss(&b, Reduction::Sum).unwrap().item().unwrap(), 8.25);
    let none = a.mse_loss(&b, Reduction::None).unwrap();
    assert_eq!(none.shape(), vec![2, 2]);
    assert_eq!(none.to_f64_vec(), vec![0.25, 0.0, 4.0, 4.0]);
    // Hand-computed gradient of the mean: 2(a − b)/4 = [0.25, 0, 1, −1].
    let a = a.requires_grad_().unwrap();
    a.mse_loss(&b, Reduction::Mean).unwrap().backward().unwrap();
    assert_eq!(a.grad().unwrap().to_f64_vec(), vec![0.25, 0.0, 1.0, -1.0]);
}

fn rand_leaf(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap().requires_grad_().unwrap()
}

#[test]
fn gradcheck_cross_entropy_every_option() {
    let x = rand_leaf(&[5, 4], 11);
    let t = Tensor::from_vec(vec![0i64, 3, 1, 3, 2], &[5]).unwrap();
    let w = Tensor::from_vec(vec![0.5, 2.0, 1.5, 0.25], &[4]).unwrap();
    let cases = [
        CrossEntropyOptions::default(),
        CrossEntropyOptions { reduction: Reduction::Sum, ..Default::default() },
        CrossEntropyOptions { reduction: Reduction::None, ..Default::default() },
        CrossEntropyOptions { weight: Some(w.clone()), ..Default::default() },
        CrossEntropyOptions { ignore_index: Some(3), ..Default::default() },
        CrossEntropyOptions { label_smoothing: 0.15, ..Default::default() },
        CrossEntropyOptions {
            reduction: Reduction::None,
            weight: Some(w.clone()),
            ignore_index: Some(1),
            label_smoothing: 0.4,
        },
        CrossEntropyOptions {
            weight: Some(w),
            ignore_index: Some(0),
            label_smoothing: 1.0,
            ..Default::default()
        },
    ];
    for opts in cases {
        let r = gradcheck(|xs| xs[0].cross_entropy_with(&t, &opts), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed, "{opts:?}: {r}");
    }
}

#[test]
fn gradcheck_nll_and_mse() {
    let z = rand_leaf(&[4, 3], 12);
    let t = Tensor::from_vec(vec![2i64, 0, 1, 2], &[4]).unwrap();
    let w = Tensor::from_vec(vec![0.5, 2.0, 1.5], &[3]).unwrap();
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let opts = NllOptions { reduction, weight: Some(w.clone()), ignore_index: Some(0) };
        let r = gradcheck(|xs| xs[0].nll_loss_with(&t, &opts), std::slice::from_ref(&z)).unwrap();
        assert!(r.passed, "nll {reduction}: {r}");
        let r = gradcheck(|xs| xs[0].nll_loss(&t, reduction), std::slice::from_ref(&z)).unwrap();
        assert!(r.passed, "nll {reduction}: {r}");
        // mse_loss: both the input and the target get gradients.
        let (a, b) = (rand_leaf(&[2, 3], 13), rand_leaf(&[2, 3], 14));
        let r = gradcheck(|xs| xs[0].mse_loss(&xs[1], reduction), &[a, b]).unwrap();
        assert!(r.passed, "mse {reduction}: {r}");
    }
}

#[test]
fn cross_entropy_is_stable_and_f32_agrees() {
    // Logits of ±1000 in f32: row 0 is certain of its target (loss 0), row 1 certain of the
    // wrong class (loss 2000 exactly); the gradient is (p − onehot)/2.
    let x = Tensor::from_vec(vec![1000.0f32, -1000.0, 1000.0, -1000.0], &[2, 2])
        .unwrap()
        .requires_grad_()
        .unwrap();
    let t = Tensor::from_vec(vec![0i64, 1], &[2]).unwrap();
    let l = x.cross_entropy(&t, Reduction::None).unwrap();
    assert_eq!(l.to_vec::<f32>().unwrap(), vec![0.0, 2000.0]);
    let l = x.cross_entropy(&t, Reduction::Mean).unwrap();
    assert_eq!(l.item().unwrap(), 1000.0);
    l.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f32>().unwrap(), vec![0.0, 0.0, 0.5, -0.5]);
    // f32 agrees with f64 on ordinary values.
    let x32 = logits().detach().to_dtype(DType::F32).unwrap();
    let a = x32.cross_entropy(&targets(), Reduction::Mean).unwrap();
    assert_eq!(a.dtype(), DType::F32);
    close(&a.to_f64_vec(), &[2.0369623197545885], 1e-6);
}

#[test]
fn every_row_ignored_gives_nan_mean_and_zero_gradient() {
    // PyTorch: F.cross_entropy(x, torch.tensor([-100, -100, -100])) is nan; x.grad is all zeros.
    let x = logits();
    let t = Tensor::from_vec(vec![-100i64, -100, -100], &[3]).unwrap();
    let l = x.cross_entropy(&t, Reduction::Mean).unwrap();
    assert!(l.item().unwrap().is_nan());
    l.backward().unwrap();
    assert!(x.grad().unwrap().to_f64_vec().iter().all(|&v| v == 0.0));
    assert_eq!(logits().cross_entropy(&t, Reduction::Sum).unwrap().item().unwrap(), 0.0);
}

#[test]
fn reduction_parses_pytorch_names() {
    assert_eq!("none".parse::<Reduction>().unwrap(), Reduction::None);
    assert_eq!("mean".parse::<Reduction>().unwrap(), Reduction::Mean);
    assert_eq!("sum".parse::<Reduction>().unwrap(), Reduction::Sum);
    assert!("avg".parse::<Reduction>().is_err());
    assert_eq!(Reduction::default(), Reduction::Mean);
    assert_eq!(Reduction::Sum.to_string(), "sum");
}

#[test]
fn bad_class_index_is_an_index_error_naming_value_and_shapes() {
    let x = logits();
    for bad in [4i64, -1, 99] {
        let t = Tensor::from_vec(vec![0i64, bad, 1], &[3]).unwrap();
        let err = x.cross_entropy(&t, Reduction::Mean).unwrap_err();
        match &err {
            Error::Index { op, index, size, shape, .. } => {
                assert_eq!((*op, *index, *size, shape.clone()), ("cross_entropy", bad, 4, vec![3, 4]));
            }
            other => panic!("expected an index error, got {other}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&bad.to_string()) && msg.contains("[3, 4]") && msg.contains("[3]"), "{msg}");
        let err = x.nll_loss(&t, Reduction::Mean).unwrap_err();
        assert!(matches!(err, Error::Index { op: "nll_loss", .. }), "{err}");
    }
    // −100 is ignored by default, but an error when ignore_index is unset.
    let t = Tensor::from_vec(vec![0i64, -100, 1], &[3]).unwrap();
    assert!(x.cross_entropy(&t, Reduction::Mean).is_ok());
    let opts = CrossEntropyOptions { ignore_index: None, ..Default::default() };
    assert!(matches!(x.cross_entropy_with(&t, &opts).unwrap_err(), Error::Index { index: -100, .. }));
}

#[test]
fn bad_shapes_dtypes_and_options_are_errors() {
    let x = logits();
    // Target of the wrong length, the wrong dtype, logits of the wrong rank.
    let t2 = Tensor::from_vec(vec![0i64, 1], &[2]).unwrap();
    let err = x.cross_entropy(&t2, Reduction::Mean).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "cross_entropy", .. }), "{err}");
    assert!(err.to_string().contains("[3, 4]") && err.to_string().contains("[2]"), "{err}");
    let tf = Tensor::from_vec(vec![0.0, 1.0, 2.0], &[3]).unwrap();
    assert!(matches!(x.cross_entropy(&tf, Reduction::Mean).unwrap_err(), Error::UnsupportedDType { .. }));
    let x1 = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    assert!(matches!(x1.cross_entropy(&targets(), Reduction::Mean).unwrap_err(), Error::Shape { .. }));
    // Weight of the wrong length or dtype; label smoothing outside [0, 1].
    let opts =
        CrossEntropyOptions { weight: Some(Tensor::ones(&[3], DType::F64).unwrap()), ..Default::default() };
    assert!(matches!(x.cross_entropy_with(&targets(), &opts).unwrap_err(), Error::ShapeMismatch { .. }));
    let opts =
        CrossEntropyOptions { weight: Some(Tensor::ones(&[4], DType::F32).unwrap()), ..Default::default() };
    assert!(matches!(x.cross_entropy_with(&targets(), &opts).unwrap_err(), Error::DTypeMismatch { .. }));
    let opts = CrossEntropyOptions { label_smoothing: 1.5, ..Default::default() };
    assert!(matches!(x.cross_entropy_with(&targets(), &opts).unwrap_err(), Error::Invalid { .. }));
    // mse_loss: shapes must match exactly (no broadcasting), and dtypes too.
    let a = Tensor::zeros(&[2, 3], DType::F64).unwrap();
    let err = a.mse_loss(&Tensor::zeros(&[3], DType::F64).unwrap(), Reduction::Mean).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "mse_loss", .. }), "{err}");
    let err = a.mse_loss(&Tensor::zeros(&[2, 3], DType::F32).unwrap(), Reduction::Mean).unwrap_err();
    assert!(matches!(err, Error::DTypeMismatch { op: "mse_loss", .. }), "{err}");
}
