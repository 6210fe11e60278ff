//! The CPU side of 2-D pooling: the parameters ([`Pool2dParams`], shared with the CUDA host code),
//! their validation into a [`PoolGeometry`], and the max and average kernels on contiguous
//! (N, C, H, W) slices, forward and backward (the formulas are in `ops::pool2d`).
//!
//! One rayon task per $(n, c)$ plane, forward and backward: the planes are independent, and inside
//! a plane the gradient is added in output order, so the results do not depend on the threads.

use std::ops::AddAssign;

use rayon::prelude::*;

use crate::error::{Error, Result};

/// The element types of the pooling kernels (`f32`, `f64`).
pub trait PoolFloat: num_traits::Float + num_traits::FromPrimitive + AddAssign + Send + Sync {}

impl<T: num_traits::Float + num_traits::FromPrimitive + AddAssign + Send + Sync> PoolFloat for T {}

/// Window size, stride and padding (rows, columns) of a 2-D pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dParams {
    pub kernel_size: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

/// The sizes of one pooling, after validation: `planes` = N·C input planes of H × W, the output
/// planes OH × OW, the kernel size `k`, stride `s` and padding `p` (rows, columns).
#[derive(Debug, Clone, Copy)]
pub struct PoolGeometry {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub k: [usize; 2],
    pub s: [usize; 2],
    pub p: [usize; 2],
}

impl PoolGeometry {
    /// The window of output `(i, j)` clipped to the input: rows `r0..r1`, columns `c0..c1`, and
    /// the window size clipped to the padded input (PyTorch's divisor with `count_include_pad`).
    pub fn window(&self, i: usize, j: usize) -> (usize, usize, usize, usize, usize) {
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

    /// Validates the input shape `x` (N, C, H, W) and the parameters, and derives every size;
    /// errors name `op`.
    pub fn geometry(&self, op: &'static str, x: &[usize]) -> Result<PoolGeometry> {
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

/// Max-pool forward: the values and, for each output, the flat in-plane index of its arg-max.
pub fn max_forward<T: PoolFloat>(g: &PoolGeometry, x: &[T]) -> (Vec<T>, Vec<usize>) {
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
pub fn max_backward<T: PoolFloat>(g: &PoolGeometry, arg: &[usize], dy: &[T]) -> Vec<T> {
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
pub fn divisor(g: &PoolGeometry, i: usize, j: usize, count_include_pad: bool) -> usize {
    let (r0, r1, c0, c1, padded) = g.window(i, j);
    if count_include_pad { padded } else { (r1 - r0) * (c1 - c0) }
}

/// Average-pool forward: each window's sum over the input divided by [`divisor`], one task per
/// plane.
pub fn avg_forward<T: PoolFloat>(g: &PoolGeometry, x: &[T], count_include_pad: bool) -> Vec<T> {
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

/// Average-pool backward: each output's gradient over [`divisor`] added to its window, in output
/// order per plane.
pub fn avg_backward<T: PoolFloat>(g: &PoolGeometry, dy: &[T], count_include_pad: bool) -> Vec<T> {
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
