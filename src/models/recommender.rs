//! The document's embedding recommender (listing 1.4.4), corrected.
//!
//! ```text
//! r̂ = fc(cat(user_embedding[u], item_embedding[i]))     fc: Linear(2·n_factors, 1)
//! ```
//!
//! **The fix.** The listing declares `self.fc = nn.Linear(n_factors, 1)` but feeds it
//! `torch.cat([user_embedding, item_embedding], dim=1)`, which is `2·n_factors` wide, so PyTorch
//! raises a shape error on the first forward. Here `fc` is `Linear(2·n_factors, 1)`.
//!
//! Initialisation as PyTorch: embeddings $\mathcal N(0, 1)$, `fc` as `nn.Linear`. Parameter names
//! follow the PyTorch `state_dict`: `user_embedding.weight`, `item_embedding.weight`,
//! `fc.weight`, `fc.bias`.

use crate::error::{Error, Result};
use crate::nn::{Linear, Mode, Module};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// `Recommender(n_users, n_items, n_factors)` of listing 1.4.4, with `fc = Linear(2·n_factors, 1)`.
pub struct SeedRecommender {
    /// $(U \times K)$.
    pub user_embedding: Tensor,
    /// $(I \times K)$.
    pub item_embedding: Tensor,
    /// `Linear(2K, 1)`.
    pub fc: Linear,
    /// Whether the embeddings' gradients are row-sparse ([`Tensor::embedding_sparse_grad`]).
    pub sparse: bool,
    mode: Mode,
}

impl SeedRecommender {
    /// A fresh model drawn from `rng` (embeddings first, then `fc`).
    pub fn new(
        n_users: usize,
        n_items: usize,
        n_factors: usize,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Self> {
        let user_embedding = Tensor::randn(&[n_users, n_factors], dtype, rng)?.requires_grad_()?;
        let item_embedding = Tensor::randn(&[n_items, n_factors], dtype, rng)?.requires_grad_()?;
        let fc = Linear::new(2 * n_factors, 1, true, dtype, rng)?; // the listing's Linear(n_factors, 1) is the bug
        Ok(SeedRecommender { user_embedding, item_embedding, fc, sparse: false, mode: Mode::default() })
    }

    /// A model holding the given tensors (checked: `fc.weight` must be `(1, 2K)`).
    pub fn from_tensors(
        user_embedding: Tensor,
        item_embedding: Tensor,
        fc_weight: Tensor,
        fc_bias: Option<Tensor>,
    ) -> Result<Self> {
        let (us, is, ws) = (user_embedding.shape(), item_embedding.shape(), fc_weight.shape());
        if us.len() != 2 || is.len() != 2 || us[1] != is[1] {
            return Err(Error::mismatch(
                "seed_recommender",
                &us,
                &is,
                "the embeddings must be (U, K) and (I, K) with one K",
            ));
        }
        if ws != [1, 2 * us[1]] {
            return Err(Error::shape(
                "seed_recommender",
                &ws,
                format!("fc.weight must be (1, 2·n_factors) = (1, {}) for the concatenated input", 2 * us[1]),
            ));
        }
        let fc = Linear::from_tensors(fc_weight, fc_bias)?;
        Ok(SeedRecommender { user_embedding, item_embedding, fc, sparse: false, mode: Mode::default() })
    }

    /// `fc(cat(user_embedding(user), item_embedding(item), dim=1))`: user, item (N) i64 → (N, 1).
    pub fn forward_pair(&self, user: &Tensor, item: &Tensor) -> Result<Tensor> {
        let (u, i) = if self.sparse {
            (
                Tensor::embedding_sparse_grad(user, &self.user_embedding, None)?,
                Tensor::embedding_sparse_grad(item, &self.item_embedding, None)?,
            )
        } else {
            (
                Tensor::embedding(user, &self.user_embedding, None)?,
                Tensor::embedding(item, &self.item_embedding, None)?,
            )
        };
        let x = Tensor::cat(&[u, i], 1)?;
        self.fc.forward(&x)
    }
}

impl Module for SeedRecommender {
    /// `x` is (N, 2) i64: column 0 the user, column 1 the item.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let xs = x.shape();
        if xs.len() != 2 || xs[1] != 2 {
            return Err(Error::shape("seed_recommender", &xs, "x must be (N, 2): user and item ids"));
        }
        let u = x.narrow(1, 0, 1)?.reshape(&[-1])?.contiguous()?;
        let i = x.narrow(1, 1, 1)?.reshape(&[-1])?.contiguous()?;
        self.forward_pair(&u, &i)
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        vec![
            ("user_embedding.weight".into(), self.user_embedding.clone()),
            ("item_embedding.weight".into(), self.item_embedding.clone()),
        ]
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("fc".into(), &self.fc)]
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}
