//! `hybrid`: matrix factorization blended with content-based filtering by how much is known
//! about the item. With $n_i$ the item's training ratings,
//!
//! $$\hat r_{ui} = w_i\, \hat r^{\text{MF}}_{ui} + (1 - w_i)\, \hat r^{\text{content}}_{ui},
//!   \qquad w_i = \frac{n_i}{n_i + \beta},$$
//!
//! so a new or rare item leans on its features and a well-rated one on its factors ($\beta = 20$).
//! An item without training ratings has $w_i = 0$ (content alone) for every $\beta \ge 0$,
//! including $\beta = 0$, where the formula would read $0/0$.
//! Ranking sorts the blended ratings.

use crate::error::Result;
use crate::recsys::Recommender;
use crate::recsys::content::ContentBased;
use crate::recsys::data::TrainSet;
use crate::recsys::mf::BiasedMf;

pub struct Hybrid {
    pub mf: BiasedMf,
    pub content: ContentBased,
    pub beta: f64,
    counts: Vec<usize>,
}

impl Hybrid {
    pub fn new(mf: BiasedMf, content: ContentBased) -> Hybrid {
        Hybrid { mf, content, beta: 20.0, counts: Vec::new() }
    }

    /// $w_i$.
    pub fn weight(&self, i: usize) -> f64 {
        let n = self.counts.get(i).copied().unwrap_or(0) as f64;
        if n == 0.0 { 0.0 } else { n / (n + self.beta.max(0.0)) }
    }
}

impl Recommender for Hybrid {
    fn name(&self) -> &'static str {
        "hybrid"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        self.mf.fit(t)?;
        self.content.fit(t)?;
        self.counts = (0..t.n_items).map(|i| t.by_item.row_len(i)).collect();
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let w = self.weight(i);
        w * self.mf.predict(u, i) + (1.0 - w) * self.content.predict(u, i)
    }
}
