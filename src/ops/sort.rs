//! Sorting along a dimension (`sort`, `topk`), and the *lanes* that every op working along one
//! dimension shares (`max_dim`, `min_dim`, `argmax`, `argmin` in `stats.rs`).
//!
//! ## Lanes
//! For $x$ of shape $(n_0, \dots, n_{r-1})$ and a dimension $d$, a lane is the 1-D slice
//! $x_{i_0 \dots i_{d-1},\, :\,,\, i_{d+1} \dots i_{r-1}}$ of length $n = n_d$. Viewing $x$ as
//! $(\text{outer}, n, \text{inner})$ with $\text{outer} = \prod_{k<d} n_k$ and
//! $\text{inner} = \prod_{k>d} n_k$, there are $\text{outer}\cdot\text{inner}$ lanes. Each lane is
//! processed sequentially by one thread; lanes run in parallel (rayon) for large tensors, so the
//! result never depends on the thread count.
//!
//! ## sort
//! $$(y, p) = \operatorname{sort}_d(x):\qquad y_{\dots j \dots} = x_{\dots p_{\dots j \dots} \dots},$$
//! where along every lane $p$ is the **stable** permutation that puts $y$ in ascending order
//! (descending with `descending`); equal values keep their input order, and NaN sorts as the
//! largest value (last ascending, first descending), as in PyTorch. Shapes: $y$, $p$ like $x$;
//! $p$ is i64.
//!
//! Gradient (saved: $p$): the values only move, so the gradient moves back,
//! $$\frac{\partial L}{\partial x_{\dots p_{\dots j \dots} \dots}} = g_{\dots j \dots}.$$
//!
//! ## topk
//! The first $k$ entries of the sort (descending for `largest`, ascending otherwise): shapes as $x$
//! with $n_d$ replaced by $k$. Ties go to the earlier index. With `sorted = false` the $k$ chosen
//! elements come in their input order (PyTorch leaves that order unspecified). Gradient: the same
//! scatter through $p$, and zero for the $n - k$ elements not chosen.
//!
//! ## On a GPU
//! With the `cuda` feature a device tensor is sorted by `kernels/sort.cu` (`cuda::sort`): each
//! element's rank in the stable order is counted over its lane ($O(n^2)$ work per lane), the same
//! order, values and indices as here; the values' gradient goes back on the device. Both devices
//! record the values here (`record_picked`), the backward running where the forward ran.

use std::cmp::Ordering;

use ndarray::{ArcArray, ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::cpu::PARALLEL_THRESHOLD;
#[cfg(feature = "cuda")]
use crate::device::cuda::CudaData;
use crate::device::shape::normalize_dim;
use crate::error::{Error, Result};
#[cfg(feature = "cuda")]
use crate::ops::device_data::grad_on;
use crate::tensor::{Data, Element, Float, Tensor};

/// Runs `$body` with `$a` bound to the array of an f32, f64 or i64 `Data`; other dtypes are an
/// [`Error::UnsupportedDType`] naming `$op`. `$body` must have the same type for every dtype.
macro_rules! with_numeric {
    ($data:expr, $op:expr, |$a:ident| $body:expr) => {
        match $data {
            $crate::tensor::Data::F32($a) => $body,
            $crate::tensor::Data::F64($a) => $body,
            $crate::tensor::Data::I64($a) => $body,
            other => {
                return Err($crate::error::Error::UnsupportedDType {
                    op: $op,
                    dtype: other.dtype(),
                    shape: other.shape().to_vec(),
                    expected: "f32, f64 or i64",
                });
            }
        }
    };
}
pub(crate) use with_numeric;

/// True for NaN (the only value not comparable with itself); false for every i64.
pub(crate) fn is_nan<T: PartialOrd>(v: &T) -> bool {
    v.partial_cmp(v).is_none()
}

/// A total order on floats in which NaN is the largest value and NaNs equal each other:
/// PyTorch's sort order.
pub(crate) fn cmp_nan_last<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    match a.partial_cmp(b) {
        Some(o) => o,
        None => match (is_nan(a), is_nan(b)) {
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => Ordering::Equal,
        },
    }
}

pub(crate) use crate::device::cpu::lanes::Lanes;

/// Calls `f(lane, out)` for every lane of `a` along `dim`, where `out` receives the `k` results of
/// that lane. Returns all results in row-major order of shape `(outer, k, inner)`, i.e. `a`'s shape
/// with dimension `dim` resized to `k`. Each lane is handled by one call on one thread.
pub(crate) fn map_lanes<T, U, F>(a: &ArcArray<T, IxDyn>, dim: usize, k: usize, f: F) -> Vec<U>
where
    T: Copy + Send + Sync,
    U: Copy + Default + Send + Sync,
    F: Fn(&[T], &mut [U]) + Sync,
{
    let Lanes { outer, n, inner } = Lanes::new(a.shape(), dim);
    if k == 0 || outer * inner == 0 {
        return Vec::new();
    }
    let x = a.as_standard_layout();
    // ok: an array in standard layout is contiguous, so as_slice always succeeds
    let x = x.as_slice().expect("standard layout");
    let mut by_lane = vec![U::default(); outer * inner * k];
    // Lane l = (o, i) starts at o·n·inner + i and steps by inner.
    let work = |buf: &mut Vec<T>, (l, out): (usize, &mut [U])| {
        let start = (l / inner) * n * inner + l % inner;
        if inner == 1 {
            f(&x[start..start + n], out);
        } else {
            buf.clear();
            buf.extend((0..n).map(|j| x[start + j * inner]));
            f(buf, out);
        }
    };
    if a.len() >= PARALLEL_THRESHOLD {
        by_lane.par_chunks_mut(k).enumerate().for_each_init(|| Vec::with_capacity(n), work);
    } else {
        let mut buf = Vec::with_capacity(n);
        by_lane.chunks_mut(k).enumerate().for_each(|lo| work(&mut buf, lo));
    }
    if inner == 1 {
        return by_lane;
    }
    // (outer, inner, k) -> (outer, k, inner)
    let mut out = vec![U::default(); by_lane.len()];
    for o in 0..outer {
        for i in 0..inner {
            for j in 0..k {
                out[(o * k + j) * inner + i] = by_lane[(o * inner + i) * k + j];
            }
        }
    }
    out
}

/// The gradient of a lane selection: `g` (shape `(outer, k, inner)`, any layout) added into zeros
/// of shape `(outer, n, inner)` at the positions `idx` (same layout as `g`) picked along the lane.
pub(crate) fn scatter_lanes<T: Float>(
    g: &ArcArray<T, IxDyn>,
    idx: &ArcArray<i64, IxDyn>,
    lanes: Lanes,
) -> Vec<T> {
    let Lanes { outer, n, inner } = lanes;
    let mut out = vec![T::zero(); outer * n * inner];
    let (g, idx) = (g.as_standard_layout(), idx.as_standard_layout());
    // ok: standard layout is contiguous
    let (g, idx) = (g.as_slice().expect("standard layout"), idx.as_slice().expect("standard layout"));
    let block = n * inner;
    if block == 0 || outer == 0 {
        return out;
    }
    let k = g.len() / (outer * inner);
    let add = |(o, dst): (usize, &mut [T])| {
        for j in 0..k {
            for i in 0..inner {
                let src = (o * k + j) * inner + i;
                // ok: the indices come from this op's own forward, so 0 <= idx < n
                dst[idx[src] as usize * inner + i] += g[src];
            }
        }
    };
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(block).enumerate().for_each(add);
    } else {
        out.chunks_mut(block).enumerate().for_each(add);
    }
    out
}

/// A `Data` of shape `shape` from row-major values.
pub(crate) fn data_from<T: Element>(op: &'static str, values: Vec<T>, shape: &[usize]) -> Result<Data> {
    let a =
        ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| Error::shape(op, shape, e.to_string()))?;
    Ok(T::wrap(a.into_shared()))
}

/// The i64 positions a lane selection picked its values from, where the selection ran: the
/// indices output, and what the values' backward scatters through.
pub(crate) enum Picked {
    /// On the CPU.
    Host(ArcArray<i64, IxDyn>),
    /// On a GPU.
    #[cfg(feature = "cuda")]
    Cuda(CudaData),
}

impl Picked {
    /// The positions as a plain (gradient-free) i64 tensor on their device.
    pub(crate) fn tensor(&self) -> Tensor {
        Tensor::from_data(match self {
            Picked::Host(p) => Data::I64(p.clone()),
            #[cfg(feature = "cuda")]
            Picked::Cuda(p) => Data::Cuda(p.clone()),
        })
    }
}

/// The CPU gradient of a lane selection: `g` added into zeros of `in_shape` at the positions
/// `saved` (see [`scatter_lanes`]).
pub(crate) fn scatter_grad(
    op: &'static str,
    g: &Tensor,
    saved: &ArcArray<i64, IxDyn>,
    lanes: Lanes,
    in_shape: &[usize],
) -> Result<Tensor> {
    let gx = match g.data() {
        Data::F32(g) => data_from(op, scatter_lanes(&g, saved, lanes), in_shape)?,
        Data::F64(g) => data_from(op, scatter_lanes(&g, saved, lanes), in_shape)?,
        other => {
            return Err(Error::UnsupportedDType {
                op,
                dtype: other.dtype(),
                shape: other.shape().to_vec(),
                expected: "f32 or f64 gradient",
            });
        }
    };
    Ok(Tensor::from_data(gx))
}

/// `sort`/`topk`'s values picked along lanes, with the positions they were picked from: the
/// values are recorded with the scatter gradient (on the device of the positions), the indices
/// are a plain (gradient-free) tensor.
fn record_picked(
    op: &'static str,
    x: &Tensor,
    values: Data,
    picked: Picked,
    lanes: Lanes,
) -> (Tensor, Tensor) {
    let in_shape = x.shape();
    let indices = picked.tensor();
    let y = record(values, op, &[x], move |g| {
        let gx = match &picked {
            Picked::Host(saved) => scatter_grad(op, g, saved, lanes, &in_shape)?,
            #[cfg(feature = "cuda")]
            Picked::Cuda(saved) => {
                let g = grad_on(g, saved.gpu())?;
                let dx = crate::device::cuda::sort::sort_backward(op, &g, saved, lanes, &in_shape)?;
                Tensor::from_data(Data::Cuda(dx))
            }
        };
        Ok(vec![Some(gx)])
    });
    (y, indices)
}

/// Sorts one lane's positions stably; descending reverses the comparison (NaN first), not the
/// order of equal elements.
fn sorted_positions<T: PartialOrd>(lane: &[T], descending: bool) -> Vec<usize> {
    let mut p: Vec<usize> = (0..lane.len()).collect();
    if descending {
        p.sort_by(|&i, &j| cmp_nan_last(&lane[j], &lane[i]));
    } else {
        p.sort_by(|&i, &j| cmp_nan_last(&lane[i], &lane[j]));
    }
    p
}

/// The `k` best positions of one lane, best first (largest or smallest, ties to the earlier
/// index), by a partial selection and a sort of the chosen `k`.
fn topk_positions<T: PartialOrd>(lane: &[T], k: usize, largest: bool) -> Vec<usize> {
    let order = |&i: &usize, &j: &usize| {
        let by_value =
            if largest { cmp_nan_last(&lane[j], &lane[i]) } else { cmp_nan_last(&lane[i], &lane[j]) };
        by_value.then(i.cmp(&j))
    };
    let mut p: Vec<usize> = (0..lane.len()).collect();
    if k < p.len() && k > 0 {
        p.select_nth_unstable_by(k - 1, order);
    }
    p.truncate(k);
    p.sort_unstable_by(order); // a total order: the result is unique
    p
}

/// Picks positions along every lane with `pick` (which returns `k` of them) and gathers the values
/// there: the values as `Data` and the positions as i64, both of shape `out_shape`.
pub(crate) fn select_kernel<T: Element>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    dim: usize,
    k: usize,
    out_shape: &[usize],
    pick: impl Fn(&[T]) -> Vec<usize> + Sync,
) -> Result<(Data, ArcArray<i64, IxDyn>)> {
    let pairs: Vec<(T, i64)> = map_lanes(a, dim, k, |lane, out: &mut [(T, i64)]| {
        for (slot, p) in out.iter_mut().zip(pick(lane)) {
            *slot = (lane[p], p as i64);
        }
    });
    let (values, indices): (Vec<T>, Vec<i64>) = pairs.into_iter().unzip();
    let indices = ArrayD::from_shape_vec(IxDyn(out_shape), indices)
        .map_err(|e| Error::shape(op, out_shape, e.to_string()))?
        .into_shared();
    Ok((data_from(op, values, out_shape)?, indices))
}

impl Tensor {
    /// Sorts along `dim` (stable; NaN largest); returns the values and their i64 source indices.
    /// f32, f64 and i64.
    pub fn sort(&self, dim: isize, descending: bool) -> Result<(Tensor, Tensor)> {
        let shape = self.shape();
        let d = normalize_dim("sort", dim, &shape)?;
        let lanes = Lanes::new(&shape, d);
        let (values, picked) = match self.data() {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                let (values, indices) =
                    crate::device::cuda::sort::sort("sort", &c, lanes, lanes.n, descending, true, &shape)?;
                (Data::Cuda(values), Picked::Cuda(indices))
            }
            data => {
                let (values, indices) =
                    with_numeric!(&data, "sort", |a| select_kernel("sort", a, d, lanes.n, &shape, |l| {
                        sorted_positions(l, descending)
                    })?);
                (values, Picked::Host(indices))
            }
        };
        Ok(record_picked("sort", self, values, picked, lanes))
    }

    /// The `k` largest (or smallest) elements along `dim` and their i64 indices; `sorted` orders
    /// them best first, otherwise they keep their input order. `k` above the size of `dim` is an
    /// error. f32, f64 and i64.
    pub fn topk(&self, k: usize, dim: isize, largest: bool, sorted: bool) -> Result<(Tensor, Tensor)> {
        let shape = self.shape();
        let d = normalize_dim("topk", dim, &shape)?;
        let lanes = Lanes::new(&shape, d);
        if k > lanes.n {
            return Err(Error::shape(
                "topk",
                &shape,
                format!("k = {k} is larger than the size {} of dimension {d}", lanes.n),
            ));
        }
        let mut out_shape = shape.clone();
        if !out_shape.is_empty() {
            out_shape[d] = k;
        }
        let (values, picked) = match self.data() {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                let (values, indices) =
                    crate::device::cuda::sort::sort("topk", &c, lanes, k, largest, sorted, &out_shape)?;
                (Data::Cuda(values), Picked::Cuda(indices))
            }
            data => {
                let (values, indices) =
                    with_numeric!(&data, "topk", |a| select_kernel("topk", a, d, k, &out_shape, |l| {
                        let mut p = topk_positions(l, k, largest);
                        if !sorted {
                            p.sort_unstable();
                        }
                        p
                    })?);
                (values, Picked::Host(indices))
            }
        };
        Ok(record_picked("topk", self, values, picked, lanes))
    }
}
