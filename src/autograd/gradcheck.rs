//! Finite-difference gradient checking in f64.
//!
//! For a function $f$ of tensors $x_1, \dots, x_n$ and a fixed upstream gradient $g$ (seeded
//! random values), autograd gives $\frac{\partial}{\partial x_{i,j}} \langle g, f(x) \rangle$ for every element.
//! The central difference
//! $$\frac{\langle g, f(x + \varepsilon e_{ij})\rangle - \langle g, f(x - \varepsilon e_{ij})\rangle}{2\varepsilon}$$
//! estimates the same number with error $O(\varepsilon^2)$. An element passes when
//! $|a - n| \le \text{atol} + \text{rtol}\,|n|$, PyTorch's `gradcheck` rule.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Tensor};

/// The outcome of [`gradcheck`]: the worst element over every input.
#[derive(Debug, Clone)]
pub struct GradcheckReport {
    /// Largest `|analytical − numerical|`.
    pub max_abs_err: f64,
    /// Largest `|analytical − numerical| / max(|numerical|, 1e-12)` among elements with
    /// `|numerical| > atol` (elsewhere the relative error says nothing).
    pub max_rel_err: f64,
    /// Where the worst absolute error is: (input index, flat element index).
    pub worst: (usize, usize),
    /// Analytical and numerical values at `worst`.
    pub analytical: f64,
    pub numerical: f64,
    /// Elements compared.
    pub checked: usize,
    pub passed: bool,
}

impl std::fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} over {} elements: max abs err {:.3e}, max rel err {:.3e}; worst at input {} element {} (analytical {:.6e}, numerical {:.6e})",
            if self.passed { "pass" } else { "FAIL" },
            self.checked,
            self.max_abs_err,
            self.max_rel_err,
            self.worst.0,
            self.worst.1,
            self.analytical,
            self.numerical
        )
    }
}

/// [`gradcheck_with`] with PyTorch's defaults: `eps = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`.
pub fn gradcheck<F>(f: F, inputs: &[Tensor]) -> Result<GradcheckReport>
where
    F: Fn(&[Tensor]) -> Result<Tensor>,
{
    gradcheck_with(f, inputs, 1e-6, 1e-5, 1e-3)
}

/// Compares autograd's gradient of `f` at `inputs` with central differences.
///
/// Every input must be an f64 tensor; those that require a gradient are checked (the others, e.g.
/// index tensors, are passed through). Returns the worst element; `passed` says whether all pass.
pub fn gradcheck_with<F>(f: F, inputs: &[Tensor], eps: f64, atol: f64, rtol: f64) -> Result<GradcheckReport>
where
    F: Fn(&[Tensor]) -> Result<Tensor>,
{
    let checked: Vec<usize> = (0..inputs.len()).filter(|&i| inputs[i].requires_grad()).collect();
    if checked.is_empty() {
        return Err(Error::invalid("gradcheck", "no input requires a gradient"));
    }
    for &i in &checked {
        if inputs[i].dtype() != DType::F64 {
            return Err(Error::UnsupportedDType {
                op: "gradcheck",
                dtype: inputs[i].dtype(),
                shape: inputs[i].shape(),
                expected: "f64 (finite differences in f32 are too coarse to check anything)",
            });
        }
        if !inputs[i].is_leaf() {
            return Err(Error::invalid("gradcheck", format!("input {i} is not a leaf")));
        }
    }

    // Analytical: backward with a fixed random upstream gradient.
    for &i in &checked {
        inputs[i].zero_grad();
    }
    let out = f(inputs)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x9e3779b97f4a7c15);
    let g: Vec<f64> = (0..out.numel()).map(|_| StandardNormal.sample(&mut rng)).collect();
    let g = Tensor::from_vec(g, &out.shape())?;
    let out_dtype = out.dtype();
    let g = g.to_dtype(out_dtype)?;
    out.backward_with(&g)?;
    let g_vals = g.to_f64_vec();
    let dot = |t: &Tensor| -> f64 { t.to_f64_vec().iter().zip(&g_vals).map(|(a, b)| a * b).sum() };

    let mut report = GradcheckReport {
        max_abs_err: 0.0,
        max_rel_err: 0.0,
        worst: (checked[0], 0),
        analytical: 0.0,
        numerical: 0.0,
        checked: 0,
        passed: true,
    };
    for &i in &checked {
        let x = &inputs[i];
        let analytical = match x.grad() {
            Some(gr) => gr.to_f64_vec(),
            None => vec![0.0; x.numel()],
        };
        let original = x.to_f64_vec();
        let shape = x.shape();
        for j in 0..original.len() {
            let eval = |delta: f64| -> Result<f64> {
                let mut v = original.clone();
                v[j] += delta;
                x.set_data(Data::F64(
                    ndarray::ArrayD::from_shape_vec(shape.clone(), v)
                        .map_err(|e| Error::invalid("gradcheck", e.to_string()))?
                        .into_shared(),
                ))?;
                let y = super::grad_mode::no_grad(|| f(inputs))?;
                Ok(dot(&y))
            };
            let plus = eval(eps)?;
            let minus = eval(-eps)?;
            let numerical = (plus - minus) / (2.0 * eps);
            let a = analytical[j];
            let abs = (a - numerical).abs();
            let ok = abs <= atol + rtol * numerical.abs() && a.is_finite();
            let rel = if numerical.abs() > atol || abs.is_nan() { abs / numerical.abs() } else { 0.0 };
            report.checked += 1;
            // NaN-propagating maxima: `f64::max` would drop a NaN and report a failing element
            // as an error of 0 (the verdict, `passed`, never depended on them).
            report.max_rel_err = nan_max(report.max_rel_err, rel);
            if abs > report.max_abs_err || (!ok && report.passed) || !a.is_finite() || abs.is_nan() {
                report.max_abs_err = nan_max(report.max_abs_err, abs);
                report.worst = (i, j);
                report.analytical = a;
                report.numerical = numerical;
            }
            report.passed &= ok;
        }
        x.set_data(Data::F64(
            ndarray::ArrayD::from_shape_vec(shape.clone(), original)
                .map_err(|e| Error::invalid("gradcheck", e.to_string()))?
                .into_shared(),
        ))?;
    }
    Ok(report)
}

/// The larger of `a` and `b`, NaN when either is.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}
