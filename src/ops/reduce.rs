//! Sums and means over dimensions.
//!
//! $$\operatorname{sum}_D(x)_{\hat\imath} = \sum_{i \,:\, i|_{\bar D} = \hat\imath} x_i, \qquad
//! \frac{\partial L}{\partial x_i} = g_{\,i|_{\bar D}}$$
//! (the gradient is broadcast back over the reduced dimensions $D$); the mean divides both by
//! $N = \prod_{d \in D} n_d$.
//!
//! Reductions run in a fixed order whatever the thread count: a full sum adds fixed-size chunks in
//! parallel and then the chunk sums in order; a sum over dimensions adds along each axis in order.

use ndarray::{ArcArray, Axis, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::shape::{normalize_dims, reduced_shape};
use crate::error::{Error, Result};
use crate::map_float;
use crate::tensor::{Float, Tensor};

const CHUNK: usize = 1 << 14;

/// Sum of all elements: chunks of fixed size in parallel, then the partial sums in order.
pub(crate) fn sum_all<T: Float>(a: &ArcArray<T, IxDyn>) -> T {
    match a.as_slice() {
        Some(s) if s.len() > CHUNK => {
            let partial: Vec<T> = s.par_chunks(CHUNK).map(|c| c.iter().copied().sum()).collect();
            partial.into_iter().sum()
        }
        Some(s) => s.iter().copied().sum(),
        None => a.iter().copied().sum(),
    }
}

/// Sum over `dims` (sorted, distinct), keeping them as size 1 when `keepdim`.
pub(crate) fn sum_dims<T: Float>(
    a: &ArcArray<T, IxDyn>,
    dims: &[usize],
    keepdim: bool,
) -> ArcArray<T, IxDyn> {
    let shape = a.shape().to_vec();
    let out_shape = reduced_shape(&shape, dims, keepdim);
    if dims.len() == shape.len() {
        let s = sum_all(a);
        return ArcArray::from_elem(IxDyn(&out_shape), s);
    }
    let mut cur = a.to_owned();
    for &d in dims.iter().rev() {
        cur = cur.sum_axis(Axis(d));
    }
    // ok: same number of elements by construction
    cur.into_shape_with_order(IxDyn(&out_shape)).expect("reduced shape").into_shared()
}

impl Tensor {
    /// Sum over `dims` (`None`: every dimension), keeping reduced dimensions with `keepdim`.
    pub fn sum_dims(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        let shape = self.shape();
        let ds = normalize_dims("sum", dims, &shape)?;
        let d = self.data();
        let y = match &d {
            #[cfg(feature = "cuda")]
            crate::tensor::Data::Cuda(c) => {
                crate::tensor::Data::Cuda(crate::device::cuda::reduce::sum_dims(c, &ds, keepdim, 1.0)?)
            }
            _ => map_float!(&d, "sum", |a| sum_dims(a, &ds, keepdim)),
        };
        let keep_shape = reduced_shape(&shape, &ds, true);
        Ok(record(y, "sum", &[self], move |g| {
            Ok(vec![Some(g.reshape_usize(&keep_shape)?.broadcast_to(&shape)?)])
        }))
    }

    /// Sum of every element, a 0-d tensor.
    pub fn sum(&self) -> Result<Tensor> {
        self.sum_dims(None, false)
    }

    /// Sum over one dimension.
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.sum_dims(Some(&[dim]), keepdim)
    }

    /// Mean over `dims` (`None`: every dimension).
    pub fn mean_dims(&self, dims: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
        let shape = self.shape();
        let ds = normalize_dims("mean", dims, &shape)?;
        let n: usize = ds.iter().map(|&d| shape[d]).product();
        if n == 0 {
            return Err(Error::shape("mean", &shape, "mean over an empty dimension"));
        }
        self.sum_dims(dims, keepdim)?.div_scalar(n as f64)
    }

    /// Mean of every element, a 0-d tensor.
    pub fn mean(&self) -> Result<Tensor> {
        self.mean_dims(None, false)
    }

    /// Mean over one dimension.
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.mean_dims(Some(&[dim]), keepdim)
    }

    /// Sums `self` down to `shape`, undoing a broadcast: the gradient rule of every broadcasting op.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        let own = self.shape();
        if own == shape {
            return Ok(self.clone());
        }
        if shape.len() > own.len() {
            return Err(Error::mismatch("sum_to", &own, shape, "target has more dimensions"));
        }
        let extra = own.len() - shape.len();
        let mut dims: Vec<isize> = (0..extra as isize).collect();
        for (i, &s) in shape.iter().enumerate() {
            if s == 1 && own[extra + i] != 1 {
                dims.push((extra + i) as isize);
            } else if s != own[extra + i] {
                return Err(Error::mismatch("sum_to", &own, shape, "not a broadcast of the target"));
            }
        }
        self.sum_dims(Some(&dims), true)?.reshape_usize(shape)
    }
}
