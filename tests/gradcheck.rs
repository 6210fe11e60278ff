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
