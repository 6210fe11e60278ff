//! Binary cross-entropy on logits, `F.binary_cross_entropy_with_logits`, fused and stable.
//!
//! Logits $x$, targets $y \in [0, 1]$ (same shape), optional element weights $w$ and positive-class
//! weights $p$ (both broadcast to $x$'s shape; $p$ usually has shape $(C)$, one per class in the
//! last dimension; defaults 1). With $\operatorname{sp}(v) = \ln(1 + e^v)$ (softplus),
//! $-\ln\sigma(x) = \operatorname{sp}(-x)$ and $-\ln(1 - \sigma(x)) = x + \operatorname{sp}(-x)$:
//! $$\ell_i = -w_i\big[p_i\, y_i \ln\sigma(x_i) + (1 - y_i)\ln(1 - \sigma(x_i))\big]
//!          = w_i\big[(1 - y_i)\,x_i + (1 + (p_i - 1)\,y_i)\,\operatorname{sp}(-x_i)\big]$$
//! with $\operatorname{sp}(-x) = \max(-x, 0) + \ln(1 + e^{-|x|})$, which never overflows.
//! Reduction: `None` gives $\ell$ (shape of $x$); `Sum` gives $\sum_i \ell_i$; `Mean` gives
//! $\frac1n \sum_i \ell_i$ over the $n$ elements (the weights do not enter the denominator, as in
//! PyTorch; NaN when $n = 0$).
//!
//! Gradients (upstream $g$; $s_i = g_i$, $g$ or $g/n$ for none, sum, mean):
//! $$\frac{\partial L}{\partial x_i} = s_i\, w_i\big[(1 + (p_i - 1)\,y_i)\,\sigma(x_i) - p_i\, y_i\big]
//!   \qquad(\sigma(x) - y \text{ when } w = p = 1)$$
//! $$\frac{\partial L}{\partial y_i} = s_i\, w_i\big[(p_i - 1)\operatorname{sp}(-x_i) - x_i\big]$$
//! Saved for backward: $x$, $y$, $w$, $p$ (broadcast). $w$ and $p$ are constants: giving ones that
//! require a gradient is an error, as PyTorch has no gradient for them.
//!
//! On a GPU (`kernels/bce.cu`, host code in `src/device/cuda/bce.rs`): one thread per element for the
//! losses and for both gradients, the weights read through broadcast strides (no copy), the
//! reductions by the deterministic sum kernel. Every operand must live on the logits' device.

use ndarray::{ArcArray, IxDyn, Zip};

use crate::autograd::{is_grad_enabled, record};
use crate::error::{Error, Result};
use crate::ops::loss::Reduction;
use crate::tensor::{DType, Data, Float, Tensor};

const OP: &str = "binary_cross_entropy_with_logits";

/// $\operatorname{sp}(-x) = \ln(1 + e^{-x})$, stable.
fn sp_neg<T: Float>(x: T) -> T {
    (-x).max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// $\sigma(x)$, stable.
fn sigma<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// Checks an operand against the logits: same dtype, same device, and (for the constant
/// weights, `constant`) no gradient wanted.
fn check_operand(name: &str, x: &Tensor, w: &Tensor, constant: bool) -> Result<()> {
    crate::ops::common::same_dtype(OP, x, w)?;
    if w.device() != x.device() {
        return Err(Error::Device {
            op: OP,
            msg: format!(
                "operands on different devices: the input on {} and {name} on {}",
                x.device(),
                w.device()
            ),
        });
    }
    if constant && w.requires_grad() && is_grad_enabled() {
        return Err(Error::invalid(
            OP,
            format!("the gradient of {name} is not implemented (as in PyTorch); detach it"),
        ));
    }
    Ok(())
}

/// A (checked) weight tensor broadcast to `shape` (contiguous), or all ones.
fn broadcast_weight<T: Float>(name: &str, x: &Tensor, w: Option<&Tensor>) -> Result<ArcArray<T, IxDyn>> {
    let shape = x.shape();
    let Some(w) = w else {
        return Ok(ArcArray::from_elem(IxDyn(&shape), T::one()));
    };
    let d = w.data();
    let a = d.typed::<T>(OP)?;
    let b = a.broadcast(IxDyn(&shape)).ok_or_else(|| {
        Error::mismatch(OP, &shape, &w.shape(), format!("{name} must broadcast to the input's shape"))
    })?;
    Ok(b.as_standard_layout().into_owned().into_shared())
}

/// What the BCE's backward needs, on the CPU for one float type: $x$, $y$, $w$ and $p$
/// (contiguous, the weights broadcast), the logits' shape and the reduction.
struct BceCpu<T: Float> {
    x: ArcArray<T, IxDyn>,
    y: ArcArray<T, IxDyn>,
    w: ArcArray<T, IxDyn>,
    p: ArcArray<T, IxDyn>,
    shape: Vec<usize>,
    reduction: Reduction,
}

/// What the BCE's backward needs, per device.
enum BceSaved {
    F32(BceCpu<f32>),
    F64(BceCpu<f64>),
    #[cfg(feature = "cuda")]
    Cuda {
        saved: Box<crate::device::cuda::bce::BceSaved>,
        gpu: std::sync::Arc<crate::device::cuda::Gpu>,
    },
}

/// The BCE forward for one float type on the CPU: the reduced loss and what the backward needs.
fn bce_cpu<T: Float>(
    x_t: &Tensor,
    y_t: &Tensor,
    weight: Option<&Tensor>,
    pos_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<(Data, BceCpu<T>)> {
    let x = x_t.data().contiguous().typed::<T>(OP)?.clone();
    let y = y_t.data().contiguous().typed::<T>(OP)?.clone();
    let w = broadcast_weight::<T>("weight", x_t, weight)?;
    let p = broadcast_weight::<T>("pos_weight", x_t, pos_weight)?;
    let one = T::one();
    // ℓ_i = w_i [(1 − y_i) x_i + (1 + (p_i − 1) y_i) sp(−x_i)]
    let losses = Zip::from(&x)
        .and(&y)
        .and(&w)
        .and(&p)
        .map_collect(|&x, &y, &w, &p| w * ((one - y) * x + (one + (p - one) * y) * sp_neg(x)));
    let n = x.len();
    let out = match reduction {
        Reduction::None => losses.into_shared(),
        Reduction::Sum => ArcArray::from_elem(IxDyn(&[]), losses.iter().copied().sum::<T>()),
        Reduction::Mean => {
            let total: T = losses.iter().copied().sum();
            ArcArray::from_elem(IxDyn(&[]), total / <T as crate::tensor::Element>::from_f64(n as f64))
        }
    };
    let out = T::wrap(out);
    let shape = x_t.shape();
    Ok((out, BceCpu { x, y, w, p, shape, reduction }))
}

/// The BCE's gradients (dx, dy) on the CPU for one float type, given the upstream gradient `g`.
fn bce_cpu_backward<T: Float>(saved: &BceCpu<T>, g: &Tensor) -> Result<(Tensor, Tensor)> {
    let (x, y, w, p, shape) = (&saved.x, &saved.y, &saved.w, &saved.p, &saved.shape);
    let n = x.len();
    let one = T::one();
    // s_i: the upstream gradient of element i.
    let g = g.data().contiguous().typed::<T>(OP)?.clone();
    let s = match saved.reduction {
        Reduction::None => g,
        Reduction::Sum => ArcArray::from_elem(IxDyn(shape), g.iter().copied().next().unwrap_or(T::zero())),
        Reduction::Mean => {
            let g0 = g.iter().copied().next().unwrap_or(T::zero());
            ArcArray::from_elem(IxDyn(shape), g0 / <T as crate::tensor::Element>::from_f64(n as f64))
        }
    };
    // ∂x_i = s_i w_i [(1 + (p_i − 1) y_i) σ(x_i) − p_i y_i]
    let dx = Zip::from(x)
        .and(y)
        .and(w)
        .and(p)
        .and(&s)
        .map_collect(|&x, &y, &w, &p, &s| s * w * ((one + (p - one) * y) * sigma(x) - p * y));
    // ∂y_i = s_i w_i [(p_i − 1) sp(−x_i) − x_i]
    let dy =
        Zip::from(x).and(w).and(p).and(&s).map_collect(|&x, &w, &p, &s| s * w * ((p - one) * sp_neg(x) - x));
    Ok((Tensor::from_data(T::wrap(dx.into_shared())), Tensor::from_data(T::wrap(dy.into_shared()))))
}

/// The BCE forward on the logits' device (operands checked): the reduced loss and what the
/// backward needs. On a GPU every operand's device data is taken (the weights broadcast there
/// through their layouts).
fn bce_forward(
    x_t: &Tensor,
    y_t: &Tensor,
    weight: Option<&Tensor>,
    pos_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<(Data, BceSaved)> {
    #[cfg(feature = "cuda")]
    if x_t.device().is_cuda() {
        use crate::ops::device_data::cuda_input;
        let x = cuda_input(OP, x_t, None)?;
        let gpu = x.gpu().clone();
        let y = cuda_input(OP, y_t, Some(&gpu))?;
        let w = weight.map(|t| cuda_input(OP, t, Some(&gpu))).transpose()?;
        let p = pos_weight.map(|t| cuda_input(OP, t, Some(&gpu))).transpose()?;
        let (out, saved) = crate::device::cuda::bce::bce_with_logits(x, y, w, p, reduction)?;
        return Ok((Data::Cuda(out), BceSaved::Cuda { saved: Box::new(saved), gpu }));
    }
    match x_t.dtype() {
        DType::F32 => {
            bce_cpu::<f32>(x_t, y_t, weight, pos_weight, reduction).map(|(o, s)| (o, BceSaved::F32(s)))
        }
        _ => bce_cpu::<f64>(x_t, y_t, weight, pos_weight, reduction).map(|(o, s)| (o, BceSaved::F64(s))),
    }
}

impl BceSaved {
    /// The gradients (dx, dy) given the upstream gradient `g`, on the device of the forward.
    fn backward(&self, g: &Tensor) -> Result<(Tensor, Tensor)> {
        match self {
            BceSaved::F32(s) => bce_cpu_backward(s, g),
            BceSaved::F64(s) => bce_cpu_backward(s, g),
            #[cfg(feature = "cuda")]
            BceSaved::Cuda { saved, gpu } => {
                let g = crate::ops::device_data::grad_on(g, gpu)?;
                let (dx, dy) = crate::device::cuda::bce::bce_with_logits_backward(saved, &g)?;
                Ok((Tensor::from_data(Data::Cuda(dx)), Tensor::from_data(Data::Cuda(dy))))
            }
        }
    }
}

impl Tensor {
    /// `F.binary_cross_entropy_with_logits(x, target, weight, pos_weight=pos_weight, reduction=...)`
    /// on logits `self`; see the module docs for the formulas.
    pub fn binary_cross_entropy_with_logits(
        &self,
        target: &Tensor,
        weight: Option<&Tensor>,
        pos_weight: Option<&Tensor>,
        reduction: Reduction,
    ) -> Result<Tensor> {
        let (xs, ys) = (self.shape(), target.shape());
        if !self.dtype().is_float() {
            return Err(Error::UnsupportedDType {
                op: OP,
                dtype: self.dtype(),
                shape: xs,
                expected: "f32 or f64",
            });
        }
        if xs != ys {
            return Err(Error::mismatch(OP, &xs, &ys, "input and target must have the same shape"));
        }
        check_operand("target", self, target, false)?;
        for (name, w) in [("weight", weight), ("pos_weight", pos_weight)] {
            if let Some(w) = w {
                check_operand(name, self, w, true)?;
            }
        }
        let (out, saved) = bce_forward(self, target, weight, pos_weight, reduction)?;
        Ok(record(out, OP, &[self, target], move |g| {
            let (dx, dy) = saved.backward(g)?;
            Ok(vec![Some(dx), Some(dy)])
        }))
    }
}
