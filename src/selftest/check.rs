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

/// The largest difference between `a` and `b` relative to $1 + |a|$ (infinite when the lengths differ).
pub(crate) fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| if x == y { 0.0 } else { (x - y).abs() / (1.0 + x.abs()) })
        .fold(0.0, f64::max)
}

/// A check's outcome from its result.
pub(crate) fn outcome(name: String, tol: f64, result: Result<f64>) -> Outcome {
    match result {
        Ok(e) => Outcome { name, max_err: e, tol, error: None },
        Err(e) => Outcome { name, max_err: f64::NAN, tol, error: Some(e.to_string()) },
    }
}
