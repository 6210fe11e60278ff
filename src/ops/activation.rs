//! Activations beyond `relu`/`tanh`/`sigmoid` (those are in `ops/unary.rs`): elementwise
//! $y = f(x)$ with $\partial L/\partial x = g \cdot f'(x)$, PyTorch's definitions.
//!
//! | op | forward $f(x)$ | derivative $f'(x)$ |
//! |---|---|---|
//! | `gelu` (exact) | $x\,\Phi(x) = \tfrac12 x \big(1 + \operatorname{erf}(x/\sqrt2)\big)$ | $\Phi(x) + x\,\varphi(x)$, $\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}$ |
//! | `gelu` (tanh) | $\tfrac12 x (1 + \tanh u)$, $u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)$ | $\tfrac12(1 + \tanh u) + \tfrac12 x (1 - \tanh^2 u)\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)$ |
//! | `leaky_relu` | $x$ if $x > 0$, else $a x$ | $1$ if $x > 0$, else $a$ |
//! | `elu` | $x$ if $x > 0$, else $\alpha (e^x - 1)$ | $1$ if $x > 0$, else $\alpha e^x$ |
//! | `softplus` | $\tfrac1\beta \ln(1 + e^{\beta x})$; $x$ where $\beta x > \text{threshold}$ | $\sigma(\beta x)$; $1$ where $\beta x > \text{threshold}$ |
//! | `silu` | $x\,\sigma(x)$ | $\sigma(x)\,\big(1 + x (1 - \sigma(x))\big)$ |
//!
//! Saved for backward: the input $x$ (every derivative above is a function of $x$ alone).
//! Stability: softplus is evaluated as $\max(z, 0) + \ln(1 + e^{-|z|})$ with $z = \beta x$, and
//! $\sigma$ as in `sigmoid`, so no exponential overflows for large $|x|$.
//! `erf` is `libm`'s (`erf` in f64, `erff` in f32).

use crate::autograd::record;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::{binary_data, unary_data};

/// Which GELU: the exact one ($x\,\Phi(x)$) or PyTorch's `approximate="tanh"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GeluApprox {
    #[default]
    None,
    Tanh,
}

impl std::str::FromStr for GeluApprox {
    type Err = Error;
    /// `"none"` or `"tanh"`, as PyTorch spells them.
    fn from_str(s: &str) -> Result<GeluApprox> {
        match s {
            "none" => Ok(GeluApprox::None),
            "tanh" => Ok(GeluApprox::Tanh),
            other => Err(Error::invalid("gelu", format!("unknown approximate {other:?}; use none or tanh"))),
        }
    }
}

/// The special functions the activations need, for both float types.
trait Special: Copy {
    fn erf_(self) -> Self;
}
impl Special for f32 {
    fn erf_(self) -> f32 {
        libm::erff(self)
    }
}
impl Special for f64 {
    fn erf_(self) -> f64 {
        libm::erf(self)
    }
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4; // √(2/π)
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7; // 1/√(2π)
const GELU_C: f64 = 0.044715;

/// $\sigma(v)$ without overflow.
macro_rules! sigma {
    ($v:expr) => {{
        let v = $v;
        if v >= 0.0 {
            1.0 / (1.0 + (-v).exp())
        } else {
            let e = v.exp();
            e / (1.0 + e)
        }
    }};
}

impl Tensor {
    /// `F.gelu(x, approximate=...)` (formulas in the module docs).
    pub fn gelu(&self, approximate: GeluApprox) -> Result<Tensor> {
        let tanh = approximate == GeluApprox::Tanh;
        let y = unary_data!(self, "gelu", params(if tanh { 1.0 } else { 0.0 }, 0.0), |x| if tanh {
            let u = (SQRT_2_OVER_PI as E) * (x + (GELU_C as E) * x * x * x);
            0.5 * x * (1.0 + u.tanh())
        } else {
            0.5 * x * (1.0 + (x * (std::f64::consts::FRAC_1_SQRT_2 as E)).erf_())
        });
        let xs = self.detach();
        Ok(record(y, "gelu", &[self], move |g| {
            let gx =
                binary_data!(g, &xs, "gelu_backward", params(if tanh { 1.0 } else { 0.0 }, 0.0), |g, x| {
                    if tanh {
                        let k = SQRT_2_OVER_PI as E;
                        let c = GELU_C as E;
                        let t = (k * (x + c * x * x * x)).tanh();
                        g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * c * x * x))
                    } else {
                        let cdf = 0.5 * (1.0 + (x * (std::f64::consts::FRAC_1_SQRT_2 as E)).erf_());
                        let pdf = (INV_SQRT_2PI as E) * (-0.5 * x * x).exp();
                        g * (cdf + x * pdf)
                    }
                })?;
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }

    /// `F.leaky_relu(x, negative_slope)`: $x$ for $x > 0$, else $a x$.
    pub fn leaky_relu(&self, negative_slope: f64) -> Result<Tensor> {
        if !negative_slope.is_finite() {
            return Err(Error::invalid(
                "leaky_relu",
                format!("negative_slope must be finite, got {negative_slope}"),
            ));
        }
        let a = negative_slope;
        let y = unary_data!(self, "leaky_relu", params(a, 0.0), |x| if x > 0.0 { x } else { x * (a as E) });
        let xs = self.detach();
        Ok(record(y, "leaky_relu", &[self], move |g| {
            let gx = binary_data!(g, &xs, "leaky_relu_backward", params(a, 0.0), |g, x| if x > 0.0 {
                g
            } else {
                g * (a as E)
            })?;
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }

    /// `F.elu(x, alpha)`: $x$ for $x > 0$, else $\alpha(e^x - 1)$.
    pub fn elu(&self, alpha: f64) -> Result<Tensor> {
        if !alpha.is_finite() {
            return Err(Error::invalid("elu", format!("alpha must be finite, got {alpha}")));
        }
        let y = unary_data!(self, "elu", params(alpha, 0.0), |x| if x > 0.0 {
            x
        } else {
            (alpha as E) * x.exp_m1()
        });
        let xs = self.detach();
        Ok(record(y, "elu", &[self], move |g| {
            let gx = binary_data!(g, &xs, "elu_backward", params(alpha, 0.0), |g, x| if x > 0.0 {
                g
            } else {
                g * (alpha as E) * x.exp()
            })?;
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }

    /// `F.softplus(x, beta, threshold)`: $\frac1\beta\ln(1 + e^{\beta x})$, and $x$ where
    /// $\beta x > \text{threshold}$ (PyTorch's defaults: $\beta = 1$, threshold $= 20$).
    pub fn softplus(&self, beta: f64, threshold: f64) -> Result<Tensor> {
        if !(beta.is_finite() && beta != 0.0) {
            return Err(Error::invalid("softplus", format!("beta must be finite and nonzero, got {beta}")));
        }
        let y = unary_data!(self, "softplus", params(beta, threshold), |x| {
            let z = x * (beta as E);
            if z > threshold as E { x } else { (z.max(0.0) + (-z.abs()).exp().ln_1p()) / (beta as E) }
        });
        let xs = self.detach();
        Ok(record(y, "softplus", &[self], move |g| {
            let gx = binary_data!(g, &xs, "softplus_backward", params(beta, threshold), |g, x| {
                let z = x * (beta as E);
                if z > threshold as E { g } else { g * sigma!(z) }
            })?;
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }

    /// `F.silu(x)` (swish): $x\,\sigma(x)$.
    pub fn silu(&self) -> Result<Tensor> {
        let y = unary_data!(self, "silu", |x| x * sigma!(x));
        let xs = self.detach();
        Ok(record(y, "silu", &[self], move |g| {
            let gx = binary_data!(g, &xs, "silu_backward", |g, x| {
                let s = sigma!(x);
                g * s * (1.0 + x * (1.0 - s))
            })?;
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }
}
