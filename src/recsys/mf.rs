//! `mf`: biased matrix factorization, the "SVD" of the Netflix-prize literature (Funk; Koren,
//! Bell & Volinsky 2009):
//!
//! $$\hat r_{ui} = \mu + b_u + b_i + p_u \cdot q_i,$$
//!
//! fitted by minimising $\sum (r_{ui} - \hat r_{ui})^2 + \lambda (b_u^2 + b_i^2 +
//! \lVert p_u\rVert^2 + \lVert q_i\rVert^2)$ with SGD, one rating at a time, through the engine's fused kernel
//! [`mf_sgd_epoch`] (formula, reference and gradcheck in
//! [`crate::ops::factorization`]). Defaults as scikit-surprise's `SVD`: $K = 100$, 20 epochs,
//! $\eta = 0.005$, $\lambda = 0.02$, factors drawn $\mathcal N(0, 0.1^2)$, biases 0; the ratings
//! are visited in a fresh seeded shuffle each epoch.
//!
//! With `biased = false` it is the unbiased $\hat r = p_u \cdot q_i$ (PMF-style).
//!
//! Fallback: a user (item) without training ratings has $p_u = 0$, $b_u = 0$, so the prediction
//! is $\mu + b_i$ ($\mu + b_u$; $\mu$ when both are unknown).

use crate::error::Result;
use crate::ops::factorization::{MfParams, MfSgd, mf_sgd_epoch};
use crate::recsys::{RatingScale, Recommender, TrainSet, clip};
use crate::rng::Generator;

/// Hyper-parameters and the fitted tables.
#[derive(Clone, Debug)]
pub struct BiasedMf {
    pub n_factors: usize,
    pub n_epochs: usize,
    pub lr: f64,
    pub reg: f64,
    pub init_std: f64,
    pub biased: bool,
    pub seed: u64,
    pub params: Option<MfParams>,
    /// The training RMSE after each epoch (measured during the epoch, before each step).
    pub train_rmse: Vec<f64>,
    /// The training scale (set by `fit`).
    pub scale: Option<RatingScale>,
}

impl Default for BiasedMf {
    fn default() -> Self {
        BiasedMf {
            n_factors: 100,
            n_epochs: 20,
            lr: 0.005,
            reg: 0.02,
            init_std: 0.1,
            biased: true,
            seed: 0,
            params: None,
            train_rmse: Vec::new(),
            scale: None,
        }
    }
}

/// Draws $P$, $Q$ from $\mathcal N(0, \text{std}^2)$ and zeros the biases.
pub(crate) fn init_params(t: &TrainSet, k: usize, std: f64, mu: f64, g: &mut Generator) -> MfParams {
    let p = (0..t.n_users * k).map(|_| std * g.normal()).collect();
    let q = (0..t.n_items * k).map(|_| std * g.normal()).collect();
    MfParams { p, q, bu: vec![0.0; t.n_users], bi: vec![0.0; t.n_items], mu, k }
}

/// Zeros the factor rows of users and items without training ratings (their fallback).
pub(crate) fn zero_unseen(t: &TrainSet, m: &mut MfParams) {
    let k = m.k;
    for u in (0..t.n_users).filter(|&u| !t.knows_user(u)) {
        m.p[u * k..(u + 1) * k].fill(0.0);
    }
    for i in (0..t.n_items).filter(|&i| !t.knows_item(i)) {
        m.q[i * k..(i + 1) * k].fill(0.0);
    }
}

/// $\hat r$ with zero terms for indices outside the tables.
pub(crate) fn predict_or_fallback(m: &MfParams, u: usize, i: usize) -> f64 {
    let (ku, ki) = (u < m.bu.len(), i < m.bi.len());
    match (ku, ki) {
        (true, true) => m.predict(u, i),
        (true, false) => m.mu + m.bu[u],
        (false, true) => m.mu + m.bi[i],
        (false, false) => m.mu,
    }
}

impl BiasedMf {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Recommender for BiasedMf {
    fn name(&self) -> &'static str {
        "mf"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        let mut g = Generator::new(self.seed);
        let mu = if self.biased { t.global_mean } else { 0.0 };
        let mut m = init_params(t, self.n_factors, self.init_std, mu, &mut g);
        let c = MfSgd {
            lr_bias: self.lr,
            reg_bias: self.reg,
            lr_factors: self.lr,
            reg_factors: self.reg,
            biased: self.biased,
        };
        self.train_rmse.clear();
        for _ in 0..self.n_epochs {
            let order = g.permutation(t.len());
            let sse = mf_sgd_epoch(&mut m, &t.users, &t.items, &t.ratings, &order, &c)?;
            self.train_rmse.push((sse / t.len() as f64).sqrt());
        }
        zero_unseen(t, &mut m);
        self.params = Some(m);
        self.scale = Some(t.scale);
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        match (&self.params, &self.scale) {
            (Some(m), Some(s)) => clip(s, predict_or_fallback(m, u, i)),
            _ => f64::NAN,
        }
    }
}
