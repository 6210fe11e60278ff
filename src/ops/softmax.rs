//! Softmax, log-softmax and log-sum-exp along one dimension, as fused lane kernels.
//!
//! A *lane* is the 1-D slice $x_{1..n}$ along dimension `dim` with every other index fixed. Every
//! formula subtracts the lane maximum $m = \max_k x_k$ first; this is an identity
//! ($e^{x_i - m} / \sum_k e^{x_k - m} = e^{x_i} / \sum_k e^{x_k}$) that keeps every exponent
//! $\le 0$, so logits of $\pm 1000$ give exact, finite results.
//!
//! | op | forward (per lane) | $\partial L/\partial x$ (per lane, $g$ = upstream gradient) | saved |
//! |---|---|---|---|
//! | softmax | $y_i = \dfrac{e^{x_i - m}}{\sum_k e^{x_k - m}}$ | $y_i \big(g_i - \sum_k g_k y_k\big)$ | $y$ |
//! | log_softmax | $y_i = x_i - m - \ln \sum_k e^{x_k - m}$ | $g_i - e^{y_i} \sum_k g_k$ | $y$ |
//! | logsumexp | $\ell = m + \ln \sum_k e^{x_k - m}$ | $g\, e^{x_i - \ell}$ (softmax times $g$) | $x$, $\ell$ |
//!
//! Shapes: softmax and log_softmax keep the shape of $x$; logsumexp removes `dim` (or keeps it
//! with size 1 with `keepdim`).
//!
//! Kernels: each lane is computed sequentially (max, then sum, then write), so results are
//! bit-identical whatever the thread count; lanes run in parallel with rayon when the tensor has
//! at least [`PARALLEL_THRESHOLD`] elements. Lanes along the last dimension are read in place;
//! lanes along another dimension are gathered into a buffer, computed, and written back.
//! On a GPU (`kernels/softmax.cu`) each lane is one block of 256 threads with fixed-tree max and
//! sum; logsumexp's gradient is the same composite of (device) elementwise ops.
//!
//! The literal f64 transcriptions are [`crate::reference::softmax`],
//! [`crate::reference::log_softmax`] and [`crate::reference::logsumexp`].

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::cpu::PARALLEL_THRESHOLD;
use crate::device::shape::{normalize_dim, reduced_shape};
use crate::error::{Error, Result};
use crate::tensor::{Data, Float, Tensor};

use crate::device::cpu::lanes::Lanes;

/// Applies `f` to every lane of `K` row-major inputs of one shape; `f` writes `m` values per lane.
/// The result is row-major with shape `(outer, m, inner)`.
pub(crate) fn map_lanes<T, const K: usize, F>(l: Lanes, xs: [&[T]; K], m: usize, f: F) -> Vec<T>
where
    T: Float,
    F: Fn([&[T]; K], &mut [T]) + Sync,
{
    let count = l.outer * l.inner;
    let mut out = vec![T::zero(); count * m];
    if out.is_empty() {
        return out;
    }
    let parallel = l.outer * l.n * l.inner >= PARALLEL_THRESHOLD;
    if l.inner == 1 {
        // Lanes are contiguous: lane j is xs[..][j n .. (j+1) n].
        let run = |(j, y): (usize, &mut [T])| f(xs.map(|x| &x[j * l.n..(j + 1) * l.n]), y);
        if parallel {
            out.par_chunks_mut(m).enumerate().for_each(run);
        } else {
            out.chunks_mut(m).enumerate().for_each(run);
        }
        return out;
    }
    // Strided lanes: gather lane j into buffers, compute it into a lane-major array (count, m),
    // then write that back in the (outer, m, inner) layout.
    let gather = |bufs: &mut [Vec<T>; K], (j, y): (usize, &mut [T])| {
        let (o, i) = (j / l.inner, j % l.inner);
        let base = o * l.n * l.inner + i;
        for (b, x) in bufs.iter_mut().zip(xs) {
            b.clear();
            b.extend((0..l.n).map(|k| x[base + k * l.inner]));
        }
        f(std::array::from_fn(|q| bufs[q].as_slice()), y);
    };
    let new_bufs = || -> [Vec<T>; K] { std::array::from_fn(|_| Vec::with_capacity(l.n)) };
    let mut lane_major = vec![T::zero(); count * m];
    if parallel {
        lane_major.par_chunks_mut(m).enumerate().for_each_init(new_bufs, gather);
    } else {
        let mut bufs = new_bufs();
        lane_major.chunks_mut(m).enumerate().for_each(|item| gather(&mut bufs, item));
    }
    for o in 0..l.outer {
        for i in 0..l.inner {
            let lane = &lane_major[(o * l.inner + i) * m..(o * l.inner + i + 1) * m];
            for (k, &v) in lane.iter().enumerate() {
                out[(o * m + k) * l.inner + i] = v;
            }
        }
    }
    out
}

/// [`map_lanes`] on type-erased inputs (all f32 or all f64), giving `Data` of `out_shape`.
pub(crate) fn lanes_data<const K: usize>(
    op: &'static str,
    xs: [&Data; K],
    l: Lanes,
    m: usize,
    out_shape: &[usize],
    f32k: fn([&[f32]; K], &mut [f32]),
    f64k: fn([&[f64]; K], &mut [f64]),
) -> Result<Data> {
    fn typed<T: Float, const K: usize>(
        op: &'static str,
        xs: [&Data; K],
        l: Lanes,
        m: usize,
        out_shape: &[usize],
        f: fn([&[T]; K], &mut [T]),
    ) -> Result<Data> {
        let arrays = xs.iter().map(|d| d.contiguous().typed::<T>(op).cloned()).collect::<Result<Vec<_>>>()?;
        let mut slices: Vec<&[T]> = Vec::with_capacity(K);
        for a in &arrays {
            slices.push(a.as_slice().ok_or_else(|| Error::invalid(op, "internal: array not contiguous"))?);
        }
        let slices: [&[T]; K] =
            slices.try_into().map_err(|_| Error::invalid(op, "internal: wrong number of inputs"))?;
        let y = map_lanes(l, slices, m, f);
        let a = ArrayD::from_shape_vec(IxDyn(out_shape), y)
            .map_err(|e| Error::shape(op, out_shape, e.to_string()))?;
        Ok(T::wrap(a.into_shared()))
    }
    match &xs[0] {
        Data::F32(_) => typed::<f32, K>(op, xs, l, m, out_shape, f32k),
        Data::F64(_) => typed::<f64, K>(op, xs, l, m, out_shape, f64k),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other.dtype(),
            shape: other.shape().to_vec(),
            expected: "f32 or f64",
        }),
    }
}

/// $m = \max_k x_k$ ($-\infty$ for an empty lane; NaNs skipped, they reach the output through
/// the sum).
pub(crate) fn lane_max<T: Float>(x: &[T]) -> T {
    T::max_slice(x)
}

/// $\sum_k e^{x_k - m}$ without storing the terms (the backend's `sum_exp_shifted`: blocks of 256
/// shifted values exponentiated in a stack buffer and summed, the block sums added in order).
fn sum_exp_shifted<T: Float>(x: &[T], m: T) -> T {
    T::sum_exp_shifted(x, m)
}

/// $\ell = m + \ln \sum_k e^{x_k - m}$; when $m = \pm\infty$ the shift is skipped, so a lane of
/// $-\infty$ gives $-\infty$ and a lane containing $+\infty$ gives $+\infty$ (as PyTorch).
pub(crate) fn lane_logsumexp<T: Float>(x: &[T]) -> T {
    let m = lane_max(x);
    let shift = if m.is_finite() { m } else { T::zero() };
    shift + sum_exp_shifted(x, shift).ln()
}

/// $y_i = e^{x_i - m} / \sum_k e^{x_k - m}$: the backend's `softmax_row` (the max; the shifted
/// exponentials, stored in $y$ and summed; the division): one $e^x$ per element, where an online
/// softmax (max and sum in one pass, rescaling the sum at each new max) would read $x$ once less
/// but compute $e^x$ twice.
fn softmax_lane<T: Float>([x]: [&[T]; 1], y: &mut [T]) {
    T::softmax_row(x, y)
}

/// $\sum_k a_k b_k$ over 8 interleaved partial sums (as `sum_slice`).
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut s = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (ca, cb) in ca.zip(cb) {
        for ((s_j, &a_j), &b_j) in s.iter_mut().zip(ca).zip(cb) {
            *s_j += a_j * b_j;
        }
    }
    let mut out = T::zero();
    for &v in &s {
        out += v;
    }
    for (&a_k, &b_k) in ta.iter().zip(tb) {
        out += a_k * b_k;
    }
    out
}

/// $dx_i = y_i (g_i - \sum_k g_k y_k)$
fn softmax_backward_lane<T: Float>([y, g]: [&[T]; 2], dx: &mut [T]) {
    let gy = dot(g, y);
    for ((dx_i, &y_i), &g_i) in dx.iter_mut().zip(y).zip(g) {
        *dx_i = y_i * (g_i - gy);
    }
}

/// $y_i = x_i - m - \ln \sum_k e^{x_k - m}$
fn log_softmax_lane<T: Float>([x]: [&[T]; 1], y: &mut [T]) {
    let m = lane_max(x);
    let log_s = sum_exp_shifted(x, m).ln();
    for (y_i, &x_i) in y.iter_mut().zip(x) {
        *y_i = x_i - m - log_s;
    }
}

/// $dx_i = g_i - e^{y_i} \sum_k g_k$
fn log_softmax_backward_lane<T: Float>([y, g]: [&[T]; 2], dx: &mut [T]) {
    let sum_g = T::sum_slice(g);
    dx.copy_from_slice(y);
    T::exp_slice(dx);
    for (dx_i, &g_i) in dx.iter_mut().zip(g) {
        *dx_i = g_i - *dx_i * sum_g;
    }
}

/// $\ell = m + \ln \sum_k e^{x_k - m}$, one value per lane.
fn logsumexp_lane<T: Float>([x]: [&[T]; 1], out: &mut [T]) {
    out[0] = lane_logsumexp(x);
}

/// What the backward of `softmax` / `log_softmax` needs, per device: the output $y$ and the lanes.
enum SoftmaxSaved {
    Cpu {
        y: Data,
        l: Lanes,
        shape: Vec<usize>,
    },
    #[cfg(feature = "cuda")]
    Cuda {
        y: crate::device::cuda::CudaData,
        dim: usize,
    },
}

impl SoftmaxSaved {
    /// The gradient of the input given the upstream gradient `g` (of `log_softmax` when `log`).
    fn backward(&self, g: &Tensor, log: bool) -> Result<Data> {
        match self {
            SoftmaxSaved::Cpu { y, l, shape } if log => lanes_data(
                "log_softmax_backward",
                [y, &g.data()],
                *l,
                l.n,
                shape,
                log_softmax_backward_lane::<f32>,
                log_softmax_backward_lane::<f64>,
            ),
            SoftmaxSaved::Cpu { y, l, shape } => lanes_data(
                "softmax_backward",
                [y, &g.data()],
                *l,
                l.n,
                shape,
                softmax_backward_lane::<f32>,
                softmax_backward_lane::<f64>,
            ),
            #[cfg(feature = "cuda")]
            SoftmaxSaved::Cuda { y, dim } => {
                let g = match g.data() {
                    Data::Cuda(g) => g,
                    other => other.to_cuda(y.gpu())?,
                };
                Ok(Data::Cuda(crate::device::cuda::softmax::softmax_backward(&g, y, *dim, log)?))
            }
        }
    }
}

/// `softmax` (or `log_softmax` when `log`) along `dim`, forward on the input's device (on a GPU
/// `kernels/softmax.cu`, one block per lane) and one tape record for the backward.
fn softmax_op(x: &Tensor, dim: isize, log: bool) -> Result<Tensor> {
    let op = if log { "log_softmax" } else { "softmax" };
    let shape = x.shape();
    let d = normalize_dim(op, dim, &shape)?;
    let l = Lanes::new(&shape, d);
    let xd = x.data();
    let (y, saved) = match &xd {
        #[cfg(feature = "cuda")]
        Data::Cuda(c) => {
            let y = crate::device::cuda::softmax::softmax(c, d, log)?;
            (Data::Cuda(y.clone()), SoftmaxSaved::Cuda { y, dim: d })
        }
        _ => {
            let y = if log {
                lanes_data(op, [&xd], l, l.n, &shape, log_softmax_lane::<f32>, log_softmax_lane::<f64>)?
            } else {
                lanes_data(op, [&xd], l, l.n, &shape, softmax_lane::<f32>, softmax_lane::<f64>)?
            };
            (y.clone(), SoftmaxSaved::Cpu { y, l, shape })
        }
    };
    Ok(record(y, op, &[x], move |g| Ok(vec![Some(Tensor::from_data(saved.backward(g, log)?))])))
}

impl Tensor {
    /// `F.softmax(x, dim)`: $y_i = e^{x_i - m} / \sum_k e^{x_k - m}$ along `dim` (see the module docs).
    pub fn softmax(&self, dim: isize) -> Result<Tensor> {
        softmax_op(self, dim, false)
    }

    /// `F.log_softmax(x, dim)`: $y_i = x_i - m - \ln \sum_k e^{x_k - m}$ along `dim`.
    pub fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        softmax_op(self, dim, true)
    }

    /// `torch.logsumexp(x, dim, keepdim)`: $\ell = m + \ln \sum_k e^{x_k - m}$ along `dim`.
    pub fn logsumexp(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        let shape = self.shape();
        let d = normalize_dim("logsumexp", dim, &shape)?;
        let l = Lanes::new(&shape, d);
        let keep_shape = reduced_shape(&shape, &[d], true);
        let out_shape = reduced_shape(&shape, &[d], keepdim);
        let xd = self.data();
        let lse = match &xd {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                Data::Cuda(crate::device::cuda::softmax::logsumexp(c, (l.outer, l.n, l.inner), &keep_shape)?)
            }
            _ => lanes_data(
                "logsumexp",
                [&xd],
                l,
                1,
                &keep_shape,
                logsumexp_lane::<f32>,
                logsumexp_lane::<f64>,
            )?,
        };
        let lse_keep = Tensor::from_data(lse.clone());
        let out = Tensor::from_data(lse).reshape_usize(&out_shape)?.data();
        let x = self.detach();
        Ok(record(out, "logsumexp", &[self], move |g| {
            // dx_i = g · e^{x_i − ℓ}, with g and ℓ broadcast along `dim`.
            let p = x.sub(&lse_keep)?.exp()?;
            Ok(vec![Some(p.mul(&g.reshape_usize(&keep_shape)?)?)])
        }))
    }
}
