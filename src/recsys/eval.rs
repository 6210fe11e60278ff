//! Evaluation: seeded train/test splits and k-fold cross-validation, top-N recommendation, and
//! the report of one algorithm (RMSE, MAE, precision/recall/NDCG/hit rate at k, coverage, times).
//!
//! **Ranking protocol.** For each user with at least one relevant test item (test rating
//! $\ge$ `threshold`), every item of the catalogue that the user did not rate in training is
//! scored and the top $k$ kept ([`recommend`] with `exclude_seen`); the relevant set is the
//! user's relevant test items. This ranks the whole catalogue (unlike ranking only the test
//! items), which is what a deployed recommender faces. Rayon over users.

use std::collections::HashSet;
use std::time::Instant;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::recsys::metrics::{UserRanking, coverage, mae, rank_metrics, rmse};
use crate::recsys::{Rating, Recommender, TrainSet};
use crate::rng::Generator;

/// Splits `ratings` into (train, test) with a seeded shuffle; `test_fraction` in (0, 1).
pub fn train_test_split(
    ratings: &[Rating],
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<Rating>, Vec<Rating>)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::invalid(
            "train_test_split",
            format!("test_fraction {test_fraction} must lie in (0, 1)"),
        ));
    }
    let order = Generator::new(seed).permutation(ratings.len());
    let n_test = ((ratings.len() as f64) * test_fraction).round() as usize;
    let test = order[..n_test].iter().map(|&n| ratings[n]).collect();
    let train = order[n_test..].iter().map(|&n| ratings[n]).collect();
    Ok((train, test))
}

/// `k` folds of a seeded shuffle: (train, test) for each fold; every rating is in exactly one
/// test fold.
pub fn k_fold(ratings: &[Rating], k: usize, seed: u64) -> Result<Vec<(Vec<Rating>, Vec<Rating>)>> {
    if k < 2 || k > ratings.len() {
        return Err(Error::invalid("k_fold", format!("k = {k} must lie in 2..={}", ratings.len())));
    }
    let order = Generator::new(seed).permutation(ratings.len());
    Ok((0..k)
        .map(|f| {
            let (lo, hi) = (f * ratings.len() / k, (f + 1) * ratings.len() / k);
            let test = order[lo..hi].iter().map(|&n| ratings[n]).collect();
            let train = order[..lo].iter().chain(&order[hi..]).map(|&n| ratings[n]).collect();
            (train, test)
        })
        .collect())
}

/// The top `n` items for user `u` (best first, ties by smaller index), optionally excluding
/// the items `u` rated in `train`. An unknown user gets the model's fallback scores.
pub fn recommend(
    model: &dyn Recommender,
    train: &TrainSet,
    u: usize,
    n: usize,
    exclude_seen: bool,
) -> Vec<(usize, f64)> {
    let mut scores = vec![0.0; train.n_items];
    model.score_items(u, &mut scores);
    top_n(&scores, if exclude_seen { train.by_user.row(u).0 } else { &[] }, n)
}

fn top_n(scores: &[f64], seen: &[u32], n: usize) -> Vec<(usize, f64)> {
    let seen: HashSet<u32> = seen.iter().copied().collect();
    let mut cand: Vec<(usize, f64)> = scores
        .iter()
        .enumerate()
        .filter(|(i, s)| !seen.contains(&(*i as u32)) && !s.is_nan())
        .map(|(i, &s)| (i, s))
        .collect();
    let by = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if cand.len() > n && n > 0 {
        cand.select_nth_unstable_by(n - 1, by);
        cand.truncate(n);
    }
    cand.sort_by(by);
    cand.truncate(n);
    cand
}

/// What [`evaluate`] measures. Rating metrics are `None` for implicit models.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub algo: String,
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    pub precision_at_k: f64,
    pub recall_at_k: f64,
    pub ndcg_at_k: f64,
    pub hit_rate_at_k: f64,
    pub coverage: f64,
    pub k: usize,
    pub fit_s: f64,
    pub predict_s: f64,
    pub rank_s: f64,
}

impl Report {
    /// One JSON object (keys in snake_case; `_at_10` for k = 10).
    pub fn to_json(&self) -> serde_json::Value {
        let k = self.k;
        let mut m = serde_json::Map::new();
        m.insert("algo".into(), self.algo.clone().into());
        if let (Some(r), Some(a)) = (self.rmse, self.mae) {
            m.insert("rmse".into(), r.into());
            m.insert("mae".into(), a.into());
        }
        m.insert(format!("precision_at_{k}"), self.precision_at_k.into());
        m.insert(format!("recall_at_{k}"), self.recall_at_k.into());
        m.insert(format!("ndcg_at_{k}"), self.ndcg_at_k.into());
        m.insert(format!("hit_rate_at_{k}"), self.hit_rate_at_k.into());
        m.insert("coverage".into(), self.coverage.into());
        m.insert("fit_s".into(), self.fit_s.into());
        m.insert("predict_s".into(), self.predict_s.into());
        m.insert("rank_s".into(), self.rank_s.into());
        serde_json::Value::Object(m)
    }
}

/// Ranking metrics at `k` over the users with relevant test items; returns the mean metrics and
/// the coverage of the lists.
pub fn ranking(
    model: &dyn Recommender,
    train: &TrainSet,
    test: &[Rating],
    k: usize,
    threshold: f64,
) -> (UserRanking, f64) {
    let mut relevant: Vec<HashSet<usize>> = vec![HashSet::new(); train.n_users];
    for r in test {
        if r.value >= threshold
            && let Some(set) = relevant.get_mut(r.user as usize)
        {
            set.insert(r.item as usize);
        }
    }
    let users: Vec<usize> = (0..train.n_users).filter(|&u| !relevant[u].is_empty()).collect();
    let lists: Vec<(Vec<usize>, UserRanking)> = users
        .par_iter()
        .map(|&u| {
            let list: Vec<usize> = recommend(model, train, u, k, true).into_iter().map(|(i, _)| i).collect();
            let m = rank_metrics(&list, &relevant[u], k);
            (list, m)
        })
        .collect();
    let n = lists.len().max(1) as f64;
    let mut mean = UserRanking::default();
    for (_, m) in &lists {
        mean.precision += m.precision / n;
        mean.recall += m.recall / n;
        mean.ndcg += m.ndcg / n;
        mean.hit += m.hit / n;
    }
    let all: Vec<Vec<usize>> = lists.into_iter().map(|(l, _)| l).collect();
    (mean, coverage(&all, train.n_items))
}

/// Fits `model` on `train`, then measures it on `test` (see [`Report`]).
pub fn evaluate(
    model: &mut dyn Recommender,
    train: &TrainSet,
    test: &[Rating],
    k: usize,
    threshold: f64,
) -> Result<Report> {
    let t0 = Instant::now();
    model.fit(train)?;
    let fit_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let model: &dyn Recommender = model;
    let pred: Vec<f64> = test.par_iter().map(|r| model.predict(r.user as usize, r.item as usize)).collect();
    let predict_s = t1.elapsed().as_secs_f64();
    let truth: Vec<f64> = test.iter().map(|r| r.value).collect();
    let (rm, ma) = if model.predicts_ratings() && !test.is_empty() {
        (Some(rmse(&pred, &truth)), Some(mae(&pred, &truth)))
    } else {
        (None, None)
    };
    let t2 = Instant::now();
    let (rank, cov) = ranking(model, train, test, k, threshold);
    Ok(Report {
        algo: model.name().to_string(),
        rmse: rm,
        mae: ma,
        precision_at_k: rank.precision,
        recall_at_k: rank.recall,
        ndcg_at_k: rank.ndcg,
        hit_rate_at_k: rank.hit,
        coverage: cov,
        k,
        fit_s,
        predict_s,
        rank_s: t2.elapsed().as_secs_f64(),
    })
}

/// RMSE of `model` over `k` folds: (mean, per fold).
pub fn cross_validate_rmse(
    model: &mut dyn Recommender,
    ratings: &[Rating],
    n_users: usize,
    n_items: usize,
    scale: crate::recsys::RatingScale,
    k: usize,
    seed: u64,
) -> Result<(f64, Vec<f64>)> {
    let mut folds = Vec::new();
    for (train, test) in k_fold(ratings, k, seed)? {
        let t = TrainSet::new(&train, n_users, n_items, scale)?;
        model.fit(&t)?;
        let pred: Vec<f64> = test.iter().map(|r| model.predict(r.user as usize, r.item as usize)).collect();
        let truth: Vec<f64> = test.iter().map(|r| r.value).collect();
        folds.push(rmse(&pred, &truth));
    }
    Ok((folds.iter().sum::<f64>() / folds.len() as f64, folds))
}
