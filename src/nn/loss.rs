//! Losses as modules, as `torch.nn`: [`CrossEntropyLoss`], [`NLLLoss`], [`MSELoss`],
//! [`BCEWithLogitsLoss`]. Each holds its options (reduction, class weights) and calls the fused
//! op, where the formulas live:
//!
//! | module | loss per element / row | op |
//! |---|---|---|
//! | [`CrossEntropyLoss`] | $w_{t_n}(\operatorname{logsumexp}_c x_{n,c} - x_{n,t_n})$ | `ops/loss.rs` |
//! | [`NLLLoss`] | $-w_{t_n} z_{n,t_n}$ | `ops/loss.rs` |
//! | [`MSELoss`] | $(x_i - y_i)^2$ | `ops/loss.rs` |
//! | [`BCEWithLogitsLoss`] | $w_i[(1 - y_i)x_i + (1 + (p_i - 1)y_i)\ln(1 + e^{-x_i})]$ | `ops/bce.rs` |
//!
//! A loss takes two tensors (prediction and target), so it is not a [`Module`](super::Module);
//! it implements [`Loss`].

use crate::error::Result;
use crate::ops::loss::{CrossEntropyOptions, NllOptions, Reduction};
use crate::tensor::Tensor;

/// A loss function of a prediction and a target.
pub trait Loss: Send + Sync {
    /// The loss (a scalar unless the reduction is `None`).
    fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor>;
}

/// `torch.nn.CrossEntropyLoss(weight, ignore_index, reduction, label_smoothing)` on logits
/// (N, C) and class indices (N) i64.
#[derive(Clone, Debug, Default)]
pub struct CrossEntropyLoss {
    pub options: CrossEntropyOptions,
}

impl CrossEntropyLoss {
    /// Mean reduction, no class weights.
    pub fn new() -> Self {
        Self::default()
    }
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.options.reduction = reduction;
        self
    }
    /// Class weights (C), a constant.
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.options.weight = Some(weight);
        self
    }
    pub fn ignore_index(mut self, ignore_index: Option<i64>) -> Self {
        self.options.ignore_index = ignore_index;
        self
    }
    pub fn label_smoothing(mut self, eps: f64) -> Self {
        self.options.label_smoothing = eps;
        self
    }
}

impl Loss for CrossEntropyLoss {
    fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        input.cross_entropy_with(target, &self.options)
    }
}

/// `torch.nn.NLLLoss(weight, ignore_index, reduction)` on log-probabilities (N, C).
#[derive(Clone, Debug, Default)]
pub struct NLLLoss {
    pub options: NllOptions,
}

impl NLLLoss {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.options.reduction = reduction;
        self
    }
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.options.weight = Some(weight);
        self
    }
    pub fn ignore_index(mut self, ignore_index: Option<i64>) -> Self {
        self.options.ignore_index = ignore_index;
        self
    }
}

impl Loss for NLLLoss {
    fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        input.nll_loss_with(target, &self.options)
    }
}

/// `torch.nn.MSELoss(reduction)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MSELoss {
    pub reduction: Reduction,
}

impl MSELoss {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

impl Loss for MSELoss {
    fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        input.mse_loss(target, self.reduction)
    }
}

/// `torch.nn.BCEWithLogitsLoss(weight, reduction, pos_weight)` on logits and targets in $[0, 1]$
/// of the same shape.
#[derive(Clone, Debug, Default)]
pub struct BCEWithLogitsLoss {
    pub reduction: Reduction,
    /// Element weights, broadcast to the input (a constant).
    pub weight: Option<Tensor>,
    /// Positive-class weights, broadcast to the input, usually (C) (a constant).
    pub pos_weight: Option<Tensor>,
}

impl BCEWithLogitsLoss {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.weight = Some(weight);
        self
    }
    pub fn pos_weight(mut self, pos_weight: Tensor) -> Self {
        self.pos_weight = Some(pos_weight);
        self
    }
}

impl Loss for BCEWithLogitsLoss {
    fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        input.binary_cross_entropy_with_logits(
            target,
            self.weight.as_ref(),
            self.pos_weight.as_ref(),
            self.reduction,
        )
    }
}
