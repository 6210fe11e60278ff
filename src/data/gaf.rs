//! The Gramian Angular Summation Field (GASF): a series of $n$ numbers as an $n \times n$ image,
//! so that a 2-D CNN can read a price window (Wang & Oates, 2015).
//!
//! **1. Scale** the window to $[-1, 1]$ by its own minimum and maximum:
//! $$\tilde x_i = \frac{(x_i - \max_k x_k) + (x_i - \min_k x_k)}{\max_k x_k - \min_k x_k}
//!   \in [-1, 1],$$
//! (clamped to $[-1, 1]$ against rounding). A constant window ($\max = \min$) has no shape to
//! show: every $\tilde x_i = 0$, the midpoint.
//!
//! **2. Polar angle** of each value: $\varphi_i = \arccos \tilde x_i \in [0, \pi]$.
//!
//! **3. Field**: $G_{ij} = \cos(\varphi_i + \varphi_j)$. With
//! $\cos(a + b) = \cos a \cos b - \sin a \sin b$ and $\sin \varphi_i = \sqrt{1 - \tilde x_i^2}$
//! (non-negative on $[0, \pi]$) this is
//! $$G_{ij} = \tilde x_i \tilde x_j - \sqrt{1 - \tilde x_i^2}\,\sqrt{1 - \tilde x_j^2},$$
//! which [`gasf_scaled`] computes (no `acos`/`cos` round trip, so e.g. $\tilde x = \pm 1$ gives
//! exactly $G = 1$ on the diagonal). $G$ is symmetric, $G_{ii} = \cos 2\varphi_i = 2\tilde x_i^2 - 1$,
//! and every entry lies in $[-1, 1]$. A constant window gives $G_{ij} = \cos(\pi/2 + \pi/2) = -1$.
//!
//! Time runs along both axes: row $i$, column $j$ is the "angular sum" of days $i$ and $j$, so the
//! diagonal carries the scaled series itself and the off-diagonal entries its temporal correlations.

use crate::error::{Error, Result};

/// $\tilde x$: `x` min–max scaled to $[-1, 1]$ (module docs, step 1). Empty input or a
/// non-finite value is an error.
pub fn min_max_scale(x: &[f64]) -> Result<Vec<f64>> {
    if x.is_empty() {
        return Err(Error::invalid("min_max_scale", "empty series"));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid("min_max_scale", format!("value {} at index {i} is not finite", x[i])));
    }
    let (lo, hi) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if hi == lo {
        return Ok(vec![0.0; x.len()]);
    }
    Ok(x.iter().map(|&v| (((v - hi) + (v - lo)) / (hi - lo)).clamp(-1.0, 1.0)).collect())
}

/// $G_{ij} = \tilde x_i \tilde x_j - \sqrt{1-\tilde x_i^2}\sqrt{1-\tilde x_j^2}$ for an already
/// scaled series, as an $n \times n$ row-major matrix. A value outside $[-1, 1]$ is an error.
pub fn gasf_scaled(xt: &[f64]) -> Result<Vec<f64>> {
    if let Some(i) = xt.iter().position(|v| !(-1.0..=1.0).contains(v)) {
        return Err(Error::invalid(
            "gasf",
            format!("scaled value {} at index {i} is outside [-1, 1] (arccos undefined)", xt[i]),
        ));
    }
    let n = xt.len();
    // sin φ_i = sqrt(1 - x̃_i²) ≥ 0 since φ_i ∈ [0, π].
    let sin_phi: Vec<f64> = xt.iter().map(|&c| (1.0 - c * c).max(0.0).sqrt()).collect();
    let mut g = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            g.push(xt[i] * xt[j] - sin_phi[i] * sin_phi[j]);
        }
    }
    Ok(g)
}

/// The GASF image of a raw series: [`min_max_scale`] then [`gasf_scaled`]; $n \times n$ row-major.
pub fn gasf(x: &[f64]) -> Result<Vec<f64>> {
    gasf_scaled(&min_max_scale(x)?)
}

/// The literal definition, $\cos(\arccos \tilde x_i + \arccos \tilde x_j)$, for checking [`gasf`]
/// (agrees to about $10^{-15}$).
pub fn gasf_reference(x: &[f64]) -> Result<Vec<f64>> {
    let phi: Vec<f64> = min_max_scale(x)?.iter().map(|c| c.acos()).collect();
    Ok(phi.iter().flat_map(|a| phi.iter().map(move |b| (a + b).cos())).collect())
}
