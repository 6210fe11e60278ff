//! Comparing a computed tensor with the expected one.
//!
//! Element $i$ passes when
//! $$|\mathrm{got}_i - \mathrm{want}_i| \le \mathrm{atol} + \mathrm{rtol}\,|\mathrm{want}_i|,$$
//! both finite; a NaN on either side never passes, and an infinity passes only against the same
//! infinity. Shapes and dtypes must match exactly (glassgrad never promotes silently).
//!
//! The reported `max_abs` is the largest $|\mathrm{got}_i - \mathrm{want}_i|$ over finite pairs,
//! `max_rel` the largest $|\mathrm{got}_i - \mathrm{want}_i| / |\mathrm{want}_i|$ over finite pairs
//! with $\mathrm{want}_i \ne 0$ (an error against an exact zero shows in `max_abs`).

use super::failure::Failure;
pub use super::failure::ValueMismatch;
use crate::tensor::{DType, Tensor};

/// The tolerances of one case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

impl Tolerance {
    /// The defaults of the case format: f32 `atol = 1e-5, rtol = 1e-4`; f64 `atol = 1e-10,
    /// rtol = 1e-8` (other dtypes compare as f32).
    pub fn default_for(dtype: DType) -> Tolerance {
        match dtype {
            DType::F64 => Tolerance { atol: 1e-10, rtol: 1e-8 },
            _ => Tolerance { atol: 1e-5, rtol: 1e-4 },
        }
    }

    /// The largest difference allowed against `want`.
    pub fn bound(&self, want: f64) -> f64 {
        self.atol + self.rtol * want.abs()
    }
}

/// The worst differences seen, over every tensor compared in a case.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub max_abs: f64,
    pub max_rel: f64,
}

impl Stats {
    /// The element-wise worst of two.
    pub fn merge(self, other: Stats) -> Stats {
        Stats { max_abs: self.max_abs.max(other.max_abs), max_rel: self.max_rel.max(other.max_rel) }
    }
}

/// Whether one element passes.
pub fn element_passes(got: f64, want: f64, tol: Tolerance) -> bool {
    if got.is_finite() && want.is_finite() {
        (got - want).abs() <= tol.bound(want)
    } else {
        got.is_infinite() && got == want
    }
}

/// Prints a value of `dtype` with the precision it has (shortest exact form).
fn show(v: f64, dtype: DType) -> String {
    match dtype {
        DType::F32 => format!("{:e}", v as f32),
        DType::F64 => format!("{v:e}"),
        _ => format!("{v}"),
    }
}

/// The multi-index of flat (row-major) index `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (i, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            idx[i] = flat % n;
            flat /= n;
        }
    }
    idx
}

/// Compares `got` with `want` (named `name` in a failure) under `tol`.
pub fn compare(name: &str, got: &Tensor, want: &Tensor, tol: Tolerance) -> Result<Stats, Failure> {
    let (gs, ws) = (got.shape(), want.shape());
    if gs != ws {
        return Err(Failure::Shape { tensor: name.to_string(), got: gs, want: ws });
    }
    if got.dtype() != want.dtype() {
        return Err(Failure::DType { tensor: name.to_string(), got: got.dtype(), want: want.dtype() });
    }
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    let mut stats = Stats::default();
    let mut first_bad = None;
    let mut bad = 0usize;
    for (i, (&gi, &wi)) in g.iter().zip(&w).enumerate() {
        if gi.is_finite() && wi.is_finite() {
            let d = (gi - wi).abs();
            stats.max_abs = stats.max_abs.max(d);
            if wi != 0.0 {
                stats.max_rel = stats.max_rel.max(d / wi.abs());
            }
        }
        if !element_passes(gi, wi, tol) {
            bad += 1;
            first_bad.get_or_insert(i);
        }
    }
    match first_bad {
        None => Ok(stats),
        Some(i) => {
            let dtype = want.dtype();
            Err(Failure::Value(Box::new(ValueMismatch {
                tensor: name.to_string(),
                index: i,
                at: unravel(i, &ws),
                got: show(g[i], dtype),
                want: show(w[i], dtype),
                diff: (g[i] - w[i]).abs(),
                bound: tol.bound(w[i]),
                failing: bad,
                total: w.len(),
            })))
        }
    }
}
