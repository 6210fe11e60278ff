//! Optimizers, as `torch.optim`: [`Sgd`], [`Adam`] and [`AdamW`] behind the [`Optimizer`] trait,
//! parameter groups ([`ParamGroups`]), learning-rate schedules ([`schedule`]), [`EarlyStopping`]
//! and [`clip_grad_norm`]; for row-sparse embedding gradients, [`SparseSgd`] and [`SparseAdam`].
//!
//! The training step reads as PyTorch's:
//!
//! ```
//! use glassgrad::nn::{Linear, Module};
//! use glassgrad::optim::{Optimizer, Sgd, SgdConfig};
//! use glassgrad::{DType, Generator, Tensor};
//! let mut rng = Generator::new(0);
//! let model = Linear::new(3, 1, true, DType::F64, &mut rng)?;
//! let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.1).momentum(0.9))?;
//! let (x, y) = (Tensor::randn(&[8, 3], DType::F64, &mut rng)?, Tensor::zeros(&[8, 1], DType::F64)?);
//! for _ in 0..3 {
//!     opt.zero_grad();
//!     let loss = model.forward(&x)?.sub(&y)?.pow(2.0)?.mean()?;
//!     loss.backward()?;
//!     opt.step()?;
//! }
//! # Ok::<(), glassgrad::Error>(())
//! ```
//!
//! Every update is elementwise, written in the parameter's own dtype, with the coefficients
//! rounded to that dtype as PyTorch's CPU kernels do; it runs in place through
//! [`Tensor::update_data`](crate::tensor::Tensor::update_data) (copy-on-write storage: a buffer shared with another tensor, e.g. a
//! `detach()`ed copy, is copied before it is written). The tape keeps snapshots of what backward
//! reads, so even a step between a forward pass and its backward leaves that backward unchanged.
//! Large tensors are updated with rayon, which changes nothing in the result: each
//! element's update depends on that element alone. A parameter without a gradient is skipped and
//! its state does not advance, as in PyTorch.

mod adam;
mod adamw;
mod clip;
#[cfg(feature = "cuda")]
mod cuda;
mod early_stopping;
mod groups;
mod optimizer;
pub mod schedule;
mod sgd;
mod sparse;

pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use clip::clip_grad_norm;
pub use early_stopping::{EarlyStopping, Monitor, StopDecision};
pub use groups::ParamGroups;
pub use optimizer::Optimizer;
pub use schedule::{
    CosineAnnealingLr, LinearLr, LrScheduler, MetricMode, ReduceLrOnPlateau, StepLr, ThresholdMode,
};
pub use sgd::{Sgd, SgdConfig};
pub use sparse::{SparseAdam, SparseAdamConfig, SparseSgd, sgd_sparse_step};
