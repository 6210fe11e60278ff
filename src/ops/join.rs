//! Joining tensors along a dimension, and cutting one into pieces.
//!
//! **cat.** For inputs $x^{(1)}, \dots, x^{(m)}$ of one dtype and one shape except along dimension
//! $d$, where $x^{(k)}$ has $n_k$ entries, let $o_k = \sum_{l<k} n_l$ be the offset of input $k$. Then
//! $$y_{\dots,\, o_k + i,\, \dots} = x^{(k)}_{\dots,\, i,\, \dots}, \qquad 0 \le i < n_k,$$
//! so $y$ has $\sum_k n_k$ entries along $d$. Each input's gradient is its own slice of the upstream
//! gradient $g$:
//! $$\frac{\partial L}{\partial x^{(k)}} = g_{[\,o_k,\; o_k + n_k)} \text{ along } d.$$
//! Saved for backward: the offsets and lengths $(o_k, n_k)$ only.
//!
//! **stack** adds a new dimension $d$ of size $m$: $y_{\dots,\, k,\, \dots} = x^{(k)}$; it is
//! `cat` of the inputs unsqueezed at $d$, and its gradient is $g$ indexed at $k$ along $d$.
//!
//! **chunk** and **split** return [`Tensor::narrow`] views $x_{[s, s+n)}$ along $d$; each view's
//! gradient is $g$ placed at $[s, s+n)$, zeros elsewhere (narrow's own rule), and the views'
//! gradients add up in $x$'s gradient.
//!
//! Every dtype joins and splits (f32, f64, i64, bool); only f32 and f64 carry gradients. Inputs
//! must share one dtype: glassgrad never promotes silently.
//!
//! On a GPU, `cat` allocates the output and copies each input into its window (`copy_into` of
//! `kernels/copy.cu`); every input must be on that GPU. The gradients are `narrow` views there too.

use ndarray::{ArrayView, Axis, IxDyn};

use crate::autograd::record;
use crate::device::Device;
use crate::device::shape::{normalize_dim, normalize_dim_rank};
use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Element, Tensor};

/// Checks that `tensors` can be joined along `dim` and returns that dimension, normalised.
/// `new_dim`: stack (every shape equal, `dim` counts in rank + 1) instead of cat.
fn check_join(op: &'static str, tensors: &[Tensor], dim: isize, new_dim: bool) -> Result<usize> {
    let first = tensors.first().ok_or_else(|| Error::invalid(op, "needs at least one tensor"))?;
    let (s0, t0) = (first.shape(), first.dtype());
    let d = if new_dim {
        normalize_dim_rank(op, dim, s0.len() + 1, &s0)?
    } else {
        if s0.is_empty() {
            return Err(Error::shape(
                op,
                &s0,
                "a zero-dimensional tensor cannot be concatenated; unsqueeze it",
            ));
        }
        normalize_dim(op, dim, &s0)?
    };
    for (k, t) in tensors.iter().enumerate().skip(1) {
        let s = t.shape();
        if t.dtype() != t0 {
            return Err(Error::DTypeMismatch { op, lhs: t0, rhs: t.dtype(), lhs_shape: s0, rhs_shape: s });
        }
        let fits = s.len() == s0.len()
            && s.iter().zip(&s0).enumerate().all(|(i, (a, b))| a == b || (!new_dim && i == d));
        if !fits {
            let msg = if new_dim {
                format!("tensor {k} must have the shape of tensor 0 (every shape equal)")
            } else {
                format!("tensor {k} must match tensor 0 in every dimension except {d}")
            };
            return Err(Error::mismatch(op, &s0, &s, msg));
        }
    }
    Ok(d)
}

/// The forward of cat for one element type: `ndarray::concatenate` of the views.
fn cat_typed<T: Element>(datas: &[Data], d: usize) -> Result<Data> {
    let arrays = datas.iter().map(|x| x.typed::<T>("cat")).collect::<Result<Vec<_>>>()?;
    let views: Vec<ArrayView<T, IxDyn>> = arrays.iter().map(|a| a.view()).collect();
    let y = ndarray::concatenate(Axis(d), &views).map_err(|e| Error::invalid("cat", e.to_string()))?;
    Ok(T::wrap(y.into_shared()))
}

/// The forward of cat on a GPU: every input must be on one GPU (an input elsewhere is a device
/// error naming `cat`); a fresh output with each input copied into its window.
fn cat_on_gpu(datas: &[Data], d: usize) -> Result<Data> {
    #[cfg(feature = "cuda")]
    {
        let on = datas.iter().find(|x| x.device() != Device::Cpu).unwrap_or(&datas[0]);
        let cs = datas
            .iter()
            .map(|x| match x {
                Data::Cuda(c) => Ok(c.clone()),
                other => Err(crate::ops::common::device_mismatch("cat", on, other)),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Data::Cuda(crate::device::cuda::index::cat("cat", &cs, d)?))
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = d;
        Err(crate::ops::common::device_mismatch("cat", &datas[0], &datas[0]))
    }
}

impl Tensor {
    /// Concatenates `tensors` along `dim` (`torch.cat`). All must have one dtype and the same shape
    /// except along `dim`. Every dtype works; f32/f64 inputs get the matching slice of the gradient.
    pub fn cat(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let d = check_join("cat", tensors, dim, false)?;
        if tensors.len() == 1 {
            return Ok(tensors[0].clone());
        }
        let datas: Vec<Data> = tensors.iter().map(Tensor::data).collect();
        let y = if datas.iter().any(|x| x.device() != Device::Cpu) {
            cat_on_gpu(&datas, d)?
        } else {
            match tensors[0].dtype() {
                DType::F32 => cat_typed::<f32>(&datas, d)?,
                DType::F64 => cat_typed::<f64>(&datas, d)?,
                DType::I64 => cat_typed::<i64>(&datas, d)?,
                DType::Bool => cat_typed::<bool>(&datas, d)?,
            }
        };
        // Saved for backward: (offset o_k, length n_k, wants a gradient) of each input.
        let mut pieces = Vec::with_capacity(tensors.len());
        let mut offset = 0;
        for t in tensors {
            let n = t.shape()[d];
            pieces.push((offset, n, t.requires_grad()));
            offset += n;
        }
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        Ok(record(y, "cat", &inputs, move |g| {
            pieces
                .iter()
                .map(|&(o, n, wants)| if wants { g.narrow(d as isize, o, n).map(Some) } else { Ok(None) })
                .collect()
        }))
    }

    /// Stacks `tensors` (all of one shape and dtype) along a new dimension `dim`
    /// (`torch.stack`); `dim` may be `-(rank + 1)..=rank`.
    pub fn stack(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let d = check_join("stack", tensors, dim, true)?;
        let expanded = tensors.iter().map(|t| t.unsqueeze(d as isize)).collect::<Result<Vec<_>>>()?;
        Tensor::cat(&expanded, d as isize)
    }

    /// Splits into `chunks` views of $\lceil n / \text{chunks} \rceil$ entries along `dim` (the last
    /// may be smaller, and fewer than `chunks` come back when $n$ is too small), as `torch.chunk`.
    pub fn chunk(&self, chunks: usize, dim: isize) -> Result<Vec<Tensor>> {
        let shape = self.shape();
        if chunks == 0 {
            return Err(Error::invalid(
                "chunk",
                format!("chunks must be at least 1 (tensor of shape {shape:?})"),
            ));
        }
        let d = normalize_dim("chunk", dim, &shape)?;
        if shape.is_empty() {
            return Err(Error::shape("chunk", &shape, "a zero-dimensional tensor cannot be chunked"));
        }
        let n = shape[d];
        if n == 0 {
            // PyTorch returns `chunks` empty views here.
            return (0..chunks).map(|_| self.narrow(d as isize, 0, 0)).collect();
        }
        self.split(n.div_ceil(chunks), d as isize)
    }

    /// Splits into views of `size` entries along `dim` (the last may be smaller), as
    /// `torch.split(size, dim)`. `size` may be 0 only when the dimension is empty.
    pub fn split(&self, size: usize, dim: isize) -> Result<Vec<Tensor>> {
        let shape = self.shape();
        let d = normalize_dim("split", dim, &shape)?;
        if shape.is_empty() {
            return Err(Error::shape("split", &shape, "a zero-dimensional tensor cannot be split"));
        }
        let n = shape[d];
        if n == 0 {
            return Ok(vec![self.narrow(d as isize, 0, 0)?]);
        }
        if size == 0 {
            return Err(Error::shape("split", &shape, format!("split size 0 for dimension {d} of size {n}")));
        }
        (0..n).step_by(size).map(|s| self.narrow(d as isize, s, size.min(n - s))).collect()
    }
}
