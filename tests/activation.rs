//! Activation ops (`ops/activation.rs`) and modules (`nn::{GELU, LeakyReLU, ELU, Softplus, SiLU,
//! Softmax, LogSoftmax}`): PyTorch's values and gradients, gradchecks in f64, stability, errors.

use glassgrad::autograd::gradcheck;
use glassgrad::nn::{ELU, GELU, LeakyReLU, LogSoftmax, Module, SiLU, Softmax, Softplus};
use glassgrad::ops::activation::GeluApprox;
use glassgrad::{DType, Generator, Result, Tensor};

type Act = Box<dyn Fn(&Tensor) -> Result<Tensor>>;

const XS: [f64; 7] = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0];

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: got {g}, want {w}");
    }
}

/// Value and gradient of `f` at XS in f64 (and the value in f32), against PyTorch.
fn check(what: &str, f: impl Fn(&Tensor) -> Result<Tensor>, want_y: &[f64], want_g: &[f64]) {
    let x = Tensor::from_vec(XS.to_vec(), &[7]).unwrap().requires_grad_().unwrap();
    let y = f(&x).unwrap();
    close(&y.to_f64_vec(), want_y, 1e-12, what);
    y.sum().unwrap().backward().unwrap();
    close(&x.grad().unwrap().to_f64_vec(), want_g, 1e-12, &format!("{what} grad"));
    let x32 = Tensor::from_vec(XS.iter().map(|&v| v as f32).collect(), &[7]).unwrap();
    let y32 = f(&x32).unwrap();
    assert_eq!(y32.dtype(), DType::F32);
    close(&y32.to_f64_vec(), want_y, 1e-6, &format!("{what} f32"));
}

// import torch, torch.nn.functional as F
// x = torch.tensor([-3., -1., -0.5, 0., 0.5, 1., 3.], dtype=torch.float64, requires_grad=True)
// for f in [F.gelu, lambda x: F.gelu(x, approximate="tanh"), lambda x: F.leaky_relu(x, 0.1),
//           lambda x: F.elu(x, 1.5), lambda x: F.softplus(x, beta=2.0, threshold=3.0), F.silu]:
//     y = f(x); g, = torch.autograd.grad(y.sum(), x); print(y.tolist(), g.tolist())
#[test]
fn gelu_matches_torch() {
    check(
        "gelu",
        |x| x.gelu(GeluApprox::None),
        &[
            -0.00404969409489031,
            -0.15865525393145702,
            -0.15426876936299344,
            0.0,
            0.34573123063700656,
            0.841344746068543,
            2.99595030590511,
        ],
        &[
            -0.01194564720418392,
            -0.08331547058768635,
            0.13250487534383712,
            0.5,
            0.8674951246561629,
            1.0833154705876864,
            1.011945647204184,
        ],
    );
    check(
        "gelu_tanh",
        |x| x.gelu(GeluApprox::Tanh),
        &[
            -0.0036373920817729943,
            -0.15880800939172324,
            -0.15428599017485606,
            0.0,
            0.34571400982514394,
            0.8411919906082768,
            2.996362607918227,
        ],
        &[
            -0.011584166630969648,
            -0.08296408384578252,
            0.13263009646535764,
            0.5,
            0.8673699035346424,
            1.0829640838457826,
            1.0115841666309695,
        ],
    );
}

#[test]
fn leaky_relu_and_elu_match_torch() {
    check(
        "leaky_relu",
        |x| x.leaky_relu(0.1),
        &[-0.30000000000000004, -0.1, -0.05, 0.0, 0.5, 1.0, 3.0],
        &[0.1, 0.1, 0.1, 0.1, 1.0, 1.0, 1.0],
    );
    check(
        "elu",
        |x| x.elu(1.5),
        &[-1.4253193974482041, -0.9481808382428365, -0.5902040104310499, 0.0, 0.5, 1.0, 3.0],
        &[0.07468060255179591, 0.5518191617571635, 0.9097959895689501, 1.5, 1.0, 1.0, 1.0],
    );
}

#[test]
fn softplus_and_silu_match_torch() {
    check(
        "softplus",
        |x| x.softplus(2.0, 3.0),
        &[
            0.0012378425688652247,
            0.06346400552148625,
            0.15663084375911143,
            0.34657359027997264,
            0.6566308437591114,
            1.0634640055214863,
            3.0,
        ],
        &[
            0.0024726231566347748,
            0.11920292202211755,
            0.2689414213699951,
            0.5,
            0.7310585786300049,
            0.8807970779778824,
            1.0,
        ],
    );
    check(
        "silu",
        |x| x.silu(),
        &[
            -0.14227761953270035,
            -0.2689414213699951,
            -0.1887703343990727,
            0.0,
            0.3112296656009273,
            0.7310585786300049,
            2.8577223804672998,
        ],
        &[
            -0.08810410601516962,
            0.07232948812851325,
            0.2600388126973482,
            0.5,
            0.7399611873026519,
            0.9276705118714869,
            1.0881041060151693,
        ],
    );
}

#[test]
fn gradchecks_in_f64() {
    let mut rng = Generator::new(7);
    let x = Tensor::randn(&[3, 4], DType::F64, &mut rng).unwrap().mul_scalar(2.0).unwrap();
    let x = x.detach().requires_grad_().unwrap();
    let fs: Vec<(&str, Act)> = vec![
        ("gelu", Box::new(|x| x.gelu(GeluApprox::None))),
        ("gelu_tanh", Box::new(|x| x.gelu(GeluApprox::Tanh))),
        ("leaky_relu", Box::new(|x| x.leaky_relu(0.2))),
        ("elu", Box::new(|x| x.elu(0.7))),
        ("softplus", Box::new(|x| x.softplus(1.0, 20.0))),
        ("softplus_beta", Box::new(|x| x.softplus(0.5, 1.0))),
        ("silu", Box::new(|x| x.silu())),
    ];
    for (name, f) in fs {
        let report = gradcheck(|xs: &[Tensor]| f(&xs[0]), std::slice::from_ref(&x)).unwrap();
        assert!(report.passed, "{name}: {report:?}");
    }
}

#[test]
fn large_inputs_stay_finite() {
    // torch (f32): F.softplus([-1000, 1000]) = [0, 1000]; F.silu = [-0, 1000];
    // F.gelu = [-0, 1000]; F.elu = [-1, 1000]
    let x = Tensor::from_vec(vec![-1000.0f32, 1000.0], &[2]).unwrap().requires_grad_().unwrap();
    for (name, y, want) in [
        ("softplus", x.softplus(1.0, 20.0).unwrap(), [0.0, 1000.0]),
        ("softplus_no_threshold", x.softplus(1.0, f64::INFINITY).unwrap(), [0.0, 1000.0]),
        ("silu", x.silu().unwrap(), [0.0, 1000.0]),
        ("gelu", x.gelu(GeluApprox::None).unwrap(), [0.0, 1000.0]),
        ("gelu_tanh", x.gelu(GeluApprox::Tanh).unwrap(), [0.0, 1000.0]),
        ("elu", x.elu(1.0).unwrap(), [-1.0, 1000.0]),
    ] {
        close(&y.to_f64_vec(), &want, 1e-6, name);
        x.zero_grad();
        y.sum().unwrap().backward().unwrap();
        assert!(x.grad().unwrap().to_f64_vec().iter().all(|g| g.is_finite()), "{name} grad");
    }
}

#[test]
fn modules_call_the_ops() {
    let x = Tensor::from_vec(XS.to_vec(), &[1, 7]).unwrap();
    let same = |a: Tensor, b: Tensor| assert_eq!(a.to_f64_vec(), b.to_f64_vec());
    same(GELU::new().forward(&x).unwrap(), x.gelu(GeluApprox::None).unwrap());
    same(GELU::with_approximate(GeluApprox::Tanh).forward(&x).unwrap(), x.gelu(GeluApprox::Tanh).unwrap());
    same(LeakyReLU::default().forward(&x).unwrap(), x.leaky_relu(0.01).unwrap());
    same(ELU::default().forward(&x).unwrap(), x.elu(1.0).unwrap());
    same(Softplus::default().forward(&x).unwrap(), x.softplus(1.0, 20.0).unwrap());
    same(SiLU::new().forward(&x).unwrap(), x.silu().unwrap());
    let p = Softmax::new(-1).forward(&x).unwrap();
    close(&[p.sum().unwrap().item().unwrap()], &[1.0], 1e-12, "softmax sums to 1");
    same(LogSoftmax::new(1).forward(&x).unwrap(), x.log_softmax(1).unwrap());
    assert_eq!(LeakyReLU::default().negative_slope, 0.01);
    assert_eq!(Softplus::default().threshold, 20.0);
    assert_eq!("tanh".parse::<GeluApprox>().unwrap(), GeluApprox::Tanh);
    assert!("erf".parse::<GeluApprox>().is_err());
}

#[test]
fn errors() {
    let x = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    for r in [x.gelu(GeluApprox::None), x.silu(), x.elu(1.0), x.leaky_relu(0.1), x.softplus(1.0, 20.0)] {
        let e = r.unwrap_err().to_string();
        assert!(e.contains("int64") || e.contains("i64"), "{e}");
    }
    let f = Tensor::from_vec(vec![1.0f64], &[1]).unwrap();
    assert!(f.softplus(0.0, 20.0).unwrap_err().to_string().contains("beta"));
    assert!(f.elu(f64::NAN).is_err());
    assert!(f.leaky_relu(f64::INFINITY).is_err());
}

#[test]
fn relu_keeps_nan_and_maps_negative_zero_to_zero() {
    // As torch.relu: a NaN input stays NaN (no silent 0), -0 becomes +0; the gradient at NaN is 0.
    let x =
        glassgrad::Tensor::from_vec(vec![f64::NAN, -0.0, -2.0, 3.0], &[4]).unwrap().requires_grad_().unwrap();
    let y = x.relu().unwrap().to_f64_vec();
    assert!(y[0].is_nan());
    assert!(y[1] == 0.0 && y[1].is_sign_positive());
    assert_eq!(&y[2..], &[0.0, 3.0]);
    x.relu().unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_f64_vec(), vec![0.0, 0.0, 0.0, 1.0]);
}
