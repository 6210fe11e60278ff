//! The [`Dataset`] trait: a set of rows, each a tuple of tensors sharing dimension 0, that a
//! [`DataLoader`] batches. [`TensorDataset`] is PyTorch's `TensorDataset`; [`Dataset::subset`]
//! takes rows by index (a train or test fold).

use super::loader::DataLoader;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A data set of `len()` rows given as tensors with that many rows each (features, targets, ...).
pub trait Dataset {
    /// The number of rows.
    fn len(&self) -> usize;

    /// The tensors, each with `len()` rows (dimension 0).
    fn tensors(&self) -> Vec<Tensor>;

    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `rows` (in that order), as a new [`TensorDataset`].
    fn subset(&self, rows: &[usize]) -> Result<TensorDataset> {
        let idx = Tensor::from_vec(rows.iter().map(|&r| r as i64).collect(), &[rows.len()])?;
        let tensors =
            self.tensors().iter().map(|t| t.detach().index_select(0, &idx)).collect::<Result<_>>()?;
        TensorDataset::new(tensors)
    }

    /// A [`DataLoader`] over the rows in batches of `batch_size` (shuffle it with
    /// [`DataLoader::shuffle`]).
    fn loader(&self, batch_size: usize) -> Result<DataLoader> {
        DataLoader::new(self.tensors(), batch_size)
    }
}

/// Tensors that share their first dimension, `torch.utils.data.TensorDataset`.
#[derive(Clone, Debug)]
pub struct TensorDataset {
    tensors: Vec<Tensor>,
    rows: usize,
}

impl TensorDataset {
    /// At least one tensor; all with the same number of rows.
    pub fn new(tensors: Vec<Tensor>) -> Result<TensorDataset> {
        let Some(first) = tensors.first() else {
            return Err(Error::invalid("TensorDataset", "needs at least one tensor"));
        };
        let s0 = first.shape();
        if s0.is_empty() {
            return Err(Error::shape("TensorDataset", &s0, "tensors need a first (row) dimension"));
        }
        for t in &tensors {
            let s = t.shape();
            if s.first() != Some(&s0[0]) {
                return Err(Error::mismatch(
                    "TensorDataset",
                    &s0,
                    &s,
                    "tensors must have the same number of rows",
                ));
            }
        }
        Ok(TensorDataset { rows: s0[0], tensors })
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.rows
    }
    fn tensors(&self) -> Vec<Tensor> {
        self.tensors.clone()
    }
}
