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
//! **The per-rating update, computed lazily.** As scikit-surprise's `SVDpp`, every rating
//! updates $y_j$ for *all* $j \in N_u$ (with the $q_i$ from before the step) and the next rating
//! sees the updated $z_u$. Ratings are visited user by user (users in a seeded shuffle, each
//! user's ratings in a seeded shuffle). Within one user's visit every $y_j$, $j \in N_u$,
//! receives the same affine map per rating, $y_j \leftarrow a\,y_j + d$ with $a = 1 - \eta\lambda$
//! and $d = \eta\, e\, |N_u|^{-1/2} q_i$, so their composition over the visit is
//! $y_j \leftarrow A\,y_j + D$ ($A \leftarrow aA$, $D \leftarrow aD + d$), applied once at the end,
//! and $z_u$ follows exactly in $O(K)$ per rating: $z_u \leftarrow a z_u + |N_u|^{-1/2}\,|N_u|\,d
//! = a z_u + \eta e q_i$. The result is the literal per-rating loop over $j \in N_u$
//! ([`svdpp_epoch_reference`], tested to agree to rounding) at $O(K)$ per rating plus
//! $O(|N_u| K)$ per user instead of $O(|N_u| K)$ per rating. Defaults as scikit-surprise's
//! `SVDpp`: $K = 20$, 20 epochs, $\eta = 0.007$, $\lambda = 0.02$, init $\mathcal N(0, 0.1^2)$.
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

/// One epoch of SVD++'s SGD over `order` (a list of users; each user's ratings in `rating_order`
/// of that user, positions into its row), updating `m` and `y` in place, with the lazy
/// $y$ update of the module docs. Returns the sum of squared errors (before each step).
pub fn svdpp_epoch(
    t: &TrainSet,
    m: &mut MfParams,
    y: &mut [f64],
    users: &[usize],
    rating_order: &mut dyn FnMut(usize) -> Vec<usize>,
    lr: f64,
    reg: f64,
) -> f64 {
    let k = m.k;
    let (mut pz, mut dsum) = (vec![0.0; k], vec![0.0; k]);
    let mut sse = 0.0;
    let a = 1.0 - lr * reg;
    for &u in users {
        let (items, rs) = t.by_user.row(u);
        if items.is_empty() {
            continue;
        }
        let s = 1.0 / (items.len() as f64).sqrt();
        let mut z = implicit_sum(t, y, u, k);
        // y_j ← big_a · y_j + dsum after the visit.
        let mut big_a = 1.0;
        dsum.fill(0.0);
        for pos in rating_order(u) {
            let (i, r) = (items[pos] as usize, rs[pos]);
            for f in 0..k {
                pz[f] = m.p[u * k + f] + z[f];
            }
            let e = r - (m.mu + m.bu[u] + m.bi[i] + dot(&m.q[i * k..(i + 1) * k], &pz));
            sse += e * e;
            m.bu[u] += lr * (e - reg * m.bu[u]);
            m.bi[i] += lr * (e - reg * m.bi[i]);
            big_a *= a;
            for f in 0..k {
                let (pf, qf) = (m.p[u * k + f], m.q[i * k + f]);
                m.p[u * k + f] += lr * (e * qf - reg * pf);
                m.q[i * k + f] += lr * (e * pz[f] - reg * qf);
                // Every y_j (j ∈ N_u): y_j ← a y_j + η e s q_i; z_u = s Σ y_j follows.
                dsum[f] = a * dsum[f] + lr * e * s * qf;
                z[f] = a * z[f] + lr * e * qf;
            }
        }
        for &j in items {
            for (yf, &d) in y[j as usize * k..(j as usize + 1) * k].iter_mut().zip(&dsum) {
                *yf = big_a * *yf + d;
            }
        }
    }
    sse
}

/// [`svdpp_epoch`] written literally (scikit-surprise's loop): for each rating, $z_u$ summed
/// afresh and every $y_j$, $j \in N_u$, updated — $O(|N_u| K)$ per rating. The oracle for tests.
pub fn svdpp_epoch_reference(
    t: &TrainSet,
    m: &mut MfParams,
    y: &mut [f64],
    users: &[usize],
    rating_order: &mut dyn FnMut(usize) -> Vec<usize>,
    lr: f64,
    reg: f64,
) -> f64 {
    let k = m.k;
    let mut sse = 0.0;
    for &u in users {
        let (items, rs) = t.by_user.row(u);
        if items.is_empty() {
            continue;
        }
        let s = 1.0 / (items.len() as f64).sqrt();
        for pos in rating_order(u) {
            let (i, r) = (items[pos] as usize, rs[pos]);
            let z = implicit_sum(t, y, u, k);
            let pz: Vec<f64> = z.iter().enumerate().map(|(f, zf)| m.p[u * k + f] + zf).collect();
            let e = r - (m.mu + m.bu[u] + m.bi[i] + dot(&m.q[i * k..(i + 1) * k], &pz));
            sse += e * e;
            m.bu[u] += lr * (e - reg * m.bu[u]);
            m.bi[i] += lr * (e - reg * m.bi[i]);
            for f in 0..k {
                let (pf, qf) = (m.p[u * k + f], m.q[i * k + f]);
                m.p[u * k + f] += lr * (e * qf - reg * pf);
                m.q[i * k + f] += lr * (e * (pf + z[f]) - reg * qf);
                for &j in items {
                    let yj = &mut y[j as usize * k + f];
                    *yj += lr * (e * qf * s - reg * *yj);
                }
            }
        }
    }
    sse
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
        for _ in 0..self.n_epochs {
            let users = g.permutation(t.n_users);
            let mut order_of = |u: usize| g.permutation(t.by_user.row_len(u));
            svdpp_epoch(t, &mut m, &mut y, &users, &mut order_of, self.lr, self.reg);
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
