//! `nmf`: non-negative matrix factorization (Luo et al. 2014, as scikit-surprise's `NMF`),
//! $\hat r_{ui} = p_u \cdot q_i$ with $p, q \ge 0$, fitted by regularised multiplicative updates:
//!
//! $$p_{uf} \leftarrow p_{uf} \frac{\sum_{i \in I_u} q_{if}\, r_{ui}}
//!   {\sum_{i \in I_u} q_{if}\, \hat r_{ui} + |I_u| \lambda_p\, p_{uf}}, \qquad
//!   q_{if} \leftarrow q_{if} \frac{\sum_{u \in U_i} p_{uf}\, r_{ui}}
//!   {\sum_{u \in U_i} p_{uf}\, \hat r_{ui} + |U_i| \lambda_q\, q_{if}}$$
//!
//! (both from the same $\hat r$ of the epoch's start). Non-negative initial values stay
//! non-negative. Defaults: $K = 15$, 50 epochs, $\lambda_p = \lambda_q = 0.06$, init
//! $\mathcal U(0, 1)$. Rayon over users, then over items (each row is independent).
//!
//! Fallback: $\mu$ for an unknown user or item.

use rayon::prelude::*;

use crate::error::Result;
use crate::ops::factorization::dot;
use crate::recsys::{RatingScale, Recommender, TrainSet, clip};
use crate::rng::Generator;

#[derive(Clone, Debug)]
pub struct Nmf {
    pub n_factors: usize,
    pub n_epochs: usize,
    pub reg_p: f64,
    pub reg_q: f64,
    pub seed: u64,
    fit: Option<NmfFit>,
}

#[derive(Clone, Debug)]
struct NmfFit {
    p: Vec<f64>,
    q: Vec<f64>,
    known_u: Vec<bool>,
    known_i: Vec<bool>,
    mu: f64,
    scale: RatingScale,
}

impl Default for Nmf {
    fn default() -> Self {
        Nmf { n_factors: 15, n_epochs: 50, reg_p: 0.06, reg_q: 0.06, seed: 0, fit: None }
    }
}

impl Nmf {
    pub fn new() -> Self {
        Self::default()
    }
}

/// One side's multiplicative update: rows `a` of the side being updated, `b` the other side.
fn update(rows: &crate::recsys::csr::Csr, a_old: &[f64], b: &[f64], k: usize, reg: f64) -> Vec<f64> {
    let mut a_new = a_old.to_vec();
    a_new.par_chunks_mut(k).enumerate().for_each(|(x, ax)| {
        let (ys, rs) = rows.row(x);
        if ys.is_empty() {
            return;
        }
        let mut num = vec![0.0; k];
        let mut den = vec![0.0; k];
        let ao = &a_old[x * k..(x + 1) * k];
        for (&y, &r) in ys.iter().zip(rs) {
            let by = &b[y as usize * k..(y as usize + 1) * k];
            let est = dot(ao, by);
            for f in 0..k {
                num[f] += by[f] * r;
                den[f] += by[f] * est;
            }
        }
        let n = ys.len() as f64;
        for f in 0..k {
            let d = den[f] + n * reg * ao[f];
            if d > 0.0 {
                ax[f] = ao[f] * num[f] / d;
            }
        }
    });
    a_new
}

impl Recommender for Nmf {
    fn name(&self) -> &'static str {
        "nmf"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        let k = self.n_factors;
        let mut g = Generator::new(self.seed);
        let mut p: Vec<f64> = (0..t.n_users * k).map(|_| g.uniform()).collect();
        let mut q: Vec<f64> = (0..t.n_items * k).map(|_| g.uniform()).collect();
        for _ in 0..self.n_epochs {
            let p_new = update(&t.by_user, &p, &q, k, self.reg_p);
            let q_new = update(&t.by_item, &q, &p, k, self.reg_q);
            p = p_new;
            q = q_new;
        }
        self.fit = Some(NmfFit {
            p,
            q,
            known_u: (0..t.n_users).map(|u| t.knows_user(u)).collect(),
            known_i: (0..t.n_items).map(|i| t.knows_item(i)).collect(),
            mu: t.global_mean,
            scale: t.scale,
        });
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let Some(f) = &self.fit else { return f64::NAN };
        let k = self.n_factors;
        let known = f.known_u.get(u).copied().unwrap_or(false) && f.known_i.get(i).copied().unwrap_or(false);
        clip(&f.scale, if known { dot(&f.p[u * k..(u + 1) * k], &f.q[i * k..(i + 1) * k]) } else { f.mu })
    }
}
