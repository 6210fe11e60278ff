//! Neural-network building blocks, as `torch.nn`: the [`Module`] trait (named parameters with
//! PyTorch's `state_dict` names, train/eval mode), layers, activations, [`Sequential`], and
//! [`init`] (the initialisation formulas).
//!
//! | module | formula | file |
//! |---|---|---|
//! | [`Linear`] | $y = x W^\top + b$ | `nn/linear.rs` |
//! | [`ReLU`], [`Tanh`], [`Sigmoid`] | $\max(x,0)$, $\tanh x$, $1/(1+e^{-x})$ | `nn/activation.rs` |
//! | [`Identity`], [`Flatten`] | $x$; reshape $(N, \dots) \to (N, \prod \dots)$ | `nn/activation.rs` |
//! | [`Sequential`] | $f_n \circ \dots \circ f_1$ | `nn/sequential.rs` |
//! | [`Conv2d`], [`Conv1d`] | $y = b + w \star x$ (cross-correlation) | `nn/conv.rs` |
//! | [`MaxPool2d`], [`AvgPool2d`], [`AdaptiveAvgPool2d`] | max / mean over each window | `nn/conv.rs` |
//! | [`BatchNorm2d`] | $\gamma (x - \mu)/\sqrt{\sigma^2 + \varepsilon} + \beta$ per channel | `nn/batch_norm.rs` |

mod activation;
mod batch_norm;
mod conv;
pub mod init;
mod linear;
mod module;
mod sequential;

pub use activation::{Flatten, Identity, ReLU, Sigmoid, Tanh};
pub use batch_norm::BatchNorm2d;
pub use conv::{AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d};
pub use linear::Linear;
pub use module::{Mode, Module, named_modules};
pub use sequential::Sequential;
