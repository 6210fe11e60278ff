//! The vocabulary of the CPU–CUDA agreement checks: a check, its outcome, the comparator.

use crate::error::Result;
use crate::tensor::Tensor;

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `op/dtype`.
    pub name: String,
    /// Largest relative difference over the output and every gradient.
    pub max_err: f64,
    /// The tolerance it was held to.
    pub tol: f64,
    /// An error on either device, if any.
    pub error: Option<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.max_err <= self.tol
    }
}

pub(crate) type OpFn = fn(&[Tensor]) -> Result<Tensor>;

/// One op check: (name, input shapes, whether inputs are positive, the op). An op whose output is
/// not f32/f64 (a comparison's bool, an argmax's i64) is compared on its values only; otherwise
/// every input must receive a gradient.
pub(crate) type Check = (&'static str, Vec<Vec<usize>>, bool, OpFn);

/// The difference of one element, `cpu` against `dev`, relative to $1 + |{\rm cpu}|$. A
/// non-finite value on either side agrees only with the same value on the other (NaN with NaN,
/// $+\infty$ with $+\infty$); any other pairing is an infinite difference, so a kernel that
/// writes NaN where the CPU has a number fails every tolerance.
pub(crate) fn rel_diff(cpu: f64, dev: f64) -> f64 {
    if cpu == dev || (cpu.is_nan() && dev.is_nan()) {
        0.0
    } else if cpu.is_finite() && dev.is_finite() {
        (cpu - dev).abs() / (1.0 + cpu.abs())
    } else {
        f64::INFINITY
    }
}

/// The larger of two differences, NaN if either is (`f64::max` would drop a NaN and let it pass).
pub(crate) fn worst(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

/// The largest [`rel_diff`] of `a` (the CPU's values) and `b` (the device's); infinite when the
/// lengths differ.
pub(crate) fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter().zip(b).map(|(&x, &y)| rel_diff(x, y)).fold(0.0, worst)
}

/// The negative control of the agreement checks: the comparator must reject a copy of a CPU
/// result with one NaN, one infinity, or one element off by 1e-3 in it. It runs first in every
/// `selftest --device cuda`; if it passes a corrupted result, every other "ok" means nothing.
pub(crate) fn negative_control() -> Outcome {
    let cpu: Vec<f64> = (0..64).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut failures = Vec::new();
    for (what, bad) in [("NaN", f64::NAN), ("+inf", f64::INFINITY), ("an error of 1e-3", cpu[17] + 1e-3)] {
        let mut dev = cpu.clone();
        dev[17] = bad;
        let e = max_rel_diff(&cpu, &dev);
        if e <= 1e-4 {
            failures.push(format!("the comparator passed a result with {what} (max_err {e})"));
        }
    }
    if max_rel_diff(&cpu, &cpu) != 0.0 {
        failures.push("the comparator failed identical results".to_string());
    }
    Outcome {
        name: "negative_control/comparator".to_string(),
        max_err: if failures.is_empty() { 0.0 } else { f64::INFINITY },
        tol: 0.0,
        error: (!failures.is_empty()).then(|| failures.join("; ")),
    }
}

/// A check's outcome from its result.
pub(crate) fn outcome(name: String, tol: f64, result: Result<f64>) -> Outcome {
    match result {
        Ok(e) => Outcome { name, max_err: e, tol, error: None },
        Err(e) => Outcome { name, max_err: f64::NAN, tol, error: Some(e.to_string()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparator_fails_on_values_the_cpu_does_not_have() {
        let cpu = [1.0, -2.0, 0.5];
        assert_eq!(max_rel_diff(&cpu, &cpu), 0.0);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let dev = [1.0, bad, 0.5];
            assert_eq!(max_rel_diff(&cpu, &dev), f64::INFINITY, "{bad}");
            // and the other way round: the device finite where the CPU is not
            assert_eq!(max_rel_diff(&dev, &cpu), f64::INFINITY, "{bad}");
        }
        // The same non-finite value on both sides agrees (an op that returns NaN for a NaN input).
        assert_eq!(max_rel_diff(&[f64::NAN, f64::INFINITY], &[f64::NAN, f64::INFINITY]), 0.0);
        assert_eq!(max_rel_diff(&[f64::INFINITY], &[f64::NEG_INFINITY]), f64::INFINITY);
        assert!((max_rel_diff(&[1.0], &[1.5]) - 0.25).abs() < 1e-15);
        assert_eq!(max_rel_diff(&[1.0], &[1.0, 2.0]), f64::INFINITY);
        assert!(worst(0.5, f64::NAN).is_nan() && worst(f64::NAN, 0.5).is_nan());
        let o = Outcome { name: "x".into(), max_err: f64::NAN, tol: 1e-4, error: None };
        assert!(!o.passed(), "a NaN error must not pass");
        assert!(negative_control().passed(), "{:?}", negative_control().error);
    }
}
