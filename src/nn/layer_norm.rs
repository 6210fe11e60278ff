//! `LayerNorm`: $y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta$ over the
//! trailing `normalized_shape` dimensions (`torch.nn.LayerNorm`). The formula, its gradients and
//! the fused kernel are in [`crate::ops::layer_norm`]. Initialisation: $\gamma = 1$, $\beta = 0$.

use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// Layer normalisation with learnable elementwise affine parameters (optional).
#[derive(Clone)]
pub struct LayerNorm {
    pub normalized_shape: Vec<usize>,
    pub eps: f64,
    /// $\gamma$, shape `normalized_shape` (`None` without `elementwise_affine`).
    pub weight: Option<Tensor>,
    /// $\beta$, shape `normalized_shape`.
    pub bias: Option<Tensor>,
    mode: Mode,
}

impl LayerNorm {
    /// `nn.LayerNorm(normalized_shape, eps, elementwise_affine)`; $\gamma = 1$, $\beta = 0$.
    pub fn new(
        normalized_shape: &[usize],
        eps: f64,
        elementwise_affine: bool,
        dtype: DType,
    ) -> Result<LayerNorm> {
        if normalized_shape.is_empty() || normalized_shape.contains(&0) {
            return Err(Error::shape(
                "LayerNorm",
                normalized_shape,
                "normalized_shape must be non-empty, sizes ≥ 1",
            ));
        }
        let (weight, bias) = if elementwise_affine {
            (
                Some(Tensor::ones(normalized_shape, dtype)?.requires_grad_()?),
                Some(Tensor::zeros(normalized_shape, dtype)?.requires_grad_()?),
            )
        } else {
            (None, None)
        };
        Ok(LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            eps,
            weight,
            bias,
            mode: Mode::default(),
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.layer_norm(&self.normalized_shape, self.weight.as_ref(), self.bias.as_ref(), self.eps)
    }
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        let mut p = Vec::new();
        p.extend(self.weight.iter().map(|w| ("weight".to_string(), w.clone())));
        p.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        p
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}
