//! Recommender systems (§1.3.4): collaborative filtering (user- and item-based neighbourhoods,
//! matrix factorization), content-based filtering, and the document's embedding model.
//!
//! | algorithm (CLI name) | model | fit | file |
//! |---|---|---|---|
//! | `baseline` | $\hat r = \mu + b_u + b_i$ | ALS (or SGD) | `baseline.rs` |
//! | `mf` | $\hat r = \mu + b_u + b_i + p_u \cdot q_i$ ("SVD") | fused SGD kernel, L2 ([`crate::ops::factorization`]) | `mf.rs` |
//! | `svdpp` | $\hat r = \mu + b_u + b_i + q_i \cdot (p_u + \lvert N_u\rvert^{-1/2} \sum_{j \in N_u} y_j)$ | SGD | `svdpp.rs` |
//! | `nmf` | $\hat r = p_u \cdot q_i$, $p, q \ge 0$ | multiplicative updates | `nmf.rs` |
//! | `slope-one` | $\hat r = \bar r_u + \operatorname{mean}_{j} \operatorname{dev}(i, j)$ | co-rating deviations | `slope_one.rs` |
//! | `user-knn`, `item-knn` | $\hat r = \bar b + \sum_{k\text{NN}} s\,(r - b) / \sum s$ | sparse similarities | `knn.rs` |
//! | `content` | item features (genres, TF-IDF), user profiles, cosine | | `content.rs` |
//! | `hybrid` | $w_i\,\hat r^{\text{MF}} + (1 - w_i)\,\hat r^{\text{content}}$, $w_i = n_i/(n_i+\beta)$ | | `hybrid.rs` |
//! | `seed-embedding` | listing 1.4.4 corrected: `fc(cat(e_u, e_i))` | autograd, MSE, Adam | `neural.rs` |
//! | `dot` | $\hat r = \mu + p_u \cdot q_i$ | autograd ([`Tensor::mf_predict`](crate::Tensor::mf_predict)), MSE, Adam | `neural.rs` |
//! | `als-implicit` | $\hat s = x_u \cdot y_i$, confidence $c = 1 + \alpha r$ | ALS | `als.rs` |
//!
//! **Unknown users and items.** Every model answers any (user, item) pair: a user or item
//! without training ratings (or beyond the fitted tables) takes the documented fallback of its
//! model (missing terms count as zero: MF gives $\mu + b_i$ for an unknown user, $\mu$ when both
//! are unknown; neighbourhood models fall back to their baseline). Predictions are clipped to the
//! training set's rating scale.

pub mod als;
pub mod baseline;
pub mod content;
pub mod csr;
pub mod data;
pub mod eval;
pub mod hybrid;
pub mod job;
pub mod knn;
pub mod metrics;
pub mod mf;
pub mod neural;
pub mod nmf;
pub mod slope_one;
pub mod svdpp;
pub mod synthetic;

pub use data::{Dataset, IdMap, Rating, RatingScale, RatingsLayout, TrainSet};

use crate::error::Result;

/// A fitted (or fittable) recommender. `predict` and `score_items` answer every index,
/// including users and items never seen in training (the model's fallback).
pub trait Recommender: Send + Sync {
    /// The CLI name (`mf`, `item-knn`, ...).
    fn name(&self) -> &'static str;

    /// Fits on `train` (refitting forgets the previous fit).
    fn fit(&mut self, train: &TrainSet) -> Result<()>;

    /// The predicted rating (clipped to the training scale), or for implicit models a score.
    fn predict(&self, u: usize, i: usize) -> f64;

    /// Scores for every item `0..out.len()` for user `u` (what top-N ranking sorts). Default:
    /// `predict` for each item.
    fn score_items(&self, u: usize, out: &mut [f64]) {
        for (i, s) in out.iter_mut().enumerate() {
            *s = self.predict(u, i);
        }
    }

    /// Whether `predict` is a rating (so RMSE and MAE mean something). `false` for implicit
    /// feedback models, which are judged by ranking metrics alone.
    fn predicts_ratings(&self) -> bool {
        true
    }
}

/// Clips to the scale, mapping NaN to the scale's midpoint (never returned by a sane model;
/// kept so that a diverged fit cannot poison the metrics with NaN).
pub(crate) fn clip(scale: &RatingScale, r: f64) -> f64 {
    if r.is_nan() { 0.5 * (scale.min + scale.max) } else { scale.clip(r) }
}
