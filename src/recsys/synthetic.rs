//! Synthetic ratings with planted factors, for tests and for running without MovieLens:
//!
//! $$r_{ui} = \mu + b_u + b_i + p_u \cdot q_i + \varepsilon, \qquad
//!   \varepsilon \sim \mathcal N(0, \sigma^2),$$
//!
//! $b_u, b_i \sim \mathcal N(0, s_b^2)$, the $K$ components of $p_u, q_i$ i.i.d.
//! $\mathcal N(0, s^2)$ with $s = (v / K)^{1/4}$ so that $\operatorname{Var}(p_u \cdot q_i) = v$.
//! Users and items are drawn with a popularity skew (weight $\propto (j + 10)^{-a}$ after a
//! random permutation), so some items have few ratings, as in real data; each (user, item) pair
//! appears at most once. With `round = true` ratings are rounded to half stars and clipped to
//! $[0.5, 5]$ (MovieLens' scale); otherwise they are left as drawn (the best achievable RMSE is
//! then $\sigma$) and the declared scale is the observed range.
//!
//! Item features for content-based filtering: genre $g$ is set when the planted factor
//! $q_{i,g \bmod K}$ (sign flipped for every other block of $K$ genres) exceeds $s/2$, and the
//! title holds two words chosen by the item's two largest factors, so the features carry real
//! signal about the ratings.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::recsys::content::ItemInfo;
use crate::recsys::data::{Dataset, IdMap, Rating, RatingScale};
use crate::rng::Generator;

/// Parameters of [`generate`].
#[derive(Clone, Debug)]
pub struct SyntheticConfig {
    pub n_users: usize,
    pub n_items: usize,
    pub n_ratings: usize,
    /// Planted rank $K$.
    pub k: usize,
    /// Noise standard deviation $\sigma$.
    pub sigma: f64,
    pub mu: f64,
    /// $s_b$.
    pub bias_std: f64,
    /// $v = \operatorname{Var}(p_u \cdot q_i)$.
    pub interaction_var: f64,
    /// Popularity exponent $a$ (0: uniform).
    pub skew: f64,
    pub round: bool,
    pub seed: u64,
}

impl Default for SyntheticConfig {
    /// MovieLens-100k-like: 943 users, 1682 items, 100,000 ratings, half stars.
    fn default() -> Self {
        SyntheticConfig {
            n_users: 943,
            n_items: 1682,
            n_ratings: 100_000,
            k: 10,
            sigma: 0.8,
            mu: 3.5,
            bias_std: 0.4,
            interaction_var: 0.5,
            skew: 0.7,
            round: true,
            seed: 0,
        }
    }
}

/// The generated data and what was planted.
pub struct Synthetic {
    pub dataset: Dataset,
    /// $P$ $(U \times K)$ and $Q$ $(I \times K)$, row-major.
    pub user_factors: Vec<f64>,
    pub item_factors: Vec<f64>,
    /// Titles and genres, one per item (raw ids as in the dataset).
    pub items: Vec<ItemInfo>,
}

const GENRES: [&str; 18] = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];
const WORDS: [&str; 24] = [
    "night", "love", "war", "star", "city", "dream", "blood", "king", "space", "river", "ghost", "heart",
    "dark", "summer", "storm", "secret", "road", "fire", "island", "shadow", "gold", "winter", "queen",
    "machine",
];

/// Cumulative popularity weights over a random permutation of `n` entities.
fn popularity(n: usize, skew: f64, g: &mut Generator) -> Vec<f64> {
    let perm = g.permutation(n);
    let mut w = vec![0.0; n];
    for (rank, &e) in perm.iter().enumerate() {
        w[e] = (rank as f64 + 10.0).powf(-skew);
    }
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect()
}

fn draw(cum: &[f64], g: &mut Generator) -> usize {
    let t = g.uniform() * cum.last().copied().unwrap_or(0.0);
    cum.partition_point(|&c| c <= t).min(cum.len().saturating_sub(1))
}

/// Draws a data set (see the module docs). Errors when more ratings are asked than pairs exist.
pub fn generate(c: &SyntheticConfig) -> Result<Synthetic> {
    let (nu, ni, k) = (c.n_users, c.n_items, c.k);
    if nu == 0 || ni == 0 || k == 0 {
        return Err(Error::invalid("synthetic", "n_users, n_items and k must be positive"));
    }
    if c.n_ratings > nu * ni / 2 {
        return Err(Error::invalid(
            "synthetic",
            format!("{} ratings is more than half of the {nu}×{ni} pairs", c.n_ratings),
        ));
    }
    let mut g = Generator::new(c.seed);
    let s = (c.interaction_var / k as f64).powf(0.25);
    let bu: Vec<f64> = (0..nu).map(|_| c.bias_std * g.normal()).collect();
    let bi: Vec<f64> = (0..ni).map(|_| c.bias_std * g.normal()).collect();
    let p: Vec<f64> = (0..nu * k).map(|_| s * g.normal()).collect();
    let q: Vec<f64> = (0..ni * k).map(|_| s * g.normal()).collect();
    let (cu, ci) = (popularity(nu, c.skew, &mut g), popularity(ni, c.skew, &mut g));
    let mut seen = HashSet::with_capacity(c.n_ratings);
    let mut triples = Vec::with_capacity(c.n_ratings);
    while triples.len() < c.n_ratings {
        let (u, i) = (draw(&cu, &mut g), draw(&ci, &mut g));
        if !seen.insert((u, i)) {
            continue;
        }
        let dot: f64 = (0..k).map(|f| p[u * k + f] * q[i * k + f]).sum();
        let mut r = c.mu + bu[u] + bi[i] + dot + c.sigma * g.normal();
        if c.round {
            r = ((r * 2.0).round() / 2.0).clamp(0.5, 5.0);
        }
        triples.push((u, i, r));
    }
    // Raw ids: users 1..=U, items 1, 4, 7, ... (arbitrary integers, remapped on load).
    let (mut users, mut items) = (IdMap::new(), IdMap::new());
    let mut ratings = Vec::with_capacity(triples.len());
    for (t, &(u, i, r)) in triples.iter().enumerate() {
        let user = users.intern(u as i64 + 1);
        let item = items.intern(3 * i as i64 + 1);
        ratings.push(Rating { user, item, value: r, timestamp: Some(874_965_758 + t as i64) });
    }
    // Re-index the planted factors to the dense order of first appearance.
    let mut pf = vec![0.0; users.len() * k];
    for d in 0..users.len() {
        let u = users.raw(d).unwrap_or(1) as usize - 1;
        pf[d * k..(d + 1) * k].copy_from_slice(&p[u * k..(u + 1) * k]);
    }
    let mut qf = vec![0.0; items.len() * k];
    let mut infos = Vec::with_capacity(items.len());
    for d in 0..items.len() {
        let raw = items.raw(d).unwrap_or(1);
        let i = (raw as usize - 1) / 3;
        let qi = &q[i * k..(i + 1) * k];
        qf[d * k..(d + 1) * k].copy_from_slice(qi);
        let genres: Vec<String> = (0..GENRES.len())
            .filter(|&gi| {
                let sign = if (gi / k) % 2 == 0 { 1.0 } else { -1.0 };
                sign * qi[gi % k] > 0.5 * s
            })
            .map(|gi| GENRES[gi].to_string())
            .collect();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| qi[b].abs().total_cmp(&qi[a].abs()));
        let word = |f: usize| WORDS[(2 * f + usize::from(qi[f] < 0.0)) % WORDS.len()];
        let title = format!("The {} {} ({})", word(order[0]), word(order[1.min(k - 1)]), 1950 + i % 50);
        infos.push(ItemInfo { raw_id: raw, title, genres });
    }
    let scale = if c.round {
        RatingScale::MOVIELENS
    } else {
        let lo = ratings.iter().map(|r| r.value).fold(f64::INFINITY, f64::min).floor();
        let hi = ratings.iter().map(|r| r.value).fold(f64::NEG_INFINITY, f64::max).ceil();
        RatingScale::new(lo, hi.max(lo + 1.0))?
    };
    Ok(Synthetic {
        dataset: Dataset { ratings, users, items, scale },
        user_factors: pf,
        item_factors: qf,
        items: infos,
    })
}
