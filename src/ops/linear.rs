//! The affine map of a fully connected layer, `F.linear`.
//!
//! Input $x$ of shape $(\dots, \text{in})$, weight $W$ of shape $(\text{out}, \text{in})$, optional
//! bias $b$ of shape $(\text{out})$; every leading index (flattened to rows $r = 1..R$) is one
//! sample:
//! $$y_{r,o} = \sum_{i} x_{r,i}\, W_{o,i} + b_o, \qquad y = x W^{\top} + b \quad (\dots, \text{out})$$
//! Gradients, with upstream $g$ of shape $(\dots, \text{out})$ flattened to $(R, \text{out})$:
//! $$\frac{\partial L}{\partial x} = g\, W, \qquad
//! \frac{\partial L}{\partial W} = g^{\top} x = \sum_r g_{r,:}^{\top} x_{r,:}, \qquad
//! \frac{\partial L}{\partial b} = \sum_r g_{r,:}$$
//! (the weight and bias gradients sum over every leading dimension). Saved for backward: $x$, $W$.
//!
//! Kernel: one GEMM ($x$ as an $R \times \text{in}$ matrix times $W^\top$, a strided view of $W$,
//! no copy) by the packed GEMM ([`crate::device::cpu::gemm`]), then the bias added row by row. The literal f64 transcription is
//! [`crate::reference::linear`].

use ndarray::{ArcArray, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::cpu::PARALLEL_THRESHOLD;
use crate::error::{Error, Result};
use crate::ops::matmul::matmul_arrays;
use crate::tensor::{Data, Float, Tensor};

/// $y = x W^\top + b$ on arrays: `x` is (R, in) row-major, `w` is (out, in).
fn linear_forward<T: Float>(
    x: &ArcArray<T, IxDyn>,
    w: &ArcArray<T, IxDyn>,
    b: Option<&ArcArray<T, IxDyn>>,
    out_shape: &[usize],
) -> Result<ArcArray<T, IxDyn>> {
    // W^T is a view with swapped strides: the GEMM reads W in place.
    let w_t = w.clone().reversed_axes();
    let mut y = matmul_arrays(x, &w_t)?;
    let out_f = w.shape()[0];
    if let Some(b) = b
        && out_f > 0
    {
        let b: Vec<T> = b.iter().copied().collect();
        let y_s =
            y.as_slice_mut().ok_or_else(|| Error::invalid("linear", "internal: array not contiguous"))?;
        let add_bias = |row: &mut [T]| {
            for (y_o, &b_o) in row.iter_mut().zip(&b) {
                *y_o += b_o;
            }
        };
        if y_s.len() >= PARALLEL_THRESHOLD {
            y_s.par_chunks_mut(out_f).for_each(add_bias);
        } else {
            y_s.chunks_mut(out_f).for_each(add_bias);
        }
    }
    y.into_shape_with_order(IxDyn(out_shape)).map_err(|e| Error::shape("linear", out_shape, e.to_string()))
}

impl Tensor {
    /// `F.linear(x, weight, bias)`: $y = x W^\top + b$ for $x$ of shape $(\dots, \text{in})$,
    /// `weight` $(\text{out}, \text{in})$, `bias` $(\text{out})$; see the module docs.
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        const OP: &str = "linear";
        let (xs, ws) = (self.shape(), weight.shape());
        if ws.len() != 2 {
            return Err(Error::mismatch(OP, &xs, &ws, "weight must be 2-D (out, in)"));
        }
        let (out_f, in_f) = (ws[0], ws[1]);
        if xs.last() != Some(&in_f) {
            return Err(Error::mismatch(
                OP,
                &xs,
                &ws,
                format!("the last dimension of x must equal in = {in_f} (weight is (out, in))"),
            ));
        }
        crate::ops::common::same_dtype(OP, self, weight)?;
        if let Some(b) = bias {
            if b.shape() != [out_f] {
                return Err(Error::mismatch(
                    OP,
                    &b.shape(),
                    &ws,
                    format!("bias must have shape [{out_f}] (out, the first dimension of weight)"),
                ));
            }
            crate::ops::common::same_dtype(OP, weight, b)?;
        }
        // On a GPU, the same formula as a composite of ops with CUDA kernels: x Wᵀ (+ b), whose
        // recorded backward gives the gradients above (the bias gradient as the sum of the rows).
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() || weight.device().is_cuda() || bias.is_some_and(|b| b.device().is_cuda())
        {
            let y = self.matmul(&weight.t()?)?;
            return match bias {
                Some(b) => y.add(b),
                None => Ok(y),
            };
        }
        let rows: usize = xs[..xs.len() - 1].iter().product();
        let mut out_shape = xs[..xs.len() - 1].to_vec();
        out_shape.push(out_f);

        // x as an (R, in) row-major matrix (a view when x is contiguous).
        let x2 = self.detach().reshape_usize(&[rows, in_f])?.data().contiguous();
        let (wd, bd) = (weight.data(), bias.map(|b| b.data()));
        let y = match (&x2, &wd, &bd) {
            (Data::F32(x), Data::F32(w), None) => Data::F32(linear_forward(x, w, None, &out_shape)?),
            (Data::F32(x), Data::F32(w), Some(Data::F32(b))) => {
                Data::F32(linear_forward(x, w, Some(b), &out_shape)?)
            }
            (Data::F64(x), Data::F64(w), None) => Data::F64(linear_forward(x, w, None, &out_shape)?),
            (Data::F64(x), Data::F64(w), Some(Data::F64(b))) => {
                Data::F64(linear_forward(x, w, Some(b), &out_shape)?)
            }
            _ => return Err(crate::ops::common::dtype_error(OP, &x2, &wd)),
        };

        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        let (x, w) = (self.detach(), weight.detach());
        let (rx, rw) = (self.requires_grad(), weight.requires_grad());
        let rb = bias.map(|b| b.requires_grad());
        Ok(record(y, OP, &inputs, move |g| {
            let g2 = g.reshape_usize(&[rows, out_f])?;
            // dL/dx = g W, back in x's shape.
            let gx = if rx { Some(g2.matmul(&w)?.reshape_usize(&xs)?) } else { None };
            // dL/dW = gᵀ x, summed over every row.
            let gw = if rw { Some(g2.t()?.matmul(&x.reshape_usize(&[rows, in_f])?)?) } else { None };
            let mut grads = vec![gx, gw];
            if let Some(rb) = rb {
                // dL/db = Σ_r g_r
                grads.push(if rb { Some(g2.sum_dim(0, false)?) } else { None });
            }
            Ok(grads)
        }))
    }
}
