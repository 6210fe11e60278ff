//! `Tensor::mf_predict` (the fused r̂ = μ + b_u + b_i + p_u·q_i) and the fused SGD epoch:
//! hand-computed values, the f64 reference, PyTorch's numbers (case files from
//! `tests/cases/make_cases_recsys.py`, run by `glassgrad check` in tests/check.rs style here),
//! finite differences, and bad input.

use glassgrad::ops::factorization::{MfParams, MfSgd, mf_predict_reference, mf_sgd_epoch};
use glassgrad::{DType, Error, Generator, Tensor, gradcheck};

fn t64(v: Vec<f64>, s: &[usize]) -> Tensor {
    Tensor::from_vec(v, s).unwrap()
}
fn ids(v: Vec<i64>) -> Tensor {
    let n = v.len();
    Tensor::from_vec(v, &[n]).unwrap()
}

/// P (2, 2) = [[1, 2], [3, 4]], Q (3, 2) = [[1, 0], [0, 1], [1, 1]], bu = [0.5, -0.5],
/// bi = [0, 1, 2], μ = 3.
fn tables() -> [Tensor; 5] {
    [
        t64(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]),
        t64(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]),
        t64(vec![0.5, -0.5], &[2]),
        t64(vec![0.0, 1.0, 2.0], &[3]),
        Tensor::scalar(3.0f64),
    ]
}

#[test]
fn hand_computed_forward_and_backward() {
    let [p, q, bu, bi, mu] = tables().map(|t| t.requires_grad_().unwrap());
    // Pairs (0,0), (1,2), (0,2): 3 + 0.5 + 0 + 1 = 4.5; 3 − 0.5 + 2 + 7 = 11.5; 3 + 0.5 + 2 + 3 = 8.5.
    let y = Tensor::mf_predict(&ids(vec![0, 1, 0]), &ids(vec![0, 2, 2]), &p, &q, &bu, &bi, &mu).unwrap();
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![4.5, 11.5, 8.5]);
    y.backward_with(&t64(vec![1.0, 10.0, 100.0], &[3])).unwrap();
    // P̄_0 = 1·Q_0 + 100·Q_2 = (101, 100); P̄_1 = 10·Q_2 = (10, 10).
    assert_eq!(p.grad().unwrap().to_vec::<f64>().unwrap(), vec![101.0, 100.0, 10.0, 10.0]);
    // Q̄_0 = 1·P_0 = (1, 2); Q̄_1 untouched; Q̄_2 = 10·P_1 + 100·P_0 = (130, 240).
    assert_eq!(q.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0, 2.0, 0.0, 0.0, 130.0, 240.0]);
    assert_eq!(bu.grad().unwrap().to_vec::<f64>().unwrap(), vec![101.0, 10.0]);
    assert_eq!(bi.grad().unwrap().to_vec::<f64>().unwrap(), vec![1.0, 0.0, 110.0]);
    assert_eq!(mu.grad().unwrap().item().unwrap(), 111.0);
}

#[test]
fn agrees_with_the_reference_in_f32_and_f64() {
    let mut g = Generator::new(7);
    let (nu, ni, k, n) = (13, 17, 6, 200);
    let p = Tensor::randn(&[nu, k], DType::F64, &mut g).unwrap();
    let q = Tensor::randn(&[ni, k], DType::F64, &mut g).unwrap();
    let bu = Tensor::randn(&[nu], DType::F64, &mut g).unwrap();
    let bi = Tensor::randn(&[ni], DType::F64, &mut g).unwrap();
    let users: Vec<usize> = (0..n).map(|_| g.below(nu)).collect();
    let items: Vec<usize> = (0..n).map(|_| g.below(ni)).collect();
    let want = mf_predict_reference(
        &users,
        &items,
        &p.to_vec::<f64>().unwrap(),
        &q.to_vec::<f64>().unwrap(),
        k,
        &bu.to_vec::<f64>().unwrap(),
        &bi.to_vec::<f64>().unwrap(),
        0.25,
    );
    let u = ids(users.iter().map(|&x| x as i64).collect());
    let i = ids(items.iter().map(|&x| x as i64).collect());
    let got = Tensor::mf_predict(&u, &i, &p, &q, &bu, &bi, &Tensor::scalar(0.25f64))
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    let f = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let got32 =
        Tensor::mf_predict(&u, &i, &f(&p), &f(&q), &f(&bu), &f(&bi), &Tensor::scalar(0.25f32)).unwrap();
    for (a, b) in got32.to_vec::<f32>().unwrap().iter().zip(&want) {
        assert!((*a as f64 - b).abs() < 1e-4, "{a} vs {b}");
    }
}

#[test]
fn gradcheck_every_float_input() {
    let mut g = Generator::new(3);
    let leaf =
        |s: &[usize], g: &mut Generator| Tensor::randn(s, DType::F64, g).unwrap().requires_grad_().unwrap();
    let xs = [
        leaf(&[4, 3], &mut g),
        leaf(&[5, 3], &mut g),
        leaf(&[4], &mut g),
        leaf(&[5], &mut g),
        leaf(&[], &mut g),
    ];
    let u = ids(vec![3, 0, 3, 3, 1, 0]);
    let i = ids(vec![4, 4, 0, 2, 2, 4]);
    let r = gradcheck(|x| Tensor::mf_predict(&u, &i, &x[0], &x[1], &x[2], &x[3], &x[4])?.tanh()?.sum(), &xs)
        .unwrap();
    assert!(r.passed, "{r:?}");
}

#[test]
fn pytorch_cases_pass() {
    // The same files `glassgrad check tests/cases/mf_predict tests/cases/seed_recommender` reads.
    let mut out = Vec::new();
    let paths = vec!["tests/cases/mf_predict".into(), "tests/cases/seed_recommender".into()];
    let s = glassgrad::cases::check(&paths, glassgrad::Device::Cpu, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(s.exit_code(), 0, "{text}");
    assert!(text.contains("4 passed, 0 failed"), "{text}");
}

#[test]
fn bad_input_is_an_error_naming_the_op() {
    let [p, q, bu, bi, mu] = tables();
    let err = |r: glassgrad::Result<Tensor>| r.unwrap_err().to_string();
    // Out-of-range ids.
    let e = err(Tensor::mf_predict(&ids(vec![2]), &ids(vec![0]), &p, &q, &bu, &bi, &mu));
    assert!(e.contains("mf_predict") && e.contains("user id 2"), "{e}");
    let e = err(Tensor::mf_predict(&ids(vec![0]), &ids(vec![-1]), &p, &q, &bu, &bi, &mu));
    assert!(e.contains("negative item"), "{e}");
    // Length mismatch, K mismatch, bias shape, non-scalar μ, float ids, dtype mismatch.
    assert!(err(Tensor::mf_predict(&ids(vec![0, 1]), &ids(vec![0]), &p, &q, &bu, &bi, &mu)).contains("(N)"));
    let q4 = t64(vec![0.0; 12], &[3, 4]);
    assert!(err(Tensor::mf_predict(&ids(vec![0]), &ids(vec![0]), &p, &q4, &bu, &bi, &mu)).contains("one K"));
    assert!(
        err(Tensor::mf_predict(&ids(vec![0]), &ids(vec![0]), &p, &q, &bi, &bi, &mu)).contains("user_bias")
    );
    assert!(
        err(Tensor::mf_predict(&ids(vec![0]), &ids(vec![0]), &p, &q, &bu, &bi, &t64(vec![1.0, 2.0], &[2])))
            .contains("scalar")
    );
    let fid = t64(vec![0.0], &[1]);
    assert!(matches!(
        Tensor::mf_predict(&fid, &ids(vec![0]), &p, &q, &bu, &bi, &mu),
        Err(Error::UnsupportedDType { .. })
    ));
    let p32 = p.to_dtype(DType::F32).unwrap();
    assert!(matches!(
        Tensor::mf_predict(&ids(vec![0]), &ids(vec![0]), &p32, &q, &bu, &bi, &mu),
        Err(Error::DTypeMismatch { .. })
    ));
}

#[test]
fn fused_sgd_step_is_minus_lr_times_the_regularised_gradient() {
    // One rating (u=1, i=2, r=5) with the tables above: r̂ = 11.5, e = −6.5.
    let mut m = MfParams {
        p: vec![1.0, 2.0, 3.0, 4.0],
        q: vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        bu: vec![0.5, -0.5],
        bi: vec![0.0, 1.0, 2.0],
        mu: 3.0,
        k: 2,
    };
    let c = MfSgd { lr_bias: 0.1, reg_bias: 0.5, lr_factors: 0.01, reg_factors: 0.2, biased: true };
    let sse = mf_sgd_epoch(&mut m, &[1], &[2], &[5.0], &[0], &c).unwrap();
    assert!((sse - 42.25).abs() < 1e-12);
    let e = -6.5;
    assert!((m.bu[1] - (-0.5 + 0.1 * (e - 0.5 * -0.5))).abs() < 1e-12);
    assert!((m.bi[2] - (2.0 + 0.1 * (e - 0.5 * 2.0))).abs() < 1e-12);
    // p_1 += 0.01 (e q_2 − 0.2 p_1) and q_2 += 0.01 (e p_1 − 0.2 q_2), both from old values.
    assert!((m.p[2] - (3.0 + 0.01 * (e * 1.0 - 0.2 * 3.0))).abs() < 1e-12);
    assert!((m.p[3] - (4.0 + 0.01 * (e * 1.0 - 0.2 * 4.0))).abs() < 1e-12);
    assert!((m.q[4] - (1.0 + 0.01 * (e * 3.0 - 0.2 * 1.0))).abs() < 1e-12);
    assert!((m.q[5] - (1.0 + 0.01 * (e * 4.0 - 0.2 * 1.0))).abs() < 1e-12);
    // Untouched rows stay.
    assert_eq!(&m.p[..2], &[1.0, 2.0]);
    assert_eq!(&m.q[..4], &[1.0, 0.0, 0.0, 1.0]);
    // Out of range is an error, not a panic.
    assert!(mf_sgd_epoch(&mut m, &[5], &[0], &[1.0], &[0], &c).is_err());
}
