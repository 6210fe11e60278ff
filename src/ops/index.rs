//! Reading and writing by integer index: `index_select`, `gather`, `scatter_add`, `one_hot`.
//!
//! Written for dimension $d = 0$ of a 3-D input; every other dimension works the same way. Indices
//! are i64 tensors, and every index value must lie in $0 \le i < n_d$ (negative values are errors,
//! not counted from the end).
//!
//! | op | forward | gradient of the float input(s) |
//! |---|---|---|
//! | `index_select` | $y_{k,j,l} = x_{\,\iota_k,\,j,\,l}$ ($\iota$ 1-D) | $\frac{\partial L}{\partial x_{i,j,l}} = \sum_{k:\,\iota_k = i} g_{k,j,l}$ |
//! | `gather` | $y_{i,j,l} = x_{\,\iota_{i,j,l},\,j,\,l}$ | $\frac{\partial L}{\partial x} = \operatorname{scatter\_add}(0, \iota, g)$ into zeros |
//! | `scatter_add` | $y = x$, then $y_{\,\iota_{i,j,l},\,j,\,l} \mathrel{+}= s_{i,j,l}$ | $\frac{\partial L}{\partial x} = g$, $\quad \frac{\partial L}{\partial s} = \operatorname{gather}(g, 0, \iota)$ |
//! | `one_hot` | $y_{\dots,c} = [\,\iota_{\dots} = c\,]$ | none (integer input) |
//!
//! Shapes follow PyTorch. `index_select`: $\iota$ is 1-D of length $m$, and $y$ is $x$'s shape
//! with $n_d$ replaced by $m$. `gather`: $\iota$ has $x$'s rank, $\iota$'s size is at most $x$'s
//! in every dimension but $d$, and $y$ has $\iota$'s shape. `scatter_add`: $\iota$, $s$ and $x$
//! share one rank, $\iota$ is no larger than $s$ in any dimension and no larger than $x$ outside
//! $d$; only the $\iota$-shaped corner of $s$ is read (elsewhere its gradient is zero), and $y$ has
//! $x$'s shape.
//!
//! Saved for backward: the index (a snapshot of its values) and the input's shape; nothing else.
//! `index_select` and `gather` are the same gather seen two ways, and their gradients are the
//! matching scatter: repeated indices add up.
//!
//! **Determinism.** The kernels move dimension $d$ last so that each *lane* (the entries that share
//! every coordinate but the $d$-th) is contiguous. Different lanes never touch the same output
//! element, so lanes run in parallel; inside a lane, the additions into one output element of
//! `scatter_add` (and of `index_select`'s backward) happen in index order. The result is
//! bit-identical for any thread count.
//!
//! **On a GPU** (feature `cuda`, data on the device): `kernels/index.cu` through `cuda::index`,
//! the same formulas and the same order of additions (the scatter sums run over a CSR of the index
//! built on the host, one thread per output element, no atomics). The ops run where the data
//! lives: an index on the CPU is accepted with data on a GPU (as `embedding` does), an index on a
//! GPU with data on the CPU is a device error. Index values are checked on the host either way.

use std::ops::AddAssign;

use ndarray::{ArcArray, ArrayD, ArrayView, Axis, IxDyn, Slice};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::Device;
use crate::device::cpu::PARALLEL_THRESHOLD;
#[cfg(feature = "cuda")]
use crate::device::cuda::{CudaData, index as cuda};
use crate::device::shape::normalize_dim;
use crate::error::{Error, Result};
#[cfg(feature = "cuda")]
use crate::ops::device_data::cuda_input;
use crate::tensor::{DType, Data, Element, Float, Tensor};

// ------------------------------------------------------------------------------------- helpers

/// The values of `a` with dimension `d` moved last, in row-major order: the lanes along `d` become
/// contiguous runs of `a.shape()[d]` values. Returns the values and the other dimensions' sizes.
fn lanes_last<T: Copy>(a: ArrayView<T, IxDyn>, d: usize) -> (Vec<T>, Vec<usize>) {
    let rank = a.ndim();
    let mut perm: Vec<usize> = (0..rank).filter(|&k| k != d).collect();
    let others: Vec<usize> = perm.iter().map(|&k| a.shape()[k]).collect();
    perm.push(d);
    (a.permuted_axes(IxDyn(&perm)).iter().copied().collect(), others)
}

/// Undoes [`lanes_last`]: `values` in shape `others + [n]` become an array with that last
/// dimension back at position `d`.
fn lanes_back<T: Copy>(values: Vec<T>, others: &[usize], n: usize, d: usize) -> Result<ArcArray<T, IxDyn>> {
    let mut shape = others.to_vec();
    shape.push(n);
    let a =
        ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| Error::invalid("index", e.to_string()))?;
    // Dimension k of the result is dimension perm[k] of `a`: the last one goes back to d.
    let rank = shape.len();
    let perm: Vec<usize> = (0..rank)
        .map(|k| match k.cmp(&d) {
            std::cmp::Ordering::Less => k,
            std::cmp::Ordering::Equal => rank - 1,
            std::cmp::Ordering::Greater => k - 1,
        })
        .collect();
    Ok(a.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned().into_shared())
}

/// Lane number `c` of a lane grid of shape `from`, renumbered in the (larger or equal) grid `to`;
/// `None` when its coordinates fall outside `to`.
fn relocate(mut c: usize, from: &[usize], to: &[usize]) -> Option<usize> {
    let (mut out, mut stride) = (0, 1);
    for k in (0..from.len()).rev() {
        let coord = c % from[k];
        c /= from[k];
        if coord >= to[k] {
            return None;
        }
        out += coord * stride;
        stride *= to[k];
    }
    Some(out)
}

/// Runs `f(lane_number, lane)` on every `len`-long lane of `out`, in parallel when large.
fn for_each_lane<T: Send>(out: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if len == 0 || out.is_empty() {
        return;
    }
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(len).enumerate().for_each(|(c, lane)| f(c, lane));
    } else {
        out.chunks_mut(len).enumerate().for_each(|(c, lane)| f(c, lane));
    }
}

/// The i64 values of an index tensor (copied to the host when it lives on a GPU), or an error
/// naming `op` and both shapes.
fn index_values(op: &'static str, index: &Tensor) -> Result<ArcArray<i64, IxDyn>> {
    let data = index.data();
    let data = if data.device() == Device::Cpu { data } else { data.to_host()? };
    match data {
        Data::I64(a) => Ok(a),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other.dtype(),
            shape: other.shape().to_vec(),
            expected: "int64 (an index tensor)",
        }),
    }
}

/// The device rule of the index ops: they run where the data `x` lives. An index on the CPU is
/// accepted with data on a GPU (copied up, as `embedding` does); an index on a GPU with data
/// elsewhere is an error naming `op`.
fn check_index_device(op: &'static str, x: &Data, index: &Tensor) -> Result<()> {
    let on = index.device();
    if on != Device::Cpu && on != x.device() {
        return Err(crate::ops::common::device_mismatch(op, x, &index.data()));
    }
    Ok(())
}

/// The device data of an index that lives on a GPU (it must be x's, else a device error naming
/// `op`); `None` for an index on the CPU, whose values the CUDA op uploads.
#[cfg(feature = "cuda")]
fn index_on_gpu(op: &'static str, index: &Tensor, x: &CudaData) -> Result<Option<CudaData>> {
    match index.data() {
        Data::Cuda(_) => cuda_input(op, index, Some(x.gpu())).map(Some),
        _ => Ok(None),
    }
}

/// Checks that every index lies in `0..size`; the first offending value (row-major) is the error.
fn check_range<'a>(
    op: &'static str,
    values: impl IntoIterator<Item = &'a i64>,
    size: usize,
    x_shape: &[usize],
    d: usize,
    index_shape: &[usize],
) -> Result<()> {
    for (pos, &v) in values.into_iter().enumerate() {
        if v < 0 || v as u64 >= size as u64 {
            return Err(Error::Index {
                op,
                index: v,
                size,
                shape: x_shape.to_vec(),
                msg: format!(
                    "index along dimension {d} of the input; found at flat position {pos} of the index of shape {index_shape:?}"
                ),
            });
        }
    }
    Ok(())
}

/// Validates `index` for gather/scatter along `d` of an input of shape `x_shape`.
fn check_gather_index(
    op: &'static str,
    x_shape: &[usize],
    dim: isize,
    index: &Tensor,
) -> Result<(usize, ArcArray<i64, IxDyn>)> {
    if x_shape.is_empty() {
        return Err(Error::shape(op, x_shape, "needs a tensor of at least one dimension"));
    }
    let d = normalize_dim(op, dim, x_shape)?;
    let idx = index_values(op, index)?;
    let is = idx.shape();
    if is.len() != x_shape.len() {
        return Err(Error::mismatch(op, x_shape, is, "the index must have the rank of the input"));
    }
    if let Some(k) = (0..is.len()).find(|&k| k != d && is[k] > x_shape[k]) {
        return Err(Error::mismatch(
            op,
            x_shape,
            is,
            format!(
                "index size {} exceeds the input's {} in dimension {k} (only dimension {d} may be larger)",
                is[k], x_shape[k]
            ),
        ));
    }
    check_range(op, idx.iter(), x_shape[d], x_shape, d, is)?;
    Ok((d, idx))
}

// ------------------------------------------------------------------------------ the kernels

/// Forward of `gather`: `y[c, i] = x[c, index[c, i]]` lane by lane (dimension `d` moved last).
fn gather_kernel<T: Element>(
    x: &ArcArray<T, IxDyn>,
    d: usize,
    index: &ArcArray<i64, IxDyn>,
) -> Result<ArcArray<T, IxDyn>> {
    let n = x.shape()[d];
    let m = index.shape()[d];
    let (xl, x_others) = lanes_last(x.view(), d);
    let (il, i_others) = lanes_last(index.view(), d);
    let mut y = vec![T::default(); il.len()];
    for_each_lane(&mut y, m, |c, y_lane| {
        // ok: index lanes lie inside the input's lane grid (checked: index size <= input size)
        let xc = relocate(c, &i_others, &x_others).unwrap_or(0);
        let x_lane = &xl[xc * n..(xc + 1) * n];
        for (yi, &ii) in y_lane.iter_mut().zip(&il[c * m..(c + 1) * m]) {
            *yi = x_lane[ii as usize]; // ok: indices checked to lie in 0..n
        }
    });
    lanes_back(y, &i_others, m, d)
}

/// Forward of `scatter_add`: `y = x`, then `y[c, index[c, i]] += src[c, i]` for i = 0, 1, ... in
/// order, lane by lane (dimension `d` moved last). Lanes of `y` outside the index's grid keep `x`.
fn scatter_add_kernel<T: Element + AddAssign>(
    x: &ArcArray<T, IxDyn>,
    d: usize,
    index: &ArcArray<i64, IxDyn>,
    src: &ArcArray<T, IxDyn>,
) -> Result<ArcArray<T, IxDyn>> {
    let n = x.shape()[d];
    let m = index.shape()[d];
    let is = index.shape().to_vec();
    let src_corner = src.slice_each_axis(|ax| Slice::from(0..is[ax.axis.index()]));
    let (sl, _) = lanes_last(src_corner, d);
    let (il, i_others) = lanes_last(index.view(), d);
    let (mut y, x_others) = lanes_last(x.view(), d);
    for_each_lane(&mut y, n, |c, y_lane| {
        let Some(ic) = relocate(c, &x_others, &i_others) else { return };
        for (&ii, &s) in il[ic * m..(ic + 1) * m].iter().zip(&sl[ic * m..(ic + 1) * m]) {
            y_lane[ii as usize] += s; // ok: indices checked to lie in 0..n
        }
    });
    lanes_back(y, &x_others, n, d)
}

/// Backward of `index_select`: zeros of `x_shape`, then `+=` the `k`-th slice of `g` at
/// `index[k]`, for k = 0, 1, ... in order (repeated indices accumulate).
fn index_select_backward<T: Float>(
    g: &ArcArray<T, IxDyn>,
    x_shape: &[usize],
    d: usize,
    index: &[usize],
) -> ArcArray<T, IxDyn> {
    let mut dx = ArrayD::<T>::zeros(IxDyn(x_shape));
    for (k, &i) in index.iter().enumerate() {
        let mut dst = dx.index_axis_mut(Axis(d), i);
        dst += &g.index_axis(Axis(d), k);
    }
    dx.into_shared()
}

/// `t` (shape `inner`) placed in the leading corner of zeros of `shape`.
fn place_in_corner<T: Float>(t: &ArcArray<T, IxDyn>, shape: &[usize]) -> ArcArray<T, IxDyn> {
    let mut out = ArrayD::<T>::zeros(IxDyn(shape));
    out.slice_each_axis_mut(|ax| Slice::from(0..t.shape()[ax.axis.index()])).assign(t);
    out.into_shared()
}

// ----------------------------------------------------------------------------- the tensor API

impl Tensor {
    /// The slices `index[0], index[1], ...` of `self` along `dim` (`torch.index_select`).
    /// `index` is a 1-D i64 tensor of positions in `0..size(dim)`; any dtype can be selected.
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let op = "index_select";
        let xs = self.shape();
        if xs.is_empty() {
            return Err(Error::shape(op, &xs, "needs a tensor of at least one dimension"));
        }
        let d = normalize_dim(op, dim, &xs)?;
        let data = self.data();
        check_index_device(op, &data, index)?;
        let idx = index_values(op, index)?;
        if idx.ndim() != 1 {
            return Err(Error::mismatch(op, &xs, idx.shape(), "the index must be 1-D"));
        }
        check_range(op, idx.iter(), xs[d], &xs, d, idx.shape())?;
        let positions: Vec<usize> = idx.iter().map(|&i| i as usize).collect();
        let select = |data: &Data| -> Result<Data> {
            Ok(match data {
                #[cfg(feature = "cuda")]
                Data::Cuda(c) => {
                    let ids: Vec<i64> = idx.iter().copied().collect();
                    let on_gpu = index_on_gpu(op, index, c)?;
                    Data::Cuda(cuda::index_select(c, d, on_gpu.as_ref(), &ids)?)
                }
                Data::F32(a) => Data::F32(a.select(Axis(d), &positions).into_shared()),
                Data::F64(a) => Data::F64(a.select(Axis(d), &positions).into_shared()),
                Data::I64(a) => Data::I64(a.select(Axis(d), &positions).into_shared()),
                Data::Bool(a) => Data::Bool(a.select(Axis(d), &positions).into_shared()),
            })
        };
        let y = select(&data)?;
        Ok(record(y, op, &[self], move |g| {
            let dx = match g.data() {
                #[cfg(feature = "cuda")]
                Data::Cuda(g) => {
                    let ids: Vec<i64> = positions.iter().map(|&p| p as i64).collect();
                    Data::Cuda(cuda::index_select_backward(&g, &xs, d, &ids)?)
                }
                Data::F32(g) => Data::F32(index_select_backward(&g, &xs, d, &positions)),
                Data::F64(g) => Data::F64(index_select_backward(&g, &xs, d, &positions)),
                other => {
                    return Err(Error::invalid(
                        "index_select_backward",
                        format!("gradient of dtype {}", other.dtype()),
                    ));
                }
            };
            Ok(vec![Some(Tensor::from_data(dx))])
        }))
    }

    /// `y[i][j][k] = self[index[i][j][k]][j][k]` for `dim = 0`, and likewise for other dimensions
    /// (`torch.gather`). `index` is i64 of `self`'s rank, no larger than `self` outside `dim`;
    /// `y` has `index`'s shape. Any dtype can be gathered.
    pub fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let op = "gather";
        let xs = self.shape();
        let data = self.data();
        check_index_device(op, &data, index)?;
        let (d, idx) = check_gather_index(op, &xs, dim, index)?;
        let y = match data {
            Data::F32(a) => Data::F32(gather_kernel(&a, d, &idx)?),
            Data::F64(a) => Data::F64(gather_kernel(&a, d, &idx)?),
            Data::I64(a) => Data::I64(gather_kernel(&a, d, &idx)?),
            Data::Bool(a) => Data::Bool(gather_kernel(&a, d, &idx)?),
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                let ids: Vec<i64> = idx.iter().copied().collect();
                let on_gpu = index_on_gpu(op, index, &c)?;
                Data::Cuda(cuda::gather(&c, d, on_gpu.as_ref(), &ids, idx.shape())?)
            }
        };
        let index = Tensor::from_data(Data::I64(idx));
        Ok(record(y, op, &[self], move |g| {
            // dL/dx = scatter_add of g into zeros of x's shape (on g's device).
            let dx = Tensor::full_on(&xs, 0.0, g.dtype(), &g.device())?.scatter_add(d as isize, &index, g)?;
            Ok(vec![Some(dx)])
        }))
    }

    /// Out-of-place `torch.Tensor.scatter_add`: `y = self`, then `y[index[i][j]][j] += src[i][j]`
    /// for `dim = 0` (likewise for other dimensions), the additions into one element in index
    /// order. f32, f64 and i64; `src` has `self`'s dtype and rank, and only its `index`-shaped
    /// corner is read.
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let op = "scatter_add";
        let xs = self.shape();
        let ss = src.shape();
        if src.dtype() != self.dtype() {
            return Err(Error::DTypeMismatch {
                op,
                lhs: self.dtype(),
                rhs: src.dtype(),
                lhs_shape: xs,
                rhs_shape: ss,
            });
        }
        if self.dtype() == DType::Bool {
            return Err(Error::UnsupportedDType {
                op,
                dtype: DType::Bool,
                shape: xs,
                expected: "float32, float64 or int64",
            });
        }
        let (x_data, src_data) = (self.data(), src.data());
        if x_data.device() != src_data.device() {
            return Err(crate::ops::common::device_mismatch(op, &x_data, &src_data));
        }
        check_index_device(op, &x_data, index)?;
        let (d, idx) = check_gather_index(op, &xs, dim, index)?;
        let is = idx.shape().to_vec();
        if ss.len() != is.len() || is.iter().zip(&ss).any(|(i, s)| i > s) {
            return Err(Error::mismatch(
                op,
                &ss,
                &is,
                format!(
                    "src (first shape) must have the index's rank and be at least its size in every dimension (input shape {xs:?})"
                ),
            ));
        }
        let y = match (x_data, src_data) {
            #[cfg(feature = "cuda")]
            (Data::Cuda(x), Data::Cuda(s)) => {
                let ids: Vec<i64> = idx.iter().copied().collect();
                Data::Cuda(cuda::scatter_add(&x, d, &ids, &is, &s)?)
            }
            (Data::F32(x), Data::F32(s)) => Data::F32(scatter_add_kernel(&x, d, &idx, &s)?),
            (Data::F64(x), Data::F64(s)) => Data::F64(scatter_add_kernel(&x, d, &idx, &s)?),
            (Data::I64(x), Data::I64(s)) => Data::I64(scatter_add_kernel(&x, d, &idx, &s)?),
            (x, s) => return Err(crate::ops::common::dtype_error(op, &x, &s)),
        };
        let index = Tensor::from_data(Data::I64(idx));
        let (want_x, want_src) = (self.requires_grad(), src.requires_grad());
        Ok(record(y, op, &[self, src], move |g| {
            // dL/dx = g; dL/dsrc = gather(g, d, index), zeros outside the index-shaped corner.
            let dx = want_x.then(|| g.clone());
            let dsrc = if want_src {
                let gathered = g.gather(d as isize, &index)?;
                if gathered.shape() == ss {
                    Some(gathered)
                } else {
                    Some(Tensor::from_data(match gathered.data() {
                        #[cfg(feature = "cuda")]
                        Data::Cuda(a) => Data::Cuda(cuda::place_in_corner(&a, &ss)?),
                        Data::F32(a) => Data::F32(place_in_corner(&a, &ss)),
                        Data::F64(a) => Data::F64(place_in_corner(&a, &ss)),
                        other => {
                            return Err(Error::invalid(
                                "scatter_add_backward",
                                format!("gradient of dtype {}", other.dtype()),
                            ));
                        }
                    }))
                }
            } else {
                None
            };
            Ok(vec![dx, dsrc])
        }))
    }

    /// One-hot encoding (`F.one_hot`, with the dtype chosen): an i64 tensor of any shape becomes
    /// shape `+ [num_classes]`, 1 at each index and 0 elsewhere. Every index must lie in
    /// `0..num_classes`. No gradient (the input is an integer tensor).
    pub fn one_hot(index: &Tensor, num_classes: usize, dtype: DType) -> Result<Tensor> {
        let op = "one_hot";
        let idx = index_values(op, index)?;
        let is = idx.shape().to_vec();
        check_range(op, idx.iter(), num_classes, &is, is.len(), &is).map_err(|e| match e {
            Error::Index { op, index, size, shape, .. } => Error::Index {
                op,
                index,
                size,
                shape,
                msg: format!("class index outside 0..num_classes = {num_classes}"),
            },
            other => other,
        })?;
        let mut shape = is.clone();
        shape.push(num_classes);
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = index.data() {
            let ids: Vec<i64> = idx.iter().copied().collect();
            return Ok(Tensor::from_data(Data::Cuda(cuda::one_hot(&c, &ids, num_classes, dtype, &shape)?)));
        }
        fn build<T: Element>(idx: &ArcArray<i64, IxDyn>, c: usize, shape: &[usize]) -> Result<Data> {
            let mut v = vec![T::from_f64(0.0); idx.len() * c];
            for (r, &i) in idx.iter().enumerate() {
                v[r * c + i as usize] = T::from_f64(1.0); // ok: checked 0 <= i < c
            }
            let a = ArrayD::from_shape_vec(IxDyn(shape), v)
                .map_err(|e| Error::shape("one_hot", shape, e.to_string()))?;
            Ok(T::wrap(a.into_shared()))
        }
        let y = match dtype {
            DType::F32 => build::<f32>(&idx, num_classes, &shape)?,
            DType::F64 => build::<f64>(&idx, num_classes, &shape)?,
            DType::I64 => build::<i64>(&idx, num_classes, &shape)?,
            DType::Bool => build::<bool>(&idx, num_classes, &shape)?,
        };
        Ok(Tensor::from_data(y))
    }
}
