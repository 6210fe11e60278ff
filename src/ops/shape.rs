//! Changing the shape without changing the values. Views share storage where the layout allows
//! (`reshape` of a contiguous tensor, `transpose`, `permute`, `narrow`, `unsqueeze`, `squeeze`);
//! `broadcast_to` and a `reshape` of a non-contiguous tensor copy.
//!
//! | op | forward | $\partial L/\partial x$ |
//! |---|---|---|
//! | reshape | $y = x$ read in a new shape | $g$ in $x$'s shape |
//! | transpose, permute | $y_{\pi(i)} = x_i$ | $g$ permuted back by $\pi^{-1}$ |
//! | broadcast_to | $y_i = x_{i \bmod \text{shape}(x)}$ | $\operatorname{sum\_to}(g, \text{shape}(x))$ |
//! | narrow | $y = x_{[s, s+n)}$ along one dimension | $g$ placed at $[s, s+n)$, zeros elsewhere |

use ndarray::{Axis, IxDyn, Slice};

use crate::autograd::record;
use crate::device::shape::{normalize_dim, normalize_dim_rank};
use crate::error::{Error, Result};
use crate::map_any;
use crate::tensor::{Data, Tensor};

/// Resolves a shape with at most one `-1` against `numel` elements.
pub(crate) fn infer_shape(op: &'static str, from: &[usize], spec: &[isize]) -> Result<Vec<usize>> {
    let numel: usize = from.iter().product();
    let mut infer = None;
    let mut known = 1usize;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            -1 if infer.is_none() => infer = Some(i),
            s if s >= 0 => known *= s as usize,
            _ => return Err(Error::shape(op, from, format!("invalid target shape {spec:?}"))),
        }
    }
    let mut out: Vec<usize> = spec.iter().map(|&s| s.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(Error::shape(op, from, format!("cannot reshape {numel} elements to {spec:?}")));
        }
        out[i] = numel / known;
    } else if known != numel {
        return Err(Error::shape(op, from, format!("cannot reshape {numel} elements to {spec:?}")));
    }
    Ok(out)
}

fn reshape_data(d: &Data, shape: &[usize]) -> Result<Data> {
    #[cfg(feature = "cuda")]
    if let Data::Cuda(c) = d {
        return Ok(Data::Cuda(c.reshaped(shape)?));
    }
    let c = d.contiguous();
    // ok: contiguous data and a shape of the same element count always reshape
    Ok(map_any!(&c, |a| a.clone().into_shape_with_order(IxDyn(shape)).expect("checked element count")))
}

impl Tensor {
    /// The same values in `shape`; one entry may be `-1` (inferred). A view when contiguous.
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let from = self.shape();
        let to = infer_shape("reshape", &from, shape)?;
        self.reshape_usize(&to)
    }

    /// [`Tensor::reshape`] with a fully known shape.
    pub fn reshape_usize(&self, shape: &[usize]) -> Result<Tensor> {
        let from = self.shape();
        if from.iter().product::<usize>() != shape.iter().product::<usize>() {
            return Err(Error::mismatch("reshape", &from, shape, "element counts differ"));
        }
        if from == shape {
            return Ok(self.clone());
        }
        let y = reshape_data(&self.data(), shape)?;
        Ok(record(y, "reshape", &[self], move |g| Ok(vec![Some(g.reshape_usize(&from)?)])))
    }

    /// Flattens dimensions `start..=end` into one.
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        let shape = self.shape();
        if shape.is_empty() {
            return self.reshape_usize(&[1]);
        }
        let (s, e) = (normalize_dim("flatten", start, &shape)?, normalize_dim("flatten", end, &shape)?);
        if s > e {
            return Err(Error::shape("flatten", &shape, format!("start {start} after end {end}")));
        }
        let mut to: Vec<usize> = shape[..s].to_vec();
        to.push(shape[s..=e].iter().product());
        to.extend_from_slice(&shape[e + 1..]);
        self.reshape_usize(&to)
    }

    /// Swaps two dimensions (a view).
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Result<Tensor> {
        let shape = self.shape();
        let (a, b) = (normalize_dim("transpose", dim0, &shape)?, normalize_dim("transpose", dim1, &shape)?);
        if shape.len() < 2 || a == b {
            return Ok(self.clone());
        }
        let d = self.data();
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = &d {
            let mut p: Vec<usize> = (0..shape.len()).collect();
            p.swap(a, b);
            let y = Data::Cuda(c.permuted(&p));
            return Ok(record(y, "transpose", &[self], move |g| {
                Ok(vec![Some(g.transpose(a as isize, b as isize)?)])
            }));
        }
        let y = map_any!(&d, |x| {
            let mut v = x.clone();
            v.swap_axes(a, b);
            v
        });
        Ok(record(y, "transpose", &[self], move |g| Ok(vec![Some(g.transpose(a as isize, b as isize)?)])))
    }

    /// The transpose of a 2-D tensor.
    pub fn t(&self) -> Result<Tensor> {
        if self.dims() != 2 {
            return Err(Error::shape("t", &self.shape(), "t() needs a 2-D tensor; use transpose"));
        }
        self.transpose(0, 1)
    }

    /// Reorders the dimensions: dimension `i` of the result is dimension `perm[i]` of `self` (a view).
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let shape = self.shape();
        let mut seen = vec![false; shape.len()];
        if perm.len() != shape.len()
            || perm.iter().any(|&p| p >= shape.len() || std::mem::replace(&mut seen[p], true))
        {
            return Err(Error::shape(
                "permute",
                &shape,
                format!("{perm:?} is not a permutation of the dimensions"),
            ));
        }
        let p = perm.to_vec();
        let d = self.data();
        let y = match &d {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => Data::Cuda(c.permuted(&p)),
            _ => map_any!(&d, |x| x.clone().permuted_axes(IxDyn(&p))),
        };
        let mut inv = vec![0; p.len()];
        for (i, &pi) in p.iter().enumerate() {
            inv[pi] = i;
        }
        Ok(record(y, "permute", &[self], move |g| Ok(vec![Some(g.permute(&inv)?)])))
    }

    /// Repeats size-1 dimensions (and prepends new ones) to reach `shape` (copies).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        let from = self.shape();
        if from == shape {
            return Ok(self.clone());
        }
        let target = crate::device::shape::broadcast_shapes("broadcast_to", &from, shape)?;
        if target != shape {
            return Err(Error::mismatch("broadcast_to", &from, shape, "cannot broadcast to a smaller shape"));
        }
        let to = shape.to_vec();
        let d = self.data();
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = &d {
            let y =
                Data::Cuda(crate::device::cuda::copy::contiguous(&c.broadcast_view("broadcast_to", &to)?)?);
            return Ok(record(y, "broadcast_to", &[self], move |g| Ok(vec![Some(g.sum_to(&from)?)])));
        }
        let y = map_any!(&d, |x| {
            // ok: broadcast_shapes checked compatibility
            x.broadcast(IxDyn(&to)).expect("compatible").to_owned().into_shared()
        });
        Ok(record(y, "broadcast_to", &[self], move |g| Ok(vec![Some(g.sum_to(&from)?)])))
    }

    /// Elements `start..start + len` along `dim` (a view).
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Tensor> {
        let shape = self.shape();
        let d = normalize_dim("narrow", dim, &shape)?;
        if shape.is_empty() || start + len > shape[d] {
            return Err(Error::shape(
                "narrow",
                &shape,
                format!("range {start}..{} outside dimension {d}", start + len),
            ));
        }
        let d0 = self.data();
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = &d0 {
            let y = Data::Cuda(c.narrowed(d, start, len));
            return Ok(record(y, "narrow", &[self], move |g| {
                let Data::Cuda(gc) = g.data() else {
                    return Err(Error::Device {
                        op: "narrow_backward",
                        msg: "gradient not on the GPU".into(),
                    });
                };
                Ok(vec![Some(Tensor::from_data(Data::Cuda(crate::device::cuda::copy::pad_narrow(
                    &gc, &shape, d, start,
                )?)))])
            }));
        }
        let y = map_any!(&d0, |x| {
            let mut v = x.clone();
            v.slice_axis_inplace(Axis(d), Slice::from(start..start + len));
            v
        });
        Ok(record(y, "narrow", &[self], move |g| {
            let mut full = Tensor::zeros(&shape, g.dtype())?.data();
            let gd = g.data();
            match (&mut full, &gd) {
                (Data::F32(f), Data::F32(s)) => {
                    f.slice_axis_mut(Axis(d), Slice::from(start..start + len)).assign(s)
                }
                (Data::F64(f), Data::F64(s)) => {
                    f.slice_axis_mut(Axis(d), Slice::from(start..start + len)).assign(s)
                }
                _ => return Err(Error::invalid("narrow_backward", "gradient must be f32 or f64")),
            }
            Ok(vec![Some(Tensor::from_data(full))])
        }))
    }

    /// Inserts a dimension of size 1 at `dim` (a view).
    pub fn unsqueeze(&self, dim: isize) -> Result<Tensor> {
        let mut shape = self.shape();
        let d = normalize_dim_rank("unsqueeze", dim, shape.len() + 1, &shape)?;
        shape.insert(d, 1);
        self.reshape_usize(&shape)
    }

    /// Removes dimension `dim` if it has size 1 (`None`: every size-1 dimension).
    pub fn squeeze(&self, dim: Option<isize>) -> Result<Tensor> {
        let shape = self.shape();
        let to: Vec<usize> = match dim {
            None => shape.iter().copied().filter(|&s| s != 1).collect(),
            Some(dim) => {
                let d = normalize_dim("squeeze", dim, &shape)?;
                let mut v = shape.clone();
                if !v.is_empty() && v[d] == 1 {
                    v.remove(d);
                }
                v
            }
        };
        self.reshape_usize(&to)
    }

    /// The same values in a row-major buffer of their own (identity for the gradient).
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let y = self.data().contiguous();
        Ok(record(y, "contiguous", &[self], |g| Ok(vec![Some(g.clone())])))
    }
}
