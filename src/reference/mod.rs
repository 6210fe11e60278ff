//! The formulas transcribed literally: slow, f64, plain nested loops in the formula's own indices.
//!
//! These are the oracles: tests check the engine's kernels against them (to about $10^{-12}$ in
//! f64), and `glassgrad trace` prints them with numbers. Nothing here is optimised, fused or
//! parallel, on purpose; each function is the formula in its doc comment, line for line.
//!
//! Matrices are `ndarray::Array2<f64>` indexed `a[[i, j]]`, vectors `Array1<f64>`; shape errors are
//! [`Error`]s naming `reference::<function>`.
//!
//! Softmax-type formulas subtract the row maximum $m_i = \max_j x_{ij}$ before exponentiating. This
//! is an identity, $\frac{e^{x_{ij}}}{\sum_k e^{x_{ik}}} = \frac{e^{x_{ij} - m_i}}{\sum_k e^{x_{ik} - m_i}}$,
//! not an approximation; without it $e^{1000}$ overflows.

pub mod conv;
pub mod rnn;

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};

/// Matrix product: $C_{ij} = \sum_{k} A_{ik} B_{kj}$, for $A$ $(m \times K)$ and $B$ $(K \times n)$.
pub fn matmul(a: &Array2<f64>, b: &Array2<f64>) -> Result<Array2<f64>> {
    let (m, k_a) = a.dim();
    let (k_b, n) = b.dim();
    if k_a != k_b {
        return Err(Error::mismatch("reference::matmul", a.shape(), b.shape(), "inner dimensions differ"));
    }
    let mut c = Array2::<f64>::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0;
            for k in 0..k_a {
                sum += a[[i, k]] * b[[k, j]];
            }
            c[[i, j]] = sum;
        }
    }
    Ok(c)
}

/// The maximum of row $i$: $m_i = \max_j x_{ij}$.
fn row_max(x: &Array2<f64>, i: usize) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for j in 0..x.ncols() {
        if x[[i, j]] > m {
            m = x[[i, j]];
        }
    }
    m
}

/// Softmax of each row: $y_{ij} = \dfrac{e^{x_{ij} - m_i}}{\sum_k e^{x_{ik} - m_i}}$.
pub fn softmax(x: &Array2<f64>) -> Array2<f64> {
    let (rows, cols) = x.dim();
    let mut y = Array2::<f64>::zeros((rows, cols));
    for i in 0..rows {
        let m_i = row_max(x, i);
        let mut denom = 0.0;
        for k in 0..cols {
            denom += (x[[i, k]] - m_i).exp();
        }
        for j in 0..cols {
            y[[i, j]] = (x[[i, j]] - m_i).exp() / denom;
        }
    }
    y
}

/// Log-sum-exp of each row: $\ell_i = m_i + \ln \sum_k e^{x_{ik} - m_i}$.
pub fn logsumexp(x: &Array2<f64>) -> Array1<f64> {
    let (rows, cols) = x.dim();
    let mut l = Array1::<f64>::zeros(rows);
    for i in 0..rows {
        let m_i = row_max(x, i);
        let mut sum = 0.0;
        for k in 0..cols {
            sum += (x[[i, k]] - m_i).exp();
        }
        l[i] = m_i + sum.ln();
    }
    l
}

/// Log-softmax of each row: $y_{ij} = x_{ij} - m_i - \ln \sum_k e^{x_{ik} - m_i}$.
pub fn log_softmax(x: &Array2<f64>) -> Array2<f64> {
    let (rows, cols) = x.dim();
    let mut y = Array2::<f64>::zeros((rows, cols));
    for i in 0..rows {
        let m_i = row_max(x, i);
        let mut sum = 0.0;
        for k in 0..cols {
            sum += (x[[i, k]] - m_i).exp();
        }
        for j in 0..cols {
            y[[i, j]] = x[[i, j]] - m_i - sum.ln();
        }
    }
    y
}

/// The vector–Jacobian product of the row softmax: given $y = \operatorname{softmax}(x)$ and the
/// upstream gradient $g$, $\dfrac{\partial L}{\partial x_{ij}} = \sum_k g_{ik} \dfrac{\partial y_{ik}}{\partial x_{ij}}
/// = \sum_k g_{ik}\, y_{ik} ([k = j] - y_{ij})$.
pub fn softmax_backward(y: &Array2<f64>, g: &Array2<f64>) -> Result<Array2<f64>> {
    if y.dim() != g.dim() {
        return Err(Error::mismatch("reference::softmax_backward", y.shape(), g.shape(), "shapes differ"));
    }
    let (rows, cols) = y.dim();
    let mut dx = Array2::<f64>::zeros((rows, cols));
    for i in 0..rows {
        for j in 0..cols {
            let mut sum = 0.0;
            for k in 0..cols {
                let delta = if k == j { 1.0 } else { 0.0 };
                sum += g[[i, k]] * y[[i, k]] * (delta - y[[i, j]]);
            }
            dx[[i, j]] = sum;
        }
    }
    Ok(dx)
}

/// Checks the class indices of a cross-entropy against $C$ classes.
fn check_targets(op: &'static str, x: &Array2<f64>, target: &[i64]) -> Result<()> {
    let (n, c) = x.dim();
    if target.len() != n {
        return Err(Error::mismatch(op, x.shape(), &[target.len()], "one target per row"));
    }
    for &t in target {
        if t < 0 || t as u64 >= c as u64 {
            return Err(Error::Index {
                op,
                index: t,
                size: c,
                shape: x.shape().to_vec(),
                msg: "class index".into(),
            });
        }
    }
    Ok(())
}

/// Mean cross-entropy over the rows of logits $x$ $(N \times C)$ with class targets $t_n$:
/// $$L = \frac{1}{N} \sum_{n} \Big( -\ln \frac{e^{x_{n t_n}}}{\sum_c e^{x_{nc}}} \Big)
///     = \frac{1}{N} \sum_n \big(\ell_n - x_{n t_n}\big), \qquad \ell_n = m_n + \ln \sum_c e^{x_{nc} - m_n}.$$
pub fn cross_entropy(x: &Array2<f64>, target: &[i64]) -> Result<f64> {
    check_targets("reference::cross_entropy", x, target)?;
    let (n_rows, cols) = x.dim();
    let mut total = 0.0;
    for n in 0..n_rows {
        let m_n = row_max(x, n);
        let mut sum = 0.0;
        for c in 0..cols {
            sum += (x[[n, c]] - m_n).exp();
        }
        let l_n = m_n + sum.ln();
        total += l_n - x[[n, target[n] as usize]];
    }
    Ok(total / n_rows as f64)
}

/// The gradient of the mean cross-entropy:
/// $\dfrac{\partial L}{\partial x_{nc}} = \dfrac{1}{N}\big(\operatorname{softmax}(x_n)_c - [c = t_n]\big)$.
pub fn cross_entropy_backward(x: &Array2<f64>, target: &[i64]) -> Result<Array2<f64>> {
    check_targets("reference::cross_entropy_backward", x, target)?;
    let p = softmax(x);
    let (n_rows, cols) = x.dim();
    let mut dx = Array2::<f64>::zeros((n_rows, cols));
    for n in 0..n_rows {
        for c in 0..cols {
            let onehot = if c as i64 == target[n] { 1.0 } else { 0.0 };
            dx[[n, c]] = (p[[n, c]] - onehot) / n_rows as f64;
        }
    }
    Ok(dx)
}

/// Fully connected layer: $y_{r o} = \sum_i x_{r i} W_{o i} + b_o$ for $x$ $(R \times \text{in})$,
/// $W$ $(\text{out} \times \text{in})$, $b$ $(\text{out})$.
pub fn linear(x: &Array2<f64>, w: &Array2<f64>, b: Option<&Array1<f64>>) -> Result<Array2<f64>> {
    let (rows, in_x) = x.dim();
    let (out, in_w) = w.dim();
    if in_x != in_w {
        return Err(Error::mismatch(
            "reference::linear",
            x.shape(),
            w.shape(),
            "x is (R, in), W is (out, in)",
        ));
    }
    if let Some(b) = b
        && b.len() != out
    {
        return Err(Error::mismatch("reference::linear", b.shape(), w.shape(), "b is (out)"));
    }
    let mut y = Array2::<f64>::zeros((rows, out));
    for r in 0..rows {
        for o in 0..out {
            let mut sum = 0.0;
            for i in 0..in_x {
                sum += x[[r, i]] * w[[o, i]];
            }
            if let Some(b) = b {
                sum += b[o];
            }
            y[[r, o]] = sum;
        }
    }
    Ok(y)
}

/// Mean squared error: $L = \frac{1}{n} \sum_i (x_i - y_i)^2$.
pub fn mse_loss(x: &[f64], y: &[f64]) -> Result<f64> {
    if x.len() != y.len() {
        return Err(Error::mismatch("reference::mse_loss", &[x.len()], &[y.len()], "lengths differ"));
    }
    let mut sum = 0.0;
    for i in 0..x.len() {
        sum += (x[i] - y[i]) * (x[i] - y[i]);
    }
    Ok(sum / x.len() as f64)
}

/// Layer normalisation of each row $i$ of $x$ $(n \times D)$:
/// $\mu_i = \frac1D \sum_j x_{ij}$, $\sigma_i^2 = \frac1D \sum_j (x_{ij} - \mu_i)^2$,
/// $y_{ij} = \gamma_j \frac{x_{ij} - \mu_i}{\sqrt{\sigma_i^2 + \varepsilon}} + \beta_j$.
pub fn layer_norm(x: &Array2<f64>, gamma: &Array1<f64>, beta: &Array1<f64>, eps: f64) -> Result<Array2<f64>> {
    let (n, d) = x.dim();
    if gamma.len() != d || beta.len() != d {
        return Err(Error::mismatch(
            "reference::layer_norm",
            x.shape(),
            gamma.shape(),
            "gamma and beta must have D elements",
        ));
    }
    let mut y = Array2::<f64>::zeros((n, d));
    for i in 0..n {
        let mut mu = 0.0;
        for j in 0..d {
            mu += x[[i, j]];
        }
        mu /= d as f64;
        let mut var = 0.0;
        for j in 0..d {
            var += (x[[i, j]] - mu) * (x[[i, j]] - mu);
        }
        var /= d as f64;
        for j in 0..d {
            y[[i, j]] = gamma[j] * (x[[i, j]] - mu) / (var + eps).sqrt() + beta[j];
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_computed_values() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
        let c = matmul(&array![[1.0, 2.0], [3.0, 4.0]], &array![[5.0, 6.0], [7.0, 8.0]]).unwrap();
        assert_eq!(c, array![[19.0, 22.0], [43.0, 50.0]]);
        // softmax([0, ln 3]) = [1/4, 3/4]
        let y = softmax(&array![[0.0, 3f64.ln()]]);
        assert!((y[[0, 0]] - 0.25).abs() < 1e-15 && (y[[0, 1]] - 0.75).abs() < 1e-15);
        // cross-entropy of [0, ln 3] with target 1 is −ln(3/4)
        let l = cross_entropy(&array![[0.0, 3f64.ln()]], &[1]).unwrap();
        assert!((l - (4.0f64 / 3.0).ln()).abs() < 1e-15);
        assert!(cross_entropy(&array![[0.0, 1.0]], &[2]).is_err());
        assert!(matmul(&array![[1.0, 2.0]], &array![[1.0, 2.0]]).is_err());
    }
}
