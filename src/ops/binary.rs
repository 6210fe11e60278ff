//! Elementwise arithmetic with NumPy broadcasting.
//!
//! For $z = a \circ b$ with $a, b$ broadcast to a common shape, the gradient of each input is the
//! elementwise gradient summed over the dimensions that broadcasting expanded
//! ($\operatorname{sum\_to}$ below):
//!
//! | op | forward | $\partial L/\partial a$ | $\partial L/\partial b$ |
//! |---|---|---|---|
//! | add | $z = a + b$ | $\operatorname{sum\_to}(g)$ | $\operatorname{sum\_to}(g)$ |
//! | sub | $z = a - b$ | $\operatorname{sum\_to}(g)$ | $-\operatorname{sum\_to}(g)$ |
//! | mul | $z = a \cdot b$ | $\operatorname{sum\_to}(g \cdot b)$ | $\operatorname{sum\_to}(g \cdot a)$ |
//! | div | $z = a / b$ | $\operatorname{sum\_to}(g / b)$ | $\operatorname{sum\_to}(-g \cdot a / b^2)$ |
//!
//! Scalar variants (`add_scalar`, `mul_scalar`, ...) and the operators `&a + &b`, `&a * 2.0`
//! return `Result<Tensor>` like the named methods.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::autograd::record;
use crate::binary_data;
use crate::error::Result;
use crate::ops::common::same_dtype;
use crate::tensor::Tensor;
use crate::unary_data;

impl Tensor {
    /// $a + b$, broadcasting.
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        same_dtype("add", self, other)?;
        let z = binary_data!(self, other, "add", |x, y| x + y)?;
        let (sa, sb) = (self.shape(), other.shape());
        Ok(record(z, "add", &[self, other], move |g| Ok(vec![Some(g.sum_to(&sa)?), Some(g.sum_to(&sb)?)])))
    }

    /// $a - b$, broadcasting.
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        same_dtype("sub", self, other)?;
        let z = binary_data!(self, other, "sub", |x, y| x - y)?;
        let (sa, sb) = (self.shape(), other.shape());
        Ok(record(z, "sub", &[self, other], move |g| {
            Ok(vec![Some(g.sum_to(&sa)?), Some(g.neg()?.sum_to(&sb)?)])
        }))
    }

    /// $a \cdot b$, elementwise, broadcasting.
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        same_dtype("mul", self, other)?;
        let z = binary_data!(self, other, "mul", |x, y| x * y)?;
        let (a, b) = (self.detach(), other.detach());
        let (ra, rb) = (self.requires_grad(), other.requires_grad());
        Ok(record(z, "mul", &[self, other], move |g| {
            let ga = if ra { Some(g.mul(&b)?.sum_to(&a.shape())?) } else { None };
            let gb = if rb { Some(g.mul(&a)?.sum_to(&b.shape())?) } else { None };
            Ok(vec![ga, gb])
        }))
    }

    /// $a / b$, elementwise, broadcasting.
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        same_dtype("div", self, other)?;
        let z = binary_data!(self, other, "div", |x, y| x / y)?;
        let (a, b) = (self.detach(), other.detach());
        let (ra, rb) = (self.requires_grad(), other.requires_grad());
        Ok(record(z, "div", &[self, other], move |g| {
            let ga = if ra { Some(g.div(&b)?.sum_to(&a.shape())?) } else { None };
            let gb = if rb {
                // -g a / b^2, computed as -(g / b) * (a / b) to avoid overflowing b^2.
                let gb = Tensor::from_data(binary_data!(g, &b, "div_backward", |x, y| x / y)?);
                let ab = Tensor::from_data(binary_data!(&a, &b, "div_backward", |x, y| x / y)?);
                Some(gb.mul(&ab)?.neg()?.sum_to(&b.shape())?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        }))
    }

    /// $x + c$ for a scalar $c$; $\partial L/\partial x = g$.
    pub fn add_scalar(&self, c: f64) -> Result<Tensor> {
        let z = unary_data!(self, "add_scalar", params(c, 0.0), |v| v + c as E);
        Ok(record(z, "add_scalar", &[self], move |g| Ok(vec![Some(g.clone())])))
    }

    /// $x - c$ for a scalar $c$.
    pub fn sub_scalar(&self, c: f64) -> Result<Tensor> {
        self.add_scalar(-c)
    }

    /// $c \cdot x$ for a scalar $c$; $\partial L/\partial x = c\,g$.
    pub fn mul_scalar(&self, c: f64) -> Result<Tensor> {
        let z = unary_data!(self, "mul_scalar", params(c, 0.0), |v| v * c as E);
        Ok(record(z, "mul_scalar", &[self], move |g| Ok(vec![Some(g.mul_scalar(c)?)])))
    }

    /// $x / c$ for a scalar $c$.
    pub fn div_scalar(&self, c: f64) -> Result<Tensor> {
        self.mul_scalar(1.0 / c)
    }

    /// $c - x$ for a scalar $c$ (`rsub`).
    pub fn rsub_scalar(&self, c: f64) -> Result<Tensor> {
        self.neg()?.add_scalar(c)
    }
}

macro_rules! operators {
    ($trait:ident, $method:ident, $tensor_fn:ident, $scalar_fn:ident) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$tensor_fn(self, rhs)
            }
        }
        impl $trait<f64> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: f64) -> Result<Tensor> {
                Tensor::$scalar_fn(self, rhs)
            }
        }
    };
}
operators!(Add, add, add, add_scalar);
operators!(Sub, sub, sub, sub_scalar);
operators!(Mul, mul, mul, mul_scalar);
operators!(Div, div, div, div_scalar);

impl Neg for &Tensor {
    type Output = Result<Tensor>;
    fn neg(self) -> Result<Tensor> {
        Tensor::neg(self)
    }
}
