//! Statistics of a tensor: variance and standard deviation over dimensions, maxima and minima
//! (with their positions) along one dimension or over everything.
//!
//! ## var, std
//! Over the reduced dimensions $D$, with $N = \prod_{d \in D} n_d$ elements per output and a
//! correction $c$ (1: the unbiased estimate, PyTorch's default; 0: the population variance):
//! $$\bar x = \frac1N \sum_{i \in D} x_i, \qquad
//! \operatorname{var}(x) = \frac{1}{\max(0,\, N - c)} \sum_{i \in D} (x_i - \bar x)^2, \qquad
//! \operatorname{std}(x) = \sqrt{\operatorname{var}(x)}.$$
//! Gradients (saved: $x$ and $\bar x$), with $g$ broadcast back over $D$:
//! $$\frac{\partial L}{\partial x_i} = g \cdot \frac{2\,(x_i - \bar x)}{N - c} \quad (\text{var}), \qquad
//! \frac{\partial L}{\partial x_i} = \frac{g}{2\,\operatorname{std}} \cdot \frac{2\,(x_i - \bar x)}{N - c}
//! \quad (\text{std, by the chain rule through } \sqrt{\cdot}).$$
//! As in PyTorch, $N - c \le 0$ is not an error: it divides by zero, so the variance of a single
//! element with $c = 1$ is NaN (0/0), and a spread sample with $N \le c$ gives $+\infty$. The mean
//! is computed first (two passes), in a fixed order, so the result is the same on any thread count.
//!
//! ## max_dim, min_dim, argmax, argmin
//! Along dimension $d$ (lanes, see `sort.rs`):
//! $$y = \max_j x_{\dots j \dots}, \qquad p = \text{the first } j \text{ that attains it}, \qquad
//! \frac{\partial L}{\partial x_{\dots j \dots}} = g \cdot \lbrack j = p\rbrack$$
//! (saved: $p$). A NaN in a lane is that lane's maximum *and* minimum (NaN propagates), and $p$ is
//! the position of the first NaN, as in PyTorch. `argmax`/`argmin` return $p$ alone (i64); with no
//! dimension they index the flattened tensor.
//!
//! ## max, min (every element)
//! $$y = \max_i x_i, \qquad \frac{\partial L}{\partial x_i} = \frac{g\,\lbrack x_i = y\rbrack}{\#\{k : x_k = y\}}$$
//! (saved: $x$ and $y$): the gradient is split evenly among tied maxima, as PyTorch's full
//! reduction does (when $y$ is NaN, among the NaNs).

use ndarray::{ArcArray, IxDyn, Zip};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::cpu::PARALLEL_THRESHOLD;
#[cfg(feature = "cuda")]
use crate::device::cuda::{CudaData, stats as cuda};
use crate::device::shape::{normalize_dim, normalize_dims, reduced_shape};
use crate::error::{Error, Result};
use crate::ops::common::map_array;
#[cfg(feature = "cuda")]
use crate::ops::device_data::{cuda_input, grad_on};
use crate::ops::reduce::sum_dims;
use crate::ops::sort::{
    Lanes, Picked, data_from, is_nan, map_lanes, scatter_grad, select_kernel, with_numeric,
};
use crate::tensor::{Data, Element, Float, Tensor};

/// Elements per parallel chunk of a full reduction (fixed, so the split never depends on threads).
const CHUNK: usize = 1 << 14;

// ------------------------------------------------------------------------------- var, std

/// Forward of var: the variance over `dims` and the mean kept in `x`'s rank (saved for backward).
fn var_kernel<T: Float>(
    x: &ArcArray<T, IxDyn>,
    dims: &[usize],
    n: usize,
    dof: f64,
    keepdim: bool,
) -> (Data, Data) {
    let n_t = <T as Element>::from_f64(n as f64);
    let dof_t = <T as Element>::from_f64(dof);
    let mean = sum_dims(x, dims, true).mapv(|s| s / n_t).into_shared();
    // ok: `mean` has x's rank with size 1 on the reduced dimensions, so it broadcasts to x
    let m = mean.broadcast(x.raw_dim()).expect("mean broadcasts to x");
    let sq = if x.len() >= PARALLEL_THRESHOLD {
        Zip::from(x).and(&m).par_map_collect(|&v, &mu| (v - mu) * (v - mu))
    } else {
        Zip::from(x).and(&m).map_collect(|&v, &mu| (v - mu) * (v - mu))
    };
    let var = sum_dims(&sq.into_shared(), dims, keepdim).mapv(|s| s / dof_t).into_shared();
    (T::wrap(var), T::wrap(mean))
}

// ------------------------------------------------------------------------ max, min, argmax

/// Which extreme a reduction looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Extreme {
    Max,
    Min,
}

impl Extreme {
    /// `a` beats `b`: larger (smaller) than it, or NaN against a number (NaN propagates).
    fn beats<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        let better = match self {
            Extreme::Max => a > b,
            Extreme::Min => a < b,
        };
        better || (is_nan(a) && !is_nan(b))
    }
}

/// The first position of the best element of a non-empty lane (stops at the first NaN).
fn arg_best<T: PartialOrd>(lane: &[T], e: Extreme) -> usize {
    let mut best = 0;
    for j in 1..lane.len() {
        if is_nan(&lane[best]) {
            break;
        }
        if e.beats(&lane[j], &lane[best]) {
            best = j;
        }
    }
    best
}

/// [`arg_best`] over all of a large slice: fixed chunks in parallel, then the chunk winners in
/// order (strict `beats`, so the first occurrence wins, exactly as sequentially).
fn arg_best_flat<T: PartialOrd + Sync>(x: &[T], e: Extreme) -> usize {
    if x.len() <= CHUNK {
        return arg_best(x, e);
    }
    let winners: Vec<usize> =
        x.par_chunks(CHUNK).enumerate().map(|(c, s)| c * CHUNK + arg_best(s, e)).collect();
    let mut best = winners[0];
    for &w in &winners[1..] {
        if is_nan(&x[best]) {
            break;
        }
        if e.beats(&x[w], &x[best]) {
            best = w;
        }
    }
    best
}

/// What the backward of a full max/min needs, where the forward ran: the input and the output.
enum Spread {
    /// The input (detached) and the output's value, on the CPU.
    Host(Tensor, f64),
    /// The input's and the (0-d) output's device data.
    #[cfg(feature = "cuda")]
    Cuda(CudaData, CudaData),
}

/// The gradient of a full max/min: `g` shared evenly among the elements equal to `y`.
fn spread_kernel<T: Float>(x: &ArcArray<T, IxDyn>, y: T, g: T) -> ArcArray<T, IxDyn> {
    let hit = |v: T| if y.is_nan() { v.is_nan() } else { v == y };
    let count = x.iter().filter(|&&v| hit(v)).count();
    let share = g / <T as Element>::from_f64(count as f64);
    map_array(x, |v| if hit(v) { share } else { T::zero() })
}

impl Tensor {
    /// Variance over `dims` (`None`: every dimension) with `correction` (1 = unbiased, PyTorch's
    /// default). $N - c \le 0$ gives NaN or $\infty$, as in PyTorch. f32 and f64.
    pub fn var_dims(&self, dims: Option<&[isize]>, correction: usize, keepdim: bool) -> Result<Tensor> {
        let shape = self.shape();
        let ds = normalize_dims("var", dims, &shape)?;
        let n: usize = ds.iter().map(|&d| shape[d]).product();
        let dof = n.saturating_sub(correction) as f64;
        let (y, mean) = match self.data() {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                let (y, mean) = cuda::var(&c, &ds, dof, keepdim).map_err(|e| rename(e, "var"))?;
                (Data::Cuda(y), Data::Cuda(mean))
            }
            Data::F32(x) => var_kernel(&x, &ds, n, dof, keepdim),
            Data::F64(x) => var_kernel(&x, &ds, n, dof, keepdim),
            other => {
                return Err(Error::UnsupportedDType {
                    op: "var",
                    dtype: other.dtype(),
                    shape: shape.clone(),
                    expected: "f32 or f64",
                });
            }
        };
        let mean = Tensor::from_data(mean);
        let x = self.detach();
        let keep_shape = reduced_shape(&shape, &ds, true);
        Ok(record(y, "var", &[self], move |g| {
            // dL/dx = g · 2 (x − x̄) / (N − c)
            #[cfg(feature = "cuda")]
            if let Data::Cuda(xc) = x.data() {
                let mean = cuda_input("var_backward", &mean, Some(xc.gpu()))?;
                let g = grad_on(g, xc.gpu())?;
                let dx = cuda::var_backward(&xc, &mean, &g, &keep_shape, 2.0 / dof)?;
                return Ok(vec![Some(Tensor::from_data(Data::Cuda(dx)))]);
            }
            let g = g.reshape_usize(&keep_shape)?;
            Ok(vec![Some(x.sub(&mean)?.mul(&g)?.mul_scalar(2.0 / dof)?)])
        }))
    }

    /// Variance of every element (correction 1), a 0-d tensor.
    pub fn var(&self) -> Result<Tensor> {
        self.var_dims(None, 1, false)
    }

    /// Standard deviation $\sqrt{\operatorname{var}}$ over `dims`; composite of
    /// [`Tensor::var_dims`] and [`Tensor::sqrt`], whose gradients give
    /// $g\,(x - \bar x) / ((N - c)\,\operatorname{std})$.
    pub fn std_dims(&self, dims: Option<&[isize]>, correction: usize, keepdim: bool) -> Result<Tensor> {
        self.var_dims(dims, correction, keepdim).map_err(|e| rename(e, "std"))?.sqrt()
    }

    /// Standard deviation of every element (correction 1), a 0-d tensor.
    pub fn std(&self) -> Result<Tensor> {
        self.std_dims(None, 1, false)
    }

    /// The maximum along `dim` and its i64 index (first among ties; NaN is the maximum). The
    /// gradient goes to the selected element. f32, f64 and i64.
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.best_dim("max_dim", dim, keepdim, Extreme::Max)
    }

    /// The minimum along `dim` and its i64 index (first among ties; NaN is the minimum too).
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.best_dim("min_dim", dim, keepdim, Extreme::Min)
    }

    /// The largest element, a 0-d tensor (NaN if any element is NaN). The gradient is split
    /// evenly among the elements equal to it.
    pub fn max(&self) -> Result<Tensor> {
        self.best_all("max", Extreme::Max)
    }

    /// The smallest element, a 0-d tensor; see [`Tensor::max`].
    pub fn min(&self) -> Result<Tensor> {
        self.best_all("min", Extreme::Min)
    }

    /// The i64 index of the maximum along `dim` (first among ties; first NaN); `None` indexes the
    /// flattened tensor. f32, f64 and i64.
    pub fn argmax(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        self.arg_best_dim("argmax", dim, keepdim, Extreme::Max)
    }

    /// The i64 index of the minimum along `dim`; see [`Tensor::argmax`].
    pub fn argmin(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        self.arg_best_dim("argmin", dim, keepdim, Extreme::Min)
    }

    fn best_dim(&self, op: &'static str, dim: isize, keepdim: bool, e: Extreme) -> Result<(Tensor, Tensor)> {
        let shape = self.shape();
        let d = normalize_dim(op, dim, &shape)?;
        let lanes = Lanes::new(&shape, d);
        if lanes.n == 0 {
            return Err(Error::shape(op, &shape, format!("cannot reduce dimension {d} of size 0")));
        }
        let (values, picked) = match self.data() {
            #[cfg(feature = "cuda")]
            Data::Cuda(x) => {
                let (y, p) = cuda::best(op, &x, &[d], keepdim, e == Extreme::Max)?;
                (Data::Cuda(y), Picked::Cuda(p))
            }
            data => {
                let out_shape = reduced_shape(&shape, &[d], keepdim);
                let (values, indices) =
                    with_numeric!(&data, op, |a| select_kernel(op, a, d, 1, &out_shape, |l| {
                        vec![arg_best(l, e)]
                    })?);
                (values, Picked::Host(indices))
            }
        };
        let indices = picked.tensor();
        let values = record(values, op, &[self], move |g| {
            // dL/dx[o, j, i] = g[o, i] [j = p[o, i]]
            let gx = match &picked {
                Picked::Host(saved) => scatter_grad(op, g, saved, lanes, &shape)?,
                #[cfg(feature = "cuda")]
                Picked::Cuda(p) => {
                    let g = grad_on(g, p.gpu())?;
                    Tensor::from_data(Data::Cuda(cuda::best_dim_backward(op, p, &g, &shape, d)?))
                }
            };
            Ok(vec![Some(gx)])
        });
        Ok((values, indices))
    }

    fn best_all(&self, op: &'static str, e: Extreme) -> Result<Tensor> {
        let shape = self.shape();
        if self.numel() == 0 {
            return Err(Error::shape(op, &shape, "cannot reduce an empty tensor"));
        }
        let (y, saved) = match self.data() {
            #[cfg(feature = "cuda")]
            Data::Cuda(x) => {
                let y = cuda::best_all(op, &x, e == Extreme::Max)?;
                (Data::Cuda(y.clone()), Spread::Cuda(x, y))
            }
            data => {
                let y: Data = with_numeric!(&data, op, |a| {
                    let x = a.as_standard_layout();
                    // ok: standard layout is contiguous
                    let s = x.as_slice().expect("standard layout");
                    let p = arg_best_flat(s, e);
                    data_from(op, vec![s[p]], &[])?
                });
                let y_value = Tensor::from_data(y.clone()).item()?;
                (y, Spread::Host(self.detach(), y_value))
            }
        };
        Ok(record(y, op, &[self], move |g| {
            // dL/dx_i = g [x_i = y] / #{k : x_k = y}
            let gx = match &saved {
                Spread::Host(x, y_value) => {
                    let (g, y_value) = (g.item()?, *y_value);
                    match x.data() {
                        Data::F32(a) => Data::F32(spread_kernel(&a, y_value as f32, g as f32)),
                        Data::F64(a) => Data::F64(spread_kernel(&a, y_value, g)),
                        other => {
                            return Err(Error::UnsupportedDType {
                                op,
                                dtype: other.dtype(),
                                shape: other.shape().to_vec(),
                                expected: "f32 or f64",
                            });
                        }
                    }
                }
                #[cfg(feature = "cuda")]
                Spread::Cuda(x, y) => {
                    let g = grad_on(g, x.gpu())?;
                    Data::Cuda(cuda::spread(op, x, y, &g)?)
                }
            };
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }

    fn arg_best_dim(
        &self,
        op: &'static str,
        dim: Option<isize>,
        keepdim: bool,
        e: Extreme,
    ) -> Result<Tensor> {
        let shape = self.shape();
        let Some(dim) = dim else {
            if self.numel() == 0 {
                return Err(Error::shape(op, &shape, "cannot reduce an empty tensor"));
            }
            #[cfg(feature = "cuda")]
            if let Data::Cuda(x) = self.data() {
                let p = cuda::arg_best(op, &x, None, keepdim, e == Extreme::Max)?;
                return Ok(Tensor::from_data(Data::Cuda(p)));
            }
            let data = self.data();
            let p = with_numeric!(&data, op, |a| {
                let x = a.as_standard_layout();
                // ok: standard layout is contiguous
                let s = x.as_slice().expect("standard layout");
                arg_best_flat(s, e)
            });
            let out_shape = if keepdim { vec![1; shape.len()] } else { vec![] };
            return Ok(Tensor::from_data(data_from(op, vec![p as i64], &out_shape)?));
        };
        let d = normalize_dim(op, dim, &shape)?;
        let lanes = Lanes::new(&shape, d);
        if lanes.n == 0 {
            return Err(Error::shape(op, &shape, format!("cannot reduce dimension {d} of size 0")));
        }
        #[cfg(feature = "cuda")]
        if let Data::Cuda(x) = self.data() {
            let p = cuda::arg_best(op, &x, Some(d), keepdim, e == Extreme::Max)?;
            return Ok(Tensor::from_data(Data::Cuda(p)));
        }
        let out_shape = reduced_shape(&shape, &[d], keepdim);
        let data = self.data();
        let p: Vec<i64> = with_numeric!(&data, op, |a| map_lanes(a, d, 1, |l, out: &mut [i64]| {
            out[0] = arg_best(l, e) as i64;
        }));
        Ok(Tensor::from_data(data_from(op, p, &out_shape)?))
    }
}

/// Reports an error of a composite op under the composite's own name.
fn rename(e: Error, op: &'static str) -> Error {
    match e {
        Error::Dim { dim, shape, .. } => Error::Dim { op, dim, shape },
        Error::Shape { shape, msg, .. } => Error::Shape { op, shape, msg },
        Error::UnsupportedDType { dtype, shape, expected, .. } => {
            Error::UnsupportedDType { op, dtype, shape, expected }
        }
        other => other,
    }
}
