//! The baseline predictor $b_{ui} = \mu + b_u + b_i$ (Koren 2010), minimising
//! $\sum_{(u,i)} (r_{ui} - \mu - b_u - b_i)^2 + \lambda_u \sum_u b_u^2 + \lambda_i \sum_i b_i^2$.
//!
//! - **ALS** (default, as scikit-surprise's `BaselineOnly`): alternately, each item then each
//!   user in closed form,
//!   $b_i = \sum_{u \in U_i} (r_{ui} - \mu - b_u) / (\lambda_i + |U_i|)$,
//!   $b_u = \sum_{i \in I_u} (r_{ui} - \mu - b_i) / (\lambda_u + |I_u|)$;
//!   $\lambda_i = 10$, $\lambda_u = 15$, 10 epochs. Rayon over items (users): each is independent.
//! - **SGD**: $e = r - b_{ui}$, $b_u \mathrel{+}= \eta (e - \lambda b_u)$,
//!   $b_i \mathrel{+}= \eta (e - \lambda b_i)$; $\eta = 0.005$, $\lambda = 0.02$, 20 epochs.
//!
//! Fallback: an unknown user or item has bias 0.

use rayon::prelude::*;

use crate::error::Result;
use crate::recsys::{Recommender, TrainSet, clip};

/// Fitted baselines.
#[derive(Clone, Debug, Default)]
pub struct Baselines {
    pub mu: f64,
    pub bu: Vec<f64>,
    pub bi: Vec<f64>,
}

impl Baselines {
    /// $b_{ui}$, with a zero bias for an index outside the tables.
    pub fn get(&self, u: usize, i: usize) -> f64 {
        self.mu + self.bu.get(u).copied().unwrap_or(0.0) + self.bi.get(i).copied().unwrap_or(0.0)
    }

    /// ALS with $\lambda_u$, $\lambda_i$ for `epochs` rounds.
    pub fn als(t: &TrainSet, reg_u: f64, reg_i: f64, epochs: usize) -> Baselines {
        let mu = t.global_mean;
        let mut bu = vec![0.0; t.n_users];
        let mut bi = vec![0.0; t.n_items];
        for _ in 0..epochs {
            bi.par_iter_mut().enumerate().for_each(|(i, b)| {
                let (us, rs) = t.by_item.row(i);
                let s: f64 = us.iter().zip(rs).map(|(&u, &r)| r - mu - bu[u as usize]).sum();
                *b = s / (reg_i + us.len() as f64);
            });
            bu.par_iter_mut().enumerate().for_each(|(u, b)| {
                let (is, rs) = t.by_user.row(u);
                let s: f64 = is.iter().zip(rs).map(|(&i, &r)| r - mu - bi[i as usize]).sum();
                *b = s / (reg_u + is.len() as f64);
            });
        }
        Baselines { mu, bu, bi }
    }

    /// SGD over the ratings in their given order, `epochs` times.
    pub fn sgd(t: &TrainSet, lr: f64, reg: f64, epochs: usize) -> Baselines {
        let mu = t.global_mean;
        let mut bu = vec![0.0; t.n_users];
        let mut bi = vec![0.0; t.n_items];
        for _ in 0..epochs {
            for n in 0..t.len() {
                let (u, i) = (t.users[n] as usize, t.items[n] as usize);
                let e = t.ratings[n] - (mu + bu[u] + bi[i]);
                bu[u] += lr * (e - reg * bu[u]);
                bi[i] += lr * (e - reg * bi[i]);
            }
        }
        Baselines { mu, bu, bi }
    }
}

/// How [`BaselineOnly`] fits.
#[derive(Clone, Copy, Debug)]
pub enum BaselineMethod {
    Als { reg_u: f64, reg_i: f64, epochs: usize },
    Sgd { lr: f64, reg: f64, epochs: usize },
}

impl Default for BaselineMethod {
    fn default() -> Self {
        BaselineMethod::Als { reg_u: 15.0, reg_i: 10.0, epochs: 10 }
    }
}

/// `baseline`: predicts $\mu + b_u + b_i$.
#[derive(Clone, Debug, Default)]
pub struct BaselineOnly {
    pub method: BaselineMethod,
    pub fitted: Baselines,
    scale: Option<crate::recsys::RatingScale>,
}

impl BaselineOnly {
    pub fn new(method: BaselineMethod) -> Self {
        BaselineOnly { method, ..Default::default() }
    }
}

impl Recommender for BaselineOnly {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        self.fitted = match self.method {
            BaselineMethod::Als { reg_u, reg_i, epochs } => Baselines::als(t, reg_u, reg_i, epochs),
            BaselineMethod::Sgd { lr, reg, epochs } => Baselines::sgd(t, lr, reg, epochs),
        };
        self.scale = Some(t.scale);
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let r = self.fitted.get(u, i);
        match &self.scale {
            Some(s) => clip(s, r),
            None => r,
        }
    }
}
