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

use crate::autograd::record;
use crate::device::cpu::pool2d::{avg_backward, avg_forward, max_backward, max_forward};
use crate::error::{Error, Result};
use crate::tensor::{Data, Float, Tensor};

pub use crate::device::cpu::pool2d::{Pool2dParams, PoolGeometry};

fn contiguous_vec<T: Float>(a: &ArcArray<T, IxDyn>) -> std::borrow::Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().copied().collect()),
    }
}

fn to_array<T: Clone>(op: &'static str, shape: &[usize], v: Vec<T>) -> Result<ArcArray<T, IxDyn>> {
    Ok(ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::invalid(op, e.to_string()))?.into_shared())
}

/// What the backward of `max_pool2d` reads, on the device the forward ran on: the arg-max of every
/// output (its flat index in the input plane).
enum MaxSaved {
    Cpu(Vec<usize>),
    #[cfg(feature = "cuda")]
    Cuda(crate::device::cuda::pool2d::MaxPoolSaved),
}

/// What the backward of `avg_pool2d` reads besides the shapes: on a GPU, the kernel's geometry.
enum AvgSaved {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(crate::device::cuda::pool2d::AvgPoolSaved),
}

/// The gradient of a GPU op as a one-input gradient list.
#[cfg(feature = "cuda")]
fn cuda_grad(dx: crate::device::cuda::CudaData) -> Vec<Option<Tensor>> {
    vec![Some(Tensor::from_data(Data::Cuda(dx)))]
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
        let (y, saved) = match &xd {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                let (y, saved) = crate::device::cuda::pool2d::max_pool2d_forward(c, p, &out_shape)?;
                (Data::Cuda(y), MaxSaved::Cuda(saved))
            }
            Data::F32(x) => {
                let (y, arg) = max_forward(&g, &contiguous_vec(x));
                (Data::F32(to_array(OP, &out_shape, y)?), MaxSaved::Cpu(arg))
            }
            Data::F64(x) => {
                let (y, arg) = max_forward(&g, &contiguous_vec(x));
                (Data::F64(to_array(OP, &out_shape, y)?), MaxSaved::Cpu(arg))
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
        Ok(record(y, OP, &[self], move |dy| match &saved {
            MaxSaved::Cpu(arg) => {
                let d = dy.data();
                let dx = match &d {
                    Data::F32(a) => {
                        Data::F32(to_array(OP, &shape, max_backward(&g, arg, &contiguous_vec(a)))?)
                    }
                    Data::F64(a) => {
                        Data::F64(to_array(OP, &shape, max_backward(&g, arg, &contiguous_vec(a)))?)
                    }
                    other => return Err(Error::invalid(OP, format!("gradient of dtype {}", other.dtype()))),
                };
                Ok(vec![Some(Tensor::from_data(dx))])
            }
            #[cfg(feature = "cuda")]
            MaxSaved::Cuda(s) => {
                let dy = crate::ops::device_data::grad_on(dy, s.gpu())?;
                Ok(cuda_grad(crate::device::cuda::pool2d::max_pool2d_backward(s, &dy)?))
            }
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
        let (y, saved) = match &xd {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                let (y, saved) =
                    crate::device::cuda::pool2d::avg_pool2d_forward(c, p, count_include_pad, &out_shape)?;
                (Data::Cuda(y), AvgSaved::Cuda(saved))
            }
            Data::F32(x) => (
                Data::F32(to_array(OP, &out_shape, avg_forward(&g, &contiguous_vec(x), count_include_pad))?),
                AvgSaved::Cpu,
            ),
            Data::F64(x) => (
                Data::F64(to_array(OP, &out_shape, avg_forward(&g, &contiguous_vec(x), count_include_pad))?),
                AvgSaved::Cpu,
            ),
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
            match &saved {
                AvgSaved::Cpu => {}
                #[cfg(feature = "cuda")]
                AvgSaved::Cuda(s) => {
                    let dy = crate::ops::device_data::grad_on(dy, s.gpu())?;
                    return Ok(cuda_grad(crate::device::cuda::pool2d::avg_pool2d_backward(s, &dy)?));
                }
            }
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
    /// On the CPU a composite of `mean_dims` (whose backward it uses); on a GPU its own kernels
    /// and backward.
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
            use crate::device::cuda::pool2d::{
                adaptive_avg_pool2d_1x1_backward, adaptive_avg_pool2d_1x1_forward,
            };
            let (y, saved) = adaptive_avg_pool2d_1x1_forward(&c)?;
            return Ok(record(Data::Cuda(y), "adaptive_avg_pool2d", &[self], move |dy| {
                let dy = crate::ops::device_data::grad_on(dy, saved.gpu())?;
                Ok(cuda_grad(adaptive_avg_pool2d_1x1_backward(&saved, &dy)?))
            }));
        }
        self.mean_dims(Some(&[2, 3]), true)
    }
}
