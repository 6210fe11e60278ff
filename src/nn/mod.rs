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

mod activation;
pub mod init;
mod linear;
mod module;
mod sequential;

pub use activation::{Flatten, Identity, ReLU, Sigmoid, Tanh};
pub use linear::Linear;
pub use module::{Mode, Module, named_modules};
pub use sequential::Sequential;
