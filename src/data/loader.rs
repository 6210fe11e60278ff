//! `DataLoader`: mini-batches of rows from tensors that share their first dimension.
//!
//! Given tensors $X^{(1)}, \dots, X^{(k)}$ with $N$ rows each (dimension 0) and a batch size $B$,
//! an epoch visits the rows in an order $\pi$ (the identity, or a fresh random permutation of
//! $0..N$ when shuffling) and yields the batches
//! $$\big(X^{(1)}_{\pi(bB..(b+1)B)}, \dots, X^{(k)}_{\pi(bB..(b+1)B)}\big), \qquad b = 0, 1, \dots$$
//! so every row appears exactly once per epoch. There are $\lceil N/B \rceil$ batches, or
//! $\lfloor N/B \rfloor$ with `drop_last` (the short last batch dropped).
//!
//! Shuffling is seeded: epoch $e$ uses the permutation drawn by `Generator::new(seed + e·φ)`
//! ($\varphi$ = `0x9E3779B97F4A7C15`, the 64-bit golden ratio, wrapping), so the same seed gives
//! the same sequence of epochs on any machine and thread count, each epoch a new order, and
//! [`DataLoader::set_epoch`] resumes the sequence after a checkpoint.
//!
//! Batches are leaf tensors that require no gradient. Without shuffling a batch is a view of the
//! rows (no copy); with shuffling the rows are gathered into a new contiguous buffer.

use ndarray::{ArcArray, ArrayD, Axis, IxDyn};

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::map_any;
use crate::rng::Generator;
use crate::tensor::{Data, Tensor};

/// Batches of rows from a set of tensors, `DataLoader(TensorDataset(*tensors), batch_size, ...)`.
#[derive(Clone, Debug)]
pub struct DataLoader {
    /// The tensors' storage, row-major.
    data: Vec<Data>,
    rows: usize,
    batch_size: usize,
    seed: Option<u64>,
    drop_last: bool,
    epoch: u64,
}

impl DataLoader {
    /// Batches of `batch_size` rows from `tensors` (all with the same number of rows, dimension 0),
    /// in order, keeping the short last batch.
    pub fn new(tensors: Vec<Tensor>, batch_size: usize) -> Result<DataLoader> {
        if batch_size == 0 {
            return Err(Error::invalid("DataLoader", "batch_size must be at least 1"));
        }
        let Some(first) = tensors.first() else {
            return Err(Error::invalid("DataLoader", "needs at least one tensor"));
        };
        let s0 = first.shape();
        for t in &tensors {
            let s = t.shape();
            if s.is_empty() {
                return Err(Error::shape("DataLoader", &s, "tensors need a first (row) dimension"));
            }
            if s[0] != s0[0] {
                return Err(Error::mismatch(
                    "DataLoader",
                    &s0,
                    &s,
                    "tensors must have the same size in dimension 0",
                ));
            }
        }
        let data = tensors.iter().map(|t| t.data().contiguous()).collect();
        Ok(DataLoader { data, rows: s0[0], batch_size, seed: None, drop_last: false, epoch: 0 })
    }

    /// Visits the rows in a new seeded random order every epoch (`shuffle=True` with a seeded
    /// generator).
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Drops the last batch when it is shorter than `batch_size`.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// The number of batches per epoch.
    pub fn len(&self) -> usize {
        if self.drop_last { self.rows / self.batch_size } else { self.rows.div_ceil(self.batch_size) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of rows (samples).
    pub fn num_samples(&self) -> usize {
        self.rows
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The epoch the next call to [`DataLoader::iter`] runs (0 at first).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Sets the epoch the next [`DataLoader::iter`] runs (to resume a shuffled run).
    pub fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    /// The row order of epoch `epoch` (the identity without shuffling).
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        match self.seed {
            None => (0..self.rows).collect(),
            Some(seed) => {
                let mut rng = Generator::new(seed.wrapping_add(epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
                rng.permutation(self.rows)
            }
        }
    }

    /// The batches of the next epoch; advances the epoch counter.
    pub fn iter(&mut self) -> Batches {
        let order = self.seed.map(|_| self.order(self.epoch));
        self.epoch += 1;
        Batches {
            data: self.data.clone(),
            order,
            batch_size: self.batch_size,
            rows: self.rows,
            batch: 0,
            len: self.len(),
        }
    }
}

impl IntoIterator for &mut DataLoader {
    type Item = Result<Vec<Tensor>>;
    type IntoIter = Batches;
    fn into_iter(self) -> Batches {
        self.iter()
    }
}

/// One epoch of batches (from [`DataLoader::iter`]): each item is one tensor per input tensor.
pub struct Batches {
    data: Vec<Data>,
    order: Option<Vec<usize>>,
    batch_size: usize,
    rows: usize,
    batch: usize,
    len: usize,
}

impl Iterator for Batches {
    type Item = Result<Vec<Tensor>>;

    fn next(&mut self) -> Option<Result<Vec<Tensor>>> {
        if self.batch >= self.len {
            return None;
        }
        let start = self.batch * self.batch_size;
        let end = (start + self.batch_size).min(self.rows);
        self.batch += 1;
        let batch = no_grad(|| {
            self.data
                .iter()
                .map(|d| match &self.order {
                    None => Tensor::from_data(d.clone()).narrow(0, start, end - start),
                    Some(order) => gather_rows(d, &order[start..end]).map(Tensor::from_data),
                })
                .collect()
        });
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.batch;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches {}

/// Rows `idx` of `d` (dimension 0), copied into a new row-major buffer (on a GPU: `index_select`
/// with the indices uploaded, so a data set moved to the device stays there).
fn gather_rows(d: &Data, idx: &[usize]) -> Result<Data> {
    #[cfg(feature = "cuda")]
    if let Data::Cuda(c) = d {
        let ids = Tensor::from_vec(idx.iter().map(|&i| i as i64).collect(), &[idx.len()])?;
        let ids = ids.to(&crate::device::Device::Cuda(c.ordinal()))?;
        return Ok(Tensor::from_data(d.clone()).index_select(0, &ids)?.data());
    }
    fn gather<T: Copy>(a: &ArcArray<T, IxDyn>, idx: &[usize]) -> Result<ArcArray<T, IxDyn>> {
        let mut shape = a.shape().to_vec();
        let row: usize = shape[1..].iter().product();
        let Some(src) = a.as_slice() else {
            // not reached: the loader keeps row-major buffers
            return Ok(a.select(Axis(0), idx).into_shared());
        };
        let mut out = Vec::with_capacity(idx.len() * row);
        for &i in idx {
            out.extend_from_slice(&src[i * row..(i + 1) * row]);
        }
        shape[0] = idx.len();
        let arr = ArrayD::from_shape_vec(IxDyn(&shape), out)
            .map_err(|e| Error::shape("DataLoader", &shape, e.to_string()))?;
        Ok(arr.into_shared())
    }
    Ok(map_any!(d, |a| gather(a, idx)?))
}
