//! Elementwise functions of one tensor, $y = f(x)$, with $\partial L/\partial x = g \cdot f'(x)$:
//!
//! | op | forward | $\partial L/\partial x$ |
//! |---|---|---|
//! | neg | $y = -x$ | $-g$ |
//! | abs | $y = \lvert x\rvert$ | $g \operatorname{sign}(x)$ (0 at 0, as PyTorch) |
//! | exp | $y = e^x$ | $g\,y$ |
//! | log | $y = \ln x$ | $g / x$ |
//! | tanh | $y = \tanh x$ | $g\,(1 - y^2)$ |
//! | sigmoid | $y = 1/(1+e^{-x})$ | $g\,y\,(1-y)$ |
//! | relu | $y = \max(x, 0)$ | $g \cdot \mathbf{1}_{x > 0}$ |
//! | sqrt | $y = \sqrt{x}$ | $g / (2y)$ |
//! | pow | $y = x^p$ | $g\,p\,x^{p-1}$ |
//! | clamp | $y = \min(\max(x, lo), hi)$ | $g \cdot \mathbf{1}_{lo < x < hi}$ (zero at a bound, as PyTorch) |
//!
//! `sigmoid` is evaluated as $e^{x}/(1+e^{x})$ for $x < 0$ so that it never overflows.

use crate::autograd::record;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::{binary_data, unary_data};

impl Tensor {
    /// $-x$
    pub fn neg(&self) -> Result<Tensor> {
        let y = unary_data!(self, "neg", |v| -v);
        Ok(record(y, "neg", &[self], |g| Ok(vec![Some(g.neg()?)])))
    }

    /// $\lvert x \rvert$
    pub fn abs(&self) -> Result<Tensor> {
        let y = unary_data!(self, "abs", |v| v.abs());
        let x = self.detach();
        Ok(record(y, "abs", &[self], move |g| {
            let gx = binary_data!(g, &x, "abs_backward", |g, x| if x > 0.0 {
                g
            } else if x < 0.0 {
                -g
            } else {
                0.0
            })?;
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }

    /// $e^x$
    pub fn exp(&self) -> Result<Tensor> {
        let y = unary_data!(self, "exp", |v| v.exp());
        let yt = Tensor::from_data(y.clone());
        Ok(record(y, "exp", &[self], move |g| Ok(vec![Some(g.mul(&yt)?)])))
    }

    /// $\ln x$ (NaN for $x < 0$, $-\infty$ at 0, as in IEEE arithmetic and PyTorch).
    pub fn log(&self) -> Result<Tensor> {
        let y = unary_data!(self, "log", |v| v.ln());
        let x = self.detach();
        Ok(record(y, "log", &[self], move |g| Ok(vec![Some(g.div(&x)?)])))
    }

    /// $\tanh x$
    pub fn tanh(&self) -> Result<Tensor> {
        let y = unary_data!(self, "tanh", |v| v.tanh());
        let yt = Tensor::from_data(y.clone());
        Ok(record(y, "tanh", &[self], move |g| {
            Ok(vec![Some(
                Tensor::from_data(binary_data!(g, &yt, "tanh_backward", |g, y| g * (1.0 - y * y))?),
            )])
        }))
    }

    /// $\sigma(x) = 1/(1+e^{-x})$
    pub fn sigmoid(&self) -> Result<Tensor> {
        let y = unary_data!(self, "sigmoid", |v| if v >= 0.0 {
            1.0 / (1.0 + (-v).exp())
        } else {
            let e = v.exp();
            e / (1.0 + e)
        });
        let yt = Tensor::from_data(y.clone());
        Ok(record(y, "sigmoid", &[self], move |g| {
            Ok(vec![Some(Tensor::from_data(binary_data!(g, &yt, "sigmoid_backward", |g, y| g
                * y
                * (1.0 - y))?))])
        }))
    }

    /// $\max(x, 0)$
    pub fn relu(&self) -> Result<Tensor> {
        // NaN stays NaN (as in PyTorch); `-0` becomes `+0`.
        let y = unary_data!(self, "relu", |v| if v > 0.0 || v.is_nan() { v } else { 0.0 });
        let x = self.detach();
        Ok(record(y, "relu", &[self], move |g| {
            Ok(vec![Some(Tensor::from_data(binary_data!(g, &x, "relu_backward", |g, x| if x > 0.0 {
                g
            } else {
                0.0
            })?))])
        }))
    }

    /// $\sqrt{x}$
    pub fn sqrt(&self) -> Result<Tensor> {
        let y = unary_data!(self, "sqrt", |v| v.sqrt());
        let yt = Tensor::from_data(y.clone());
        Ok(record(y, "sqrt", &[self], move |g| {
            Ok(vec![Some(Tensor::from_data(binary_data!(g, &yt, "sqrt_backward", |g, y| g / (2.0 * y))?))])
        }))
    }

    /// $x^p$ for a scalar exponent $p$.
    pub fn pow(&self, p: f64) -> Result<Tensor> {
        let y = unary_data!(self, "pow", params(p, 0.0), |v| v.powf(p as E));
        let x = self.detach();
        Ok(record(y, "pow", &[self], move |g| {
            let gx = if p == 0.0 {
                g.zeros_like()?
            } else {
                Tensor::from_data(binary_data!(g, &x, "pow_backward", params(p, 0.0), |g, x| g
                    * (p as E)
                    * x.powf((p - 1.0) as E))?)
            };
            Ok(vec![Some(gx)])
        }))
    }

    /// $\min(\max(x, lo), hi)$; either bound may be absent.
    pub fn clamp(&self, lo: Option<f64>, hi: Option<f64>) -> Result<Tensor> {
        if let (Some(l), Some(h)) = (lo, hi)
            && l > h
        {
            return Err(Error::invalid("clamp", format!("min {l} > max {h}")));
        }
        let (l, h) = (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY));
        let y = unary_data!(self, "clamp", params(l, h), |v| {
            if v < l as E {
                l as E
            } else if v > h as E {
                h as E
            } else {
                v
            }
        });
        let x = self.detach();
        Ok(record(y, "clamp", &[self], move |g| {
            // Strictly inside the bounds only (an absent bound is no bound): at x = lo or x = hi
            // the gradient is zero, as PyTorch's scalar clamp gives.
            let (free_lo, free_hi) = (l == f64::NEG_INFINITY, h == f64::INFINITY);
            let gx = binary_data!(g, &x, "clamp_backward", params(l, h), |g, x| {
                if (free_lo || x > l as E) && (free_hi || x < h as E) { g } else { 0.0 }
            })?;
            Ok(vec![Some(Tensor::from_data(gx))])
        }))
    }
}
