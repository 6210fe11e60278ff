//! `Embedding`: a lookup table of $V$ word vectors $w_i \in \mathbb R^D$ (the document's §1.3.3.1),
//! `torch.nn.Embedding`.
//!
//! $$y_{\dots, :} = W_{\text{idx}_{\dots}, :}, \qquad
//!   \frac{\partial L}{\partial W_{v,:}} = \sum_{\text{positions with } \text{idx} = v} g_{\dots,:}$$
//!
//! (the row named by `padding_idx`, if any, gets no gradient). Shapes: indices of any shape (i64),
//! $W$ $(V, D)$, output `indices.shape + [D]`. Initialisation as PyTorch's: $W \sim \mathcal N(0, 1)$,
//! and the `padding_idx` row zero. With `sparse = true` the gradient is row-sparse (see
//! [`Tensor::embedding_sparse_grad`]).

use super::init::normal_;
use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// A table of `num_embeddings` vectors of size `embedding_dim`, `torch.nn.Embedding`.
#[derive(Clone)]
pub struct Embedding {
    /// $(V, D)$, requires a gradient.
    pub weight: Tensor,
    /// The row that stays zero and gets no gradient (PyTorch's `padding_idx`, non-negative here).
    pub padding_idx: Option<usize>,
    /// Whether the gradient is row-sparse.
    pub sparse: bool,
    mode: Mode,
}

impl Embedding {
    /// A table with PyTorch's initialisation ($\mathcal N(0,1)$, padding row zeroed), drawn from `rng`.
    pub fn new(
        num_embeddings: usize,
        embedding_dim: usize,
        padding_idx: Option<usize>,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Embedding> {
        if num_embeddings == 0 || embedding_dim == 0 {
            return Err(Error::invalid(
                "Embedding",
                format!("num_embeddings ({num_embeddings}) and embedding_dim ({embedding_dim}) must be ≥ 1"),
            ));
        }
        if !dtype.is_float() {
            return Err(Error::UnsupportedDType {
                op: "Embedding",
                dtype,
                shape: vec![num_embeddings, embedding_dim],
                expected: "f32 or f64",
            });
        }
        let weight = Tensor::zeros(&[num_embeddings, embedding_dim], dtype)?;
        normal_(&weight, 0.0, 1.0, rng)?;
        if let Some(p) = padding_idx {
            if p >= num_embeddings {
                return Err(Error::invalid(
                    "Embedding",
                    format!("padding_idx {p} must be below num_embeddings {num_embeddings}"),
                ));
            }
            let mut v: Vec<f64> = weight.to_f64_vec();
            v[p * embedding_dim..(p + 1) * embedding_dim].fill(0.0);
            weight
                .set_data(Tensor::from_vec(v, &[num_embeddings, embedding_dim])?.to_dtype(dtype)?.data())?;
        }
        Ok(Embedding { weight: weight.requires_grad_()?, padding_idx, sparse: false, mode: Mode::default() })
    }

    /// A table holding `weight` $(V, D)$ as it is (e.g. loaded from a checkpoint).
    pub fn from_tensor(weight: Tensor, padding_idx: Option<usize>) -> Result<Embedding> {
        let ws = weight.shape();
        if ws.len() != 2 || !weight.dtype().is_float() {
            return Err(Error::shape(
                "Embedding",
                &ws,
                "weight must be a float (num_embeddings, embedding_dim)",
            ));
        }
        if let Some(p) = padding_idx
            && p >= ws[0]
        {
            return Err(Error::shape(
                "Embedding",
                &ws,
                format!("padding_idx {p} must be below num_embeddings"),
            ));
        }
        Ok(Embedding { weight, padding_idx, sparse: false, mode: Mode::default() })
    }

    /// Makes the weight's gradient row-sparse (builder style).
    pub fn sparse(mut self, sparse: bool) -> Self {
        self.sparse = sparse;
        self
    }

    pub fn num_embeddings(&self) -> usize {
        self.weight.shape()[0]
    }
    pub fn embedding_dim(&self) -> usize {
        self.weight.shape()[1]
    }
}

impl Module for Embedding {
    /// The rows of the table named by the i64 `indices`; an id outside $[0, V)$ is an error naming
    /// `embedding` and both shapes.
    fn forward(&self, indices: &Tensor) -> Result<Tensor> {
        let pad = self.padding_idx.map(|p| p as i64);
        if self.sparse {
            Tensor::embedding_sparse_grad(indices, &self.weight, pad)
        } else {
            Tensor::embedding(indices, &self.weight, pad)
        }
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".to_string(), self.weight.clone())]
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}
