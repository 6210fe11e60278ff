//! 2-D pooling: max, average, and the global (adaptive 1×1) average.
//!
//! ## The document's formula
//! Section 1.3.1.2 defines max-pooling over a $k_H \times k_W$ window, with 1-based indices:
//! $$p_{ij} = \max_{k,l}\; y_{(i-k+1)(j-l+1)}, \qquad 1 \le k \le k_H,\; 1 \le l \le k_W .$$
//! With stride $s$ and padding $p$ the formula's outputs are $i \in \{k_H - p,\; k_H - p + s, \dots\}$
//! (the same convention as `conv2d`, see `reference::conv::max_pool`), and engine output
//! $i' = (i - k_H + p)/s$ covers input rows $i's - p, \dots, i's - p + k_H - 1$ (0-based).
//!
//! ## Max pooling (PyTorch's `F.max_pool2d`)
//! For $x$ of shape $(N, C, H, W)$, with the window $R_{ij} = \{(i s_0 - p_0 + a,\; j s_1 - p_1 + b) :
//! 0 \le a < k_H,\ 0 \le b < k_W\}$ and padding read as $-\infty$:
//! $$y_{n,c,i,j} = \max_{(u,v) \in R_{ij}} x_{n,c,u,v}, \qquad
//! \frac{\partial L}{\partial x_{n,c,u,v}} = \sum_{i,j\,:\; (u,v) = \operatorname{argmax}_{R_{ij}}}
//!   \bar y_{n,c,i,j}.$$
//! The arg-max is the first maximum in row-major window order (PyTorch's rule on ties; a NaN
//! wins and propagates). Overlapping windows (stride < kernel) add their gradients into the same
//! input. Saved for backward: the arg-max of every output (its flat index in the input plane).
//!
//! ## Average pooling (PyTorch's `F.avg_pool2d`)
//! $$y_{n,c,i,j} = \frac{1}{D_{ij}} \sum_{(u,v) \in R_{ij} \cap \text{input}} x_{n,c,u,v}, \qquad
//! \frac{\partial L}{\partial x_{n,c,u,v}} = \sum_{i,j\,:\,(u,v) \in R_{ij}} \frac{\bar y_{n,c,i,j}}{D_{ij}},$$
//! where $D_{ij} = k_H k_W$ when `count_include_pad` (padding counts as zeros) and otherwise the
//! number of window positions inside the input. Nothing but the shapes is saved for backward.
//!
//! ## Global average pooling
//! `adaptive_avg_pool2d_1x1`: $y_{n,c} = \frac{1}{HW}\sum_{u,v} x_{n,c,u,v}$, shape $(N, C, 1, 1)$;
//! a composite of `mean_dims` (whose backward it uses).
//!
//! ## Shapes and rules (PyTorch's)
//! $OH = \lfloor (H + 2p_0 - k_H)/s_0 \rfloor + 1$ (the same for $OW$), padding at most half the
//! kernel, so that every window holds at least one input element.
//!
//! ## Kernel (CPU)
//! One rayon task per $(n, c)$ plane, forward and backward: the planes are independent, and inside
//! a plane the gradient is added in output order, so the results do not depend on the threads.

use ndarray::{ArcArray, ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::error::{Error, Result};
use crate::tensor::{Data, Float, Tensor};

/// Window size, stride and padding (rows, columns) of a 2-D pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dParams {
    pub kernel_size: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

/// The sizes of one pooling, after validation.
#[derive(Debug, Clone, Copy)]
struct PoolGeometry {
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
}

impl PoolGeometry {
    /// The window of output `(i, j)` clipped to the input: rows `r0..r1`, columns `c0..c1`, and
    /// the window size clipped to the padded input (PyTorch's divisor with `count_include_pad`).
    fn window(&self, i: usize, j: usize) -> (usize, usize, usize, usize, usize) {
        let (r, c) = (i * self.s[0], j * self.s[1]); // window start + padding
        let r1p = (r + self.k[0]).min(self.h + 2 * self.p[0]);
        let c1p = (c + self.k[1]).min(self.w + 2 * self.p[1]);
        let padded_size = (r1p - r) * (c1p - c);
        let r0 = r.saturating_sub(self.p[0]);
        let c0 = c.saturating_sub(self.p[1]);
        let r1 = (r + self.k[0]).saturating_sub(self.p[0]).min(self.h);
        let c1 = (c + self.k[1]).saturating_sub(self.p[1]).min(self.w);
        (r0, r1, c0, c1, padded_size)
    }
}

impl Pool2dParams {
    /// A `kernel_size` window with stride equal to the kernel and no padding (PyTorch's default).
    pub fn new(kernel_size: [usize; 2]) -> Self {
        Pool2dParams { kernel_size, stride: kernel_size, padding: [0, 0] }
    }
    /// The same, with another stride.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }
    /// The same, with padding.
    pub fn with_padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// The output shape $(N, C, OH, OW)$ for an input of shape `x` $(N, C, H, W)$, or an error.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        let g = self.geometry("pool2d", x)?;
        Ok(vec![x[0], x[1], g.oh, g.ow])
    }

    fn geometry(&self, op: &'static str, x: &[usize]) -> Result<PoolGeometry> {
        if x.len() != 4 {
            return Err(Error::shape(
                op,
                x,
                format!("input must be 4-D (N, C, H, W), got {} dimensions", x.len()),
            ));
        }
        let (k, s, p) = (self.kernel_size, self.stride, self.padding);
        if k.contains(&0) {
            return Err(Error::shape(op, x, format!("kernel_size must be positive, got {k:?}")));
        }
        if s.contains(&0) {
            return Err(Error::shape(op, x, format!("stride must be positive, got {s:?}")));
        }
        if p[0] > k[0] / 2 || p[1] > k[1] / 2 {
            return Err(Error::shape(
                op,
                x,
                format!("padding {p:?} must be at most half the kernel_size {k:?}"),
            ));
        }
        let (h, w) = (x[2], x[3]);
        if h == 0 || w == 0 {
            return Err(Error::shape(op, x, "the input plane is empty"));
        }
        if k[0] > h + 2 * p[0] || k[1] > w + 2 * p[1] {
            return Err(Error::shape(
                op,
                x,
                format!(
                    "kernel_size {k:?} is larger than the padded input ({} × {})",
                    h + 2 * p[0],
                    w + 2 * p[1]
                ),
            ));
        }
        Ok(PoolGeometry {
            planes: x[0] * x[1],
            h,
            w,
            oh: (h + 2 * p[0] - k[0]) / s[0] + 1,
            ow: (w + 2 * p[1] - k[1]) / s[1] + 1,
            k,
            s,
            p,
        })
    }
}

fn contiguous_vec<T: Float>(a: &ArcArray<T, IxDyn>) -> std::borrow::Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().copied().collect()),
    }
}

fn to_array<T: Clone>(op: &'static str, shape: &[usize], v: Vec<T>) -> Result<ArcArray<T, IxDyn>> {
    Ok(ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::invalid(op, e.to_string()))?.into_shared())
}

/// Max-pool forward: the values and, for each output, the flat in-plane index of its arg-max.
fn max_forward<T: Float>(g: &PoolGeometry, x: &[T]) -> (Vec<T>, Vec<usize>) {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut y = vec![T::zero(); g.planes * ohw];
    let mut arg = vec![0usize; g.planes * ohw];
    y.par_chunks_mut(ohw.max(1)).zip(arg.par_chunks_mut(ohw.max(1))).enumerate().for_each(
        |(pl, (y_p, a_p))| {
            let x_p = &x[pl * hw..(pl + 1) * hw];
            for i in 0..g.oh {
                for j in 0..g.ow {
                    let (r0, r1, c0, c1, _) = g.window(i, j);
                    let (mut best, mut at) = (T::neg_infinity(), r0 * g.w + c0);
                    for u in r0..r1 {
                        for v in c0..c1 {
                            let val = x_p[u * g.w + v];
                            if val > best || val.is_nan() {
                                (best, at) = (val, u * g.w + v);
                                if val.is_nan() {
                                    break;
                                }
                            }
                        }
                        if best.is_nan() {
                            break;
                        }
                    }
                    y_p[i * g.ow + j] = best;
                    a_p[i * g.ow + j] = at;
                }
            }
        },
    );
    (y, arg)
}

/// Max-pool backward: each output's gradient added to its arg-max, in output order per plane.
fn max_backward<T: Float>(g: &PoolGeometry, arg: &[usize], dy: &[T]) -> Vec<T> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut dx = vec![T::zero(); g.planes * hw];
    dx.par_chunks_mut(hw.max(1)).enumerate().for_each(|(pl, dx_p)| {
        for t in pl * ohw..(pl + 1) * ohw {
            dx_p[arg[t]] += dy[t];
        }
    });
    dx
}

/// The divisor $D_{ij}$ of average pooling.
fn divisor(g: &PoolGeometry, i: usize, j: usize, count_include_pad: bool) -> usize {
    let (r0, r1, c0, c1, padded) = g.window(i, j);
    if count_include_pad { padded } else { (r1 - r0) * (c1 - c0) }
}

fn avg_forward<T: Float>(g: &PoolGeometry, x: &[T], count_include_pad: bool) -> Vec<T> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut y = vec![T::zero(); g.planes * ohw];
    y.par_chunks_mut(ohw.max(1)).enumerate().for_each(|(pl, y_p)| {
        let x_p = &x[pl * hw..(pl + 1) * hw];
        for i in 0..g.oh {
            for j in 0..g.ow {
                let (r0, r1, c0, c1, _) = g.window(i, j);
                let mut s = T::zero();
                for u in r0..r1 {
                    for v in c0..c1 {
                        s += x_p[u * g.w + v];
                    }
                }
                y_p[i * g.ow + j] =
                    s / T::from_usize(divisor(g, i, j, count_include_pad)).unwrap_or(T::one());
            }
        }
    });
    y
}

fn avg_backward<T: Float>(g: &PoolGeometry, dy: &[T], count_include_pad: bool) -> Vec<T> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut dx = vec![T::zero(); g.planes * hw];
    dx.par_chunks_mut(hw.max(1)).enumerate().for_each(|(pl, dx_p)| {
        let dy_p = &dy[pl * ohw..(pl + 1) * ohw];
        for i in 0..g.oh {
            for j in 0..g.ow {
                let (r0, r1, c0, c1, _) = g.window(i, j);
                let d = dy_p[i * g.ow + j]
                    / T::from_usize(divisor(g, i, j, count_include_pad)).unwrap_or(T::one());
                for u in r0..r1 {
                    for v in c0..c1 {
                        dx_p[u * g.w + v] += d;
                    }
                }
            }
        }
    });
    dx
}

impl Tensor {
    /// Max pooling of `self` (N, C, H, W), PyTorch's `F.max_pool2d` (padding counts as $-\infty$).
    /// See the module docs for the formula and the gradient rule on ties.
    pub fn max_pool2d(&self, p: &Pool2dParams) -> Result<Tensor> {
        const OP: &str = "max_pool2d";
        let shape = self.shape();
        let g = p.geometry(OP, &shape)?;
        let out_shape = [shape[0], shape[1], g.oh, g.ow];
        let xd = self.data();
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = &xd {
            return crate::device::cuda::pool::max_pool2d(self, c, p, &out_shape);
        }
        let (y, arg) = match &xd {
            Data::F32(x) => {
                let (y, arg) = max_forward(&g, &contiguous_vec(x));
                (Data::F32(to_array(OP, &out_shape, y)?), arg)
            }
            Data::F64(x) => {
                let (y, arg) = max_forward(&g, &contiguous_vec(x));
                (Data::F64(to_array(OP, &out_shape, y)?), arg)
            }
            other => {
                return Err(Error::UnsupportedDType {
                    op: OP,
                    dtype: other.dtype(),
                    shape,
                    expected: "f32 or f64",
                });
            }
        };
        Ok(record(y, OP, &[self], move |dy| {
            let d = dy.data();
            let dx = match &d {
                Data::F32(a) => Data::F32(to_array(OP, &shape, max_backward(&g, &arg, &contiguous_vec(a)))?),
                Data::F64(a) => Data::F64(to_array(OP, &shape, max_backward(&g, &arg, &contiguous_vec(a)))?),
                other => return Err(Error::invalid(OP, format!("gradient of dtype {}", other.dtype()))),
            };
            Ok(vec![Some(Tensor::from_data(dx))])
        }))
    }

    /// Average pooling of `self` (N, C, H, W), PyTorch's `F.avg_pool2d`: the divisor counts the
    /// padding when `count_include_pad` (PyTorch's default) and only input elements otherwise.
    pub fn avg_pool2d(&self, p: &Pool2dParams, count_include_pad: bool) -> Result<Tensor> {
        const OP: &str = "avg_pool2d";
        let shape = self.shape();
        let g = p.geometry(OP, &shape)?;
        let out_shape = [shape[0], shape[1], g.oh, g.ow];
        let xd = self.data();
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = &xd {
            return crate::device::cuda::pool::avg_pool2d(self, c, p, count_include_pad, &out_shape);
        }
        let y = match &xd {
            Data::F32(x) => {
                Data::F32(to_array(OP, &out_shape, avg_forward(&g, &contiguous_vec(x), count_include_pad))?)
            }
            Data::F64(x) => {
                Data::F64(to_array(OP, &out_shape, avg_forward(&g, &contiguous_vec(x), count_include_pad))?)
            }
            other => {
                return Err(Error::UnsupportedDType {
                    op: OP,
                    dtype: other.dtype(),
                    shape,
                    expected: "f32 or f64",
                });
            }
        };
        Ok(record(y, OP, &[self], move |dy| {
            let d = dy.data();
            let dx = match &d {
                Data::F32(a) => {
                    Data::F32(to_array(OP, &shape, avg_backward(&g, &contiguous_vec(a), count_include_pad))?)
                }
                Data::F64(a) => {
                    Data::F64(to_array(OP, &shape, avg_backward(&g, &contiguous_vec(a), count_include_pad))?)
                }
                other => return Err(Error::invalid(OP, format!("gradient of dtype {}", other.dtype()))),
            };
            Ok(vec![Some(Tensor::from_data(dx))])
        }))
    }

    /// Global average pooling, PyTorch's `F.adaptive_avg_pool2d(x, 1)`: (N, C, H, W) → (N, C, 1, 1).
    pub fn adaptive_avg_pool2d_1x1(&self) -> Result<Tensor> {
        let shape = self.shape();
        if shape.len() != 4 {
            return Err(Error::shape(
                "adaptive_avg_pool2d",
                &shape,
                format!("input must be 4-D (N, C, H, W), got {} dimensions", shape.len()),
            ));
        }
        if shape[2] == 0 || shape[3] == 0 {
            return Err(Error::shape("adaptive_avg_pool2d", &shape, "empty spatial dimensions"));
        }
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = self.data() {
            return crate::device::cuda::pool::adaptive_avg_pool2d_1x1(self, &c);
        }
        self.mean_dims(Some(&[2, 3]), true)
    }
}
