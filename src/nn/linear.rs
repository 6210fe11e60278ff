//! `Linear`: the affine map $y = x W^\top + b$.
//!
//! Shapes: $x$ is $(\dots, \text{in})$, $W$ is $(\text{out}, \text{in})$, $b$ is $(\text{out})$,
//! $y$ is $(\dots, \text{out})$. Gradients (from the ops it is built of):
//! $$\frac{\partial L}{\partial x} = g W, \qquad
//!   \frac{\partial L}{\partial W} = \sum_{\text{rows}} g^\top x, \qquad
//!   \frac{\partial L}{\partial b} = \sum_{\text{rows}} g .$$
//!
//! Initialisation, as PyTorch's: $W \sim \mathcal U(-k, k)$ (Kaiming uniform with slope
//! $a = \sqrt5$, see [`init`](super::init)) and $b \sim \mathcal U(-k, k)$, with
//! $k = 1/\sqrt{\text{in}}$; the weight is drawn first, then the bias.

use super::init::{FanMode, Nonlinearity, kaiming_uniform_, uniform_};
use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// A fully connected layer, `torch.nn.Linear`.
#[derive(Clone)]
pub struct Linear {
    /// $(\text{out}, \text{in})$, requires a gradient.
    pub weight: Tensor,
    /// $(\text{out})$, requires a gradient; `None` when made with `bias = false`.
    pub bias: Option<Tensor>,
    mode: Mode,
}

impl Linear {
    /// A layer from `in_features` to `out_features` with PyTorch's default initialisation, drawn
    /// from `rng`. `dtype` must be f32 or f64; `in_features` must be positive.
    pub fn new(
        in_features: usize,
        out_features: usize,
        bias: bool,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Linear> {
        if in_features == 0 {
            return Err(Error::invalid("Linear", "in_features must be at least 1"));
        }
        if !dtype.is_float() {
            return Err(Error::UnsupportedDType {
                op: "Linear",
                dtype,
                shape: vec![out_features, in_features],
                expected: "f32 or f64",
            });
        }
        let weight = Tensor::zeros(&[out_features, in_features], dtype)?;
        kaiming_uniform_(&weight, FanMode::FanIn, Nonlinearity::LeakyRelu(5f64.sqrt()), rng)?;
        let bias = if bias {
            let b = Tensor::zeros(&[out_features], dtype)?;
            let k = 1.0 / (in_features as f64).sqrt();
            uniform_(&b, -k, k, rng)?;
            Some(b.requires_grad_()?)
        } else {
            None
        };
        Ok(Linear { weight: weight.requires_grad_()?, bias, mode: Mode::default() })
    }

    /// A layer holding the given tensors (weight $(\text{out}, \text{in})$, bias $(\text{out})$),
    /// e.g. loaded from a checkpoint. They are used as they are (their `requires_grad` included).
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>) -> Result<Linear> {
        let ws = weight.shape();
        if ws.len() != 2 {
            return Err(Error::shape("Linear", &ws, "weight must be (out_features, in_features)"));
        }
        if let Some(b) = &bias
            && (b.shape() != [ws[0]] || b.dtype() != weight.dtype())
        {
            return Err(Error::mismatch(
                "Linear",
                &ws,
                &b.shape(),
                "bias must be (out_features), same dtype",
            ));
        }
        Ok(Linear { weight, bias, mode: Mode::default() })
    }

    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (xs, ws) = (x.shape(), self.weight.shape());
        if xs.last() != Some(&ws[1]) {
            return Err(Error::mismatch(
                "linear",
                &xs,
                &ws,
                "the last dimension of x must equal in_features",
            ));
        }
        x.linear(&self.weight, self.bias.as_ref())
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        let mut p = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            p.push(("bias".to_string(), b.clone()));
        }
        p
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}
