//! Accuracy and ranking metrics.
//!
//! - $\mathrm{RMSE} = \sqrt{\tfrac1n \sum (\hat r - r)^2}$, $\mathrm{MAE} = \tfrac1n \sum |\hat r - r|$.
//! - For one user, with $L$ the top-$k$ list and $R$ the relevant items:
//!   precision@k $= |L \cap R| / k$, recall@k $= |L \cap R| / |R|$, hit $= [L \cap R \ne
//!   \emptyset]$, and $\mathrm{NDCG@k} = \mathrm{DCG}/\mathrm{IDCG}$ with binary gains,
//!   $\mathrm{DCG} = \sum_{p=1}^{k} [L_p \in R] / \log_2(p + 1)$ and IDCG the DCG of a perfect
//!   list ($\min(k, |R|)$ hits first). Averaged over users with $R \ne \emptyset$.
//! - Catalogue coverage: the share of the catalogue that appears in at least one user's list.

use std::collections::HashSet;

/// $\sqrt{\operatorname{mean}(\hat r - r)^2}$ (NaN for empty input).
pub fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    let n = pred.len().min(truth.len());
    (pred.iter().zip(truth).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / n as f64).sqrt()
}

/// $\operatorname{mean}|\hat r - r|$ (NaN for empty input).
pub fn mae(pred: &[f64], truth: &[f64]) -> f64 {
    let n = pred.len().min(truth.len());
    pred.iter().zip(truth).map(|(p, t)| (p - t).abs()).sum::<f64>() / n as f64
}

/// The ranking metrics of one user's list.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UserRanking {
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub hit: f64,
}

/// Metrics of the top-`k` list `recommended` (best first) against `relevant`.
pub fn rank_metrics(recommended: &[usize], relevant: &HashSet<usize>, k: usize) -> UserRanking {
    if relevant.is_empty() || k == 0 {
        return UserRanking::default();
    }
    let top = &recommended[..recommended.len().min(k)];
    let mut hits = 0usize;
    let mut dcg = 0.0;
    for (p, i) in top.iter().enumerate() {
        if relevant.contains(i) {
            hits += 1;
            dcg += 1.0 / ((p + 2) as f64).log2();
        }
    }
    let idcg: f64 = (0..k.min(relevant.len())).map(|p| 1.0 / ((p + 2) as f64).log2()).sum();
    UserRanking {
        precision: hits as f64 / k as f64,
        recall: hits as f64 / relevant.len() as f64,
        ndcg: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        hit: if hits > 0 { 1.0 } else { 0.0 },
    }
}

/// The share of `n_items` that appears in at least one list.
pub fn coverage(lists: &[Vec<usize>], n_items: usize) -> f64 {
    let seen: HashSet<usize> = lists.iter().flatten().copied().collect();
    if n_items == 0 { 0.0 } else { seen.len() as f64 / n_items as f64 }
}
