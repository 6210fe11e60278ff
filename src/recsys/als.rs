//! `als-implicit`: alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008).
//! Every observed (user, item) pair is a preference $p_{ui} = 1$ with confidence
//! $c_{ui} = 1 + \alpha\, r_{ui}$; unobserved pairs have $p = 0$, $c = 1$. Minimise
//!
//! $$\sum_{u, i} c_{ui} (p_{ui} - x_u \cdot y_i)^2 + \lambda \Big(\sum_u \lVert x_u\rVert^2 +
//!   \sum_i \lVert y_i\rVert^2\Big)$$
//!
//! by alternating exact solves, each user independently (rayon):
//!
//! $$x_u = \big(Y^\top Y + Y^\top (C^u - I) Y + \lambda I\big)^{-1} Y^\top C^u p(u),$$
//!
//! where $Y^\top Y$ is computed once per sweep and $Y^\top (C^u - I) Y = \sum_{i \in I_u}
//! (c_{ui} - 1) y_i y_i^\top$ touches only $u$'s items; then the same for items. The $K \times K$
//! system is solved by Cholesky. Scores $x_u \cdot y_i$ rank items; they are not ratings
//! (`predicts_ratings() == false`: judged by ranking metrics alone).
//!
//! Defaults: $K = 32$, 15 sweeps, $\alpha = 5$ (ratings 1–5 give confidence 6–26), $\lambda = 0.1$,
//! init $\mathcal N(0, 0.01^2)$. Fallback: score 0 for an unknown user or item.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ops::factorization::dot;
use crate::recsys::csr::Csr;
use crate::recsys::{Recommender, TrainSet};
use crate::rng::Generator;

#[derive(Clone, Debug)]
pub struct ImplicitAls {
    pub n_factors: usize,
    pub n_iters: usize,
    pub alpha: f64,
    pub reg: f64,
    pub seed: u64,
    fit: Option<(Vec<f64>, Vec<f64>)>,
}

impl Default for ImplicitAls {
    fn default() -> Self {
        ImplicitAls { n_factors: 32, n_iters: 15, alpha: 5.0, reg: 0.1, seed: 0, fit: None }
    }
}

impl ImplicitAls {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Solves $A x = b$ for symmetric positive definite $A$ ($n \times n$, row-major) by Cholesky,
/// $A = L L^\top$. Errors when $A$ is not positive definite.
pub fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Result<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return Err(Error::invalid("cholesky", "matrix is not positive definite"));
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Ok(x)
}

/// One half-sweep: new rows for every row of `rows` given the other side's factors `y`.
fn solve_side(rows: &Csr, y: &[f64], k: usize, alpha: f64, reg: f64) -> Result<Vec<f64>> {
    let n_other = y.len() / k.max(1);
    // YᵀY, (K × K), rows of y summed in index order.
    let mut yty = vec![0.0; k * k];
    for j in 0..n_other {
        let yj = &y[j * k..(j + 1) * k];
        for a in 0..k {
            for b in 0..k {
                yty[a * k + b] += yj[a] * yj[b];
            }
        }
    }
    let solved: Vec<Result<Vec<f64>>> = (0..rows.n_rows())
        .into_par_iter()
        .map(|x| {
            let (cols, rs) = rows.row(x);
            if cols.is_empty() {
                return Ok(vec![0.0; k]);
            }
            let mut a = yty.clone();
            let mut b = vec![0.0; k];
            for (&j, &r) in cols.iter().zip(rs) {
                let yj = &y[j as usize * k..(j as usize + 1) * k];
                let c = 1.0 + alpha * r;
                for p in 0..k {
                    b[p] += c * yj[p];
                    for q in 0..k {
                        a[p * k + q] += (c - 1.0) * yj[p] * yj[q];
                    }
                }
            }
            for p in 0..k {
                a[p * k + p] += reg;
            }
            cholesky_solve(&a, &b, k)
        })
        .collect();
    let mut out = Vec::with_capacity(rows.n_rows() * k);
    for s in solved {
        out.extend(s?);
    }
    Ok(out)
}

impl Recommender for ImplicitAls {
    fn name(&self) -> &'static str {
        "als-implicit"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        let k = self.n_factors;
        if k == 0 || self.reg <= 0.0 {
            return Err(Error::invalid("als-implicit", "n_factors must be positive and reg > 0"));
        }
        let mut g = Generator::new(self.seed);
        let mut x: Vec<f64> = (0..t.n_users * k).map(|_| 0.01 * g.normal()).collect();
        let mut y: Vec<f64> = (0..t.n_items * k).map(|_| 0.01 * g.normal()).collect();
        for _ in 0..self.n_iters {
            x = solve_side(&t.by_user, &y, k, self.alpha, self.reg)?;
            y = solve_side(&t.by_item, &x, k, self.alpha, self.reg)?;
        }
        self.fit = Some((x, y));
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let Some((x, y)) = &self.fit else { return f64::NAN };
        let k = self.n_factors;
        match (x.get(u * k..(u + 1) * k), y.get(i * k..(i + 1) * k)) {
            (Some(xu), Some(yi)) => dot(xu, yi),
            _ => 0.0,
        }
    }

    fn predicts_ratings(&self) -> bool {
        false
    }
}
