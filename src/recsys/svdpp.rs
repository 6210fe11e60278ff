//! `svdpp`: SVD++ (Koren 2008), matrix factorization with implicit feedback, the set $N_u$ of
//! items $u$ rated:
//!
//! $$\hat r_{ui} = \mu + b_u + b_i + q_i \cdot \Big(p_u + |N_u|^{-1/2} \sum_{j \in N_u} y_j\Big).$$
//!
//! SGD on the squared error with L2 weight $\lambda$; with $z_u = |N_u|^{-1/2}\sum_j y_j$ and
//! $e = r - \hat r$: $b_u \mathrel{+}= \eta(e - \lambda b_u)$, $b_i$ alike,
//! $p_u \mathrel{+}= \eta(e q_i - \lambda p_u)$, $q_i \mathrel{+}= \eta(e (p_u + z_u) - \lambda
//! q_i)$, and $y_j \mathrel{+}= \eta(e |N_u|^{-1/2} q_i - \lambda y_j)$ for $j \in N_u$.
//!
//! **Per-user batching.** The $y_j$ step is what makes SVD++ slow ($O(|N_u| K)$ per rating).
//! Here the ratings are visited user by user (users in a seeded shuffle): $z_u$ is computed once
//! per user, the $y$ gradient $|N_u|^{-1/2}\sum e\,q_i$ is accumulated over the user's ratings
//! and applied once (with one decay $\lambda y_j$) after them: $O(|N_u| K)$ per user. Defaults
//! as scikit-surprise's `SVDpp`: $K = 20$, 20 epochs, $\eta = 0.007$, $\lambda = 0.02$, init
//! $\mathcal N(0, 0.1^2)$.
//!
//! Fallback: as `mf` (an unknown user has $p_u = 0$, $N_u = \emptyset$).

use crate::error::Result;
use crate::ops::factorization::{MfParams, dot};
use crate::recsys::mf::{init_params, zero_unseen};
use crate::recsys::{RatingScale, Recommender, TrainSet, clip};
use crate::rng::Generator;

#[derive(Clone, Debug)]
pub struct SvdPp {
    pub n_factors: usize,
    pub n_epochs: usize,
    pub lr: f64,
    pub reg: f64,
    pub init_std: f64,
    pub seed: u64,
    fit: Option<(MfParams, Vec<f64>, RatingScale)>,
}

impl Default for SvdPp {
    fn default() -> Self {
        SvdPp { n_factors: 20, n_epochs: 20, lr: 0.007, reg: 0.02, init_std: 0.1, seed: 0, fit: None }
    }
}

impl SvdPp {
    pub fn new() -> Self {
        Self::default()
    }
}

/// $z_u = |N_u|^{-1/2} \sum_{j \in N_u} y_j$.
fn implicit_sum(t: &TrainSet, y: &[f64], u: usize, k: usize) -> Vec<f64> {
    let mut z = vec![0.0; k];
    let items = t.by_user.row(u).0;
    if items.is_empty() {
        return z;
    }
    for &j in items {
        for (a, &b) in z.iter_mut().zip(&y[j as usize * k..(j as usize + 1) * k]) {
            *a += b;
        }
    }
    let s = 1.0 / (items.len() as f64).sqrt();
    z.iter_mut().for_each(|a| *a *= s);
    z
}

impl Recommender for SvdPp {
    fn name(&self) -> &'static str {
        "svdpp"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        let k = self.n_factors;
        let mut g = Generator::new(self.seed);
        let mut m = init_params(t, k, self.init_std, t.global_mean, &mut g);
        let mut y: Vec<f64> = (0..t.n_items * k).map(|_| self.init_std * g.normal()).collect();
        let (lr, reg) = (self.lr, self.reg);
        let mut pz = vec![0.0; k];
        let mut acc = vec![0.0; k];
        for _ in 0..self.n_epochs {
            for u in g.permutation(t.n_users) {
                let (items, rs) = t.by_user.row(u);
                if items.is_empty() {
                    continue;
                }
                let z = implicit_sum(t, &y, u, k);
                acc.fill(0.0);
                for (&i, &r) in items.iter().zip(rs) {
                    let i = i as usize;
                    for f in 0..k {
                        pz[f] = m.p[u * k + f] + z[f];
                    }
                    let e = r - (m.mu + m.bu[u] + m.bi[i] + dot(&m.q[i * k..(i + 1) * k], &pz));
                    m.bu[u] += lr * (e - reg * m.bu[u]);
                    m.bi[i] += lr * (e - reg * m.bi[i]);
                    for f in 0..k {
                        let (pf, qf) = (m.p[u * k + f], m.q[i * k + f]);
                        acc[f] += e * qf;
                        m.p[u * k + f] += lr * (e * qf - reg * pf);
                        m.q[i * k + f] += lr * (e * pz[f] - reg * qf);
                    }
                }
                let s = 1.0 / (items.len() as f64).sqrt();
                for &j in items {
                    let yj = &mut y[j as usize * k..(j as usize + 1) * k];
                    for (yf, &a) in yj.iter_mut().zip(&acc) {
                        *yf += lr * (s * a - reg * *yf);
                    }
                }
            }
        }
        zero_unseen(t, &mut m);
        // Fold z_u into p_u: predictions become plain MF over p_u + z_u.
        let mut folded = m.clone();
        for u in 0..t.n_users {
            let z = implicit_sum(t, &y, u, k);
            for (pf, zf) in folded.p[u * k..(u + 1) * k].iter_mut().zip(&z) {
                *pf += zf;
            }
        }
        self.fit = Some((folded, y, t.scale));
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        match &self.fit {
            Some((m, _, s)) => clip(s, crate::recsys::mf::predict_or_fallback(m, u, i)),
            None => f64::NAN,
        }
    }
}
