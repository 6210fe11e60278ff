//! Every differentiable op passes a finite-difference gradient check in f64.

#[test]
fn every_op_in_the_suite_passes_gradcheck() {
    let suite = glassgrad::selftest::suite::suite();
    assert!(suite.len() >= 20);
    let mut failures = Vec::new();
    for case in &suite {
        match (case.run)() {
            Ok(r) if r.passed => {}
            Ok(r) => failures.push(format!("{}: {r}", case.op)),
            Err(e) => failures.push(format!("{}: error {e}", case.op)),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    use glassgrad::Tensor;
    // A deliberately wrong backward: x*x computed as x.detach()*x has gradient x, not 2x.
    let x = glassgrad::selftest::suite::leaf_n(&[4], 3).unwrap();
    let r = glassgrad::gradcheck(|xs: &[Tensor]| xs[0].detach().mul(&xs[0]), &[x]).unwrap();
    assert!(!r.passed, "{r}");
    assert!(r.max_abs_err > 0.1);
}

#[test]
fn gradcheck_fails_and_reports_a_nan_difference() {
    use glassgrad::Tensor;
    // sqrt at 0: the central difference reads sqrt(-eps) = NaN. The check must fail and say NaN,
    // not report an error of 0 (f64::max drops NaN).
    let x = Tensor::from_vec(vec![0.0f64, 1.0], &[2]).unwrap().requires_grad_().unwrap();
    let r = glassgrad::gradcheck(|xs: &[Tensor]| xs[0].sqrt(), &[x]).unwrap();
    assert!(!r.passed, "{r}");
    assert!(r.max_abs_err.is_nan() && r.max_rel_err.is_nan(), "{r}");
    assert_eq!(r.worst.1, 0);
}
