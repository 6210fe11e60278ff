//! `slope-one` (Lemire & Maclachlan 2005): with $U_{ij}$ the users who rated both $i$ and $j$,
//!
//! $$\operatorname{dev}(i, j) = \frac{1}{|U_{ij}|} \sum_{u \in U_{ij}} (r_{ui} - r_{uj}), \qquad
//!   \hat r_{ui} = \bar r_u + \frac{1}{|R_i(u)|} \sum_{j \in R_i(u)} \operatorname{dev}(i, j),$$
//!
//! $R_i(u)$ the items $u$ rated that share a rater with $i$. The deviations are a sparse
//! item × item matrix over co-rated pairs only ([`co_rated`]).
//!
//! Fallback: $\bar r_u$ when $R_i(u)$ is empty; $\mu$ for an unknown user.

use crate::error::Result;
use crate::recsys::csr::{Csr, co_rated};
use crate::recsys::{RatingScale, Recommender, TrainSet, clip};

/// (deviations, user → items, user means, μ, scale).
type SlopeFit = (Csr, Csr, Vec<Option<f64>>, f64, RatingScale);

#[derive(Clone, Debug, Default)]
pub struct SlopeOne {
    fit: Option<SlopeFit>,
}

impl SlopeOne {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Recommender for SlopeOne {
    fn name(&self) -> &'static str {
        "slope-one"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        // Row a = item i, column b = item j: Σ (r_ui − r_uj) / n = (Σ r_a − Σ r_b) / n.
        let dev = co_rated(&t.by_item, &t.by_user, |_, _, s| Some((s.sum_a - s.sum_b) / s.n as f64));
        self.fit = Some((dev, t.by_user.clone(), t.by_user.row_means(), t.global_mean, t.scale));
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let Some((dev, by_user, means, mu, scale)) = &self.fit else { return f64::NAN };
        let Some(Some(mean_u)) = means.get(u) else { return clip(scale, *mu) };
        let (di, dv) = dev.row(i);
        let (ju, _) = by_user.row(u);
        let (mut a, mut b, mut sum, mut n) = (0, 0, 0.0, 0usize);
        while a < di.len() && b < ju.len() {
            match di[a].cmp(&ju[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    sum += dv[a];
                    n += 1;
                    a += 1;
                    b += 1;
                }
            }
        }
        clip(scale, if n > 0 { mean_u + sum / n as f64 } else { *mean_u })
    }

    /// All items at once: each rated item $j$ adds $\operatorname{dev}(i, j) = -\operatorname{dev}(j, i)$
    /// to every item $i$ in its row.
    fn score_items(&self, u: usize, out: &mut [f64]) {
        let Some((dev, by_user, means, mu, scale)) = &self.fit else {
            out.fill(f64::NAN);
            return;
        };
        let Some(Some(mean_u)) = means.get(u) else {
            out.fill(clip(scale, *mu));
            return;
        };
        let mut sum = vec![0.0; out.len()];
        let mut n = vec![0u32; out.len()];
        for &j in by_user.row(u).0 {
            let (is, ds) = dev.row(j as usize);
            for (&i, &d) in is.iter().zip(ds) {
                if let Some(s) = sum.get_mut(i as usize) {
                    *s -= d;
                    n[i as usize] += 1;
                }
            }
        }
        for (k, o) in out.iter_mut().enumerate() {
            *o = clip(scale, if n[k] > 0 { mean_u + sum[k] / n[k] as f64 } else { *mean_u });
        }
    }
}
