//! `user-knn`, `item-knn`: neighbourhood collaborative filtering (§1.3.4, user-based and
//! item-based), as scikit-surprise's `KNNBasic`, `KNNWithMeans` and `KNNBaseline`.
//!
//! Write $x$ for the entity whose neighbours are sought (the user for user-based, the item for
//! item-based) and $y$ for the other. For a target $(x, y)$, the neighbours $N^k(x; y)$ are the
//! $k$ entities $x'$ most similar to $x$ among those that rated $y$ with $s(x, x') > 0$; with
//! $m$ of them,
//!
//! $$\hat r_{xy} = \beta_{xy} + \frac{\sum_{x' \in N^k} s(x, x')\,(r_{x'y} - \beta_{x'y})}
//!   {\sum_{x' \in N^k} s(x, x')},$$
//!
//! where $\beta = 0$ (**plain**, `KNNBasic`), $\beta_{xy} = \bar r_x$ (**mean-centred**,
//! `KNNWithMeans`) or $\beta_{xy} = b_{xy} = \mu + b_u + b_i$ (**baseline**, `KNNBaseline`, with
//! ALS baselines). When $m <$ `min_k` the prediction is the fallback: $\mu$ (plain),
//! $\bar r_x$ (mean-centred), $b_{xy}$ (baseline).
//!
//! **Similarities**, over the $n$ common raters $y$ of $x$ and $x'$ (pairs with $n <$
//! `min_support` get 0):
//! - cosine: $\sum r_{xy} r_{x'y} / \sqrt{\sum r_{xy}^2 \sum r_{x'y}^2}$;
//! - Pearson: $\dfrac{n \sum r r' - \sum r \sum r'}{\sqrt{n \sum r^2 - (\sum r)^2}\sqrt{n \sum
//!   r'^2 - (\sum r')^2}}$ (the correlation over the common raters);
//! - mean squared difference: $1 / (1 + \tfrac1n \sum (r_{xy} - r_{x'y})^2)$;
//! - shrunk Pearson-baseline: cosine of the residuals $r - b$, times $(n - 1)/(n - 1 + \lambda)$,
//!   $\lambda = 100$.
//!
//! **Kernel.** Similarities are computed by [`co_rated`]: rayon over $x$, sparse (CSR) in and
//! out, so memory is proportional to the ratings plus the co-rated pairs, never $X \times X$
//! dense, never users × items. Ties among neighbours are broken by the smaller index, so results
//! are deterministic.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::recsys::baseline::Baselines;
use crate::recsys::csr::{Csr, co_rated};
use crate::recsys::{RatingScale, Recommender, TrainSet, clip};

/// The similarity measure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Similarity {
    Cosine,
    Pearson,
    Msd,
    PearsonBaseline { shrinkage: f64 },
}

/// What is subtracted before averaging (module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KnnVariant {
    Plain,
    Means,
    Baseline,
}

/// Similarities between the rows of `x_rows` (`y_rows` its transpose) as a sparse matrix.
pub fn similarities(x_rows: &Csr, y_rows: &Csr, sim: Similarity, min_support: usize) -> Csr {
    let min_n = min_support.max(1) as u32;
    co_rated(x_rows, y_rows, |_, _, s| {
        if s.n < min_n {
            return Some(0.0);
        }
        let n = s.n as f64;
        Some(match sim {
            Similarity::Cosine => {
                let d = (s.sq_a * s.sq_b).sqrt();
                if d > 0.0 { s.prods / d } else { 0.0 }
            }
            Similarity::Pearson => {
                let d = (n * s.sq_a - s.sum_a * s.sum_a).max(0.0).sqrt()
                    * (n * s.sq_b - s.sum_b * s.sum_b).max(0.0).sqrt();
                if d > 0.0 { (n * s.prods - s.sum_a * s.sum_b) / d } else { 0.0 }
            }
            Similarity::Msd => 1.0 / (1.0 + s.sq_diff / n),
            Similarity::PearsonBaseline { shrinkage } => {
                let d = (s.sq_a * s.sq_b).sqrt();
                let c = if d > 0.0 { s.prods / d } else { 0.0 };
                c * (n - 1.0) / (n - 1.0 + shrinkage)
            }
        })
    })
}

/// A neighbourhood model; `user_based` picks user-kNN or item-kNN.
#[derive(Clone, Debug)]
pub struct Knn {
    pub user_based: bool,
    pub k: usize,
    pub min_k: usize,
    pub similarity: Similarity,
    pub variant: KnnVariant,
    pub min_support: usize,
    fit: Option<KnnFit>,
}

#[derive(Clone, Debug)]
struct KnnFit {
    /// $x$ → ($x'$, $s$), sorted by $x'$.
    sims: Csr,
    /// $x$ → ($y$, $r$) and $y$ → ($x$, $r$).
    x_rows: Csr,
    y_rows: Csr,
    means: Vec<f64>,
    baselines: Baselines,
    mu: f64,
    scale: RatingScale,
}

impl Knn {
    /// `KNNBasic` defaults: $k = 40$, `min_k` 1, MSD, plain.
    pub fn new(user_based: bool) -> Knn {
        Knn {
            user_based,
            k: 40,
            min_k: 1,
            similarity: Similarity::Msd,
            variant: KnnVariant::Plain,
            min_support: 1,
            fit: None,
        }
    }

    pub fn with(mut self, similarity: Similarity, variant: KnnVariant) -> Knn {
        self.similarity = similarity;
        self.variant = variant;
        self
    }

    /// The fitted similarity matrix (rows and columns are users for user-based, items for
    /// item-based).
    pub fn similarity_matrix(&self) -> Option<&Csr> {
        self.fit.as_ref().map(|f| &f.sims)
    }

    /// (x, y) of a (user, item) pair.
    fn xy(&self, u: usize, i: usize) -> (usize, usize) {
        if self.user_based { (u, i) } else { (i, u) }
    }
}

impl KnnFit {
    /// $\beta_{xy}$ given the (x, y) orientation; `user_based` says which of x, y is the user.
    fn beta(&self, variant: KnnVariant, user_based: bool, x: usize, y: usize) -> f64 {
        match variant {
            KnnVariant::Plain => 0.0,
            KnnVariant::Means => self.means.get(x).copied().unwrap_or(self.mu),
            KnnVariant::Baseline => {
                if user_based {
                    self.baselines.get(x, y)
                } else {
                    self.baselines.get(y, x)
                }
            }
        }
    }

    fn fallback(&self, variant: KnnVariant, user_based: bool, x: usize, y: usize) -> f64 {
        match variant {
            KnnVariant::Plain => self.mu,
            _ => self.beta(variant, user_based, x, y),
        }
    }
}

/// $\beta + \sum s\,d / \sum s$ over the top-$k$ of `cands` = (s, d, index) with $s > 0$, or
/// `None` when fewer than `min_k`.
fn aggregate(cands: &mut [(f64, f64, u32)], k: usize, min_k: usize) -> Option<f64> {
    let pos = cands.iter().filter(|c| c.0 > 0.0).count();
    if pos < min_k.max(1) {
        return None;
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    let (mut num, mut den) = (0.0, 0.0);
    for &(s, d, _) in cands.iter().take(k.min(pos)) {
        num += s * d;
        den += s;
    }
    (den > 0.0).then(|| num / den)
}

impl Recommender for Knn {
    fn name(&self) -> &'static str {
        if self.user_based { "user-knn" } else { "item-knn" }
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        if self.k == 0 {
            return Err(Error::invalid("knn", "k must be at least 1"));
        }
        let (x_rows, y_rows) = if self.user_based {
            (t.by_user.clone(), t.by_item.clone())
        } else {
            (t.by_item.clone(), t.by_user.clone())
        };
        let needs_baselines = self.variant == KnnVariant::Baseline
            || matches!(self.similarity, Similarity::PearsonBaseline { .. });
        let baselines =
            if needs_baselines { Baselines::als(t, 15.0, 10.0, 10) } else { Baselines::default() };
        let sims = if let Similarity::PearsonBaseline { .. } = self.similarity {
            // Residuals r − b_ui, both orientations.
            let resid = |m: &Csr, rows_are_users: bool| {
                let mut m = m.clone();
                for x in 0..m.n_rows() {
                    for e in m.indptr[x]..m.indptr[x + 1] {
                        let y = m.indices[e] as usize;
                        let b = if rows_are_users { baselines.get(x, y) } else { baselines.get(y, x) };
                        m.values[e] -= b;
                    }
                }
                m
            };
            let (xr, yr) = (resid(&x_rows, self.user_based), resid(&y_rows, !self.user_based));
            similarities(&xr, &yr, self.similarity, self.min_support)
        } else {
            similarities(&x_rows, &y_rows, self.similarity, self.min_support)
        };
        let means = x_rows.row_means().into_iter().map(|m| m.unwrap_or(t.global_mean)).collect();
        self.fit = Some(KnnFit { sims, x_rows, y_rows, means, baselines, mu: t.global_mean, scale: t.scale });
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let Some(f) = &self.fit else { return f64::NAN };
        let (x, y) = self.xy(u, i);
        // Merge-join: the similarity row of x and the raters of y, both sorted by x'.
        let (sx, ss) = f.sims.row(x);
        let (rx, rr) = f.y_rows.row(y);
        let mut cands = Vec::new();
        let (mut a, mut b) = (0, 0);
        while a < sx.len() && b < rx.len() {
            match sx[a].cmp(&rx[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    let xp = sx[a] as usize;
                    cands.push((ss[a], rr[b] - f.beta(self.variant, self.user_based, xp, y), sx[a]));
                    a += 1;
                    b += 1;
                }
            }
        }
        let r = match aggregate(&mut cands, self.k, self.min_k) {
            Some(d) => f.beta(self.variant, self.user_based, x, y) + d,
            None => f.fallback(self.variant, self.user_based, x, y),
        };
        clip(&f.scale, r)
    }

    /// All items for user `u` at once: the candidates of every item are gathered in one pass
    /// over the neighbours' rows, $O(\sum_{x'} |\text{row}_{x'}|)$ instead of a merge-join per
    /// item.
    fn score_items(&self, u: usize, out: &mut [f64]) {
        let Some(f) = &self.fit else {
            out.fill(f64::NAN);
            return;
        };
        let mut cands: Vec<Vec<(f64, f64, u32)>> = vec![Vec::new(); out.len()];
        if self.user_based {
            // Neighbours v of u (with s > 0), each contributing to the items v rated.
            let (vs, ss) = f.sims.row(u);
            for (&v, &s) in vs.iter().zip(ss) {
                if s <= 0.0 {
                    continue;
                }
                let (is, rs) = f.x_rows.row(v as usize);
                for (&i, &r) in is.iter().zip(rs) {
                    if let Some(c) = cands.get_mut(i as usize) {
                        c.push((s, r - f.beta(self.variant, true, v as usize, i as usize), v));
                    }
                }
            }
        } else {
            // Items j rated by u, each contributing to its similar items i (s symmetric).
            let (js, rs) = f.y_rows.row(u);
            for (&j, &r) in js.iter().zip(rs) {
                let d = r - f.beta(self.variant, false, j as usize, u);
                let (is, ss) = f.sims.row(j as usize);
                for (&i, &s) in is.iter().zip(ss) {
                    if s > 0.0
                        && let Some(c) = cands.get_mut(i as usize)
                    {
                        c.push((s, d, j));
                    }
                }
            }
        }
        for (i, (o, c)) in out.iter_mut().zip(cands.iter_mut()).enumerate() {
            let (x, y) = self.xy(u, i);
            let r = match aggregate(c, self.k, self.min_k) {
                Some(d) => f.beta(self.variant, self.user_based, x, y) + d,
                None => f.fallback(self.variant, self.user_based, x, y),
            };
            *o = clip(&f.scale, r);
        }
    }
}

/// Computes item–item similarities for a training set in parallel (what the bench times).
pub fn item_similarities(t: &TrainSet, sim: Similarity) -> Csr {
    similarities(&t.by_item, &t.by_user, sim, 1)
}

/// Row sums of a similarity matrix, in parallel (a checksum for benches and tests).
pub fn row_sums(m: &Csr) -> Vec<f64> {
    (0..m.n_rows()).into_par_iter().map(|r| m.row(r).1.iter().sum()).collect()
}
