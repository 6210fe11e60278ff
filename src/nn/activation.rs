//! Parameter-free modules: elementwise activations, `Identity` and `Flatten`.
//!
//! | module | forward | derivative |
//! |---|---|---|
//! | [`ReLU`] | $\max(x, 0)$ | $\mathbb 1_{x > 0}$ |
//! | [`Tanh`] | $\tanh x$ | $1 - \tanh^2 x$ |
//! | [`Sigmoid`] | $\sigma(x) = 1/(1 + e^{-x})$ | $\sigma(x)(1 - \sigma(x))$ |
//! | [`Identity`] | $x$ | $1$ |
//! | [`Flatten`] | dims `start..=end` merged into one | the reshape back |
//!
//! The formulas live with the ops (`ops/unary.rs`, `ops/shape.rs`); these wrap them as modules
//! so that they can sit in a [`Sequential`](super::Sequential).

use super::module::{Mode, Module};
use crate::error::Result;
use crate::tensor::Tensor;

macro_rules! elementwise_module {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Clone, Default)]
        pub struct $name {
            mode: Mode,
        }
        impl $name {
            pub fn new() -> Self {
                Self::default()
            }
        }
        impl Module for $name {
            fn forward(&self, $x: &Tensor) -> Result<Tensor> {
                $body
            }
            fn mode(&self) -> &Mode {
                &self.mode
            }
        }
    };
}

elementwise_module!(
    /// $\max(x, 0)$, `torch.nn.ReLU`.
    ReLU, |x| x.relu()
);
elementwise_module!(
    /// $\tanh x$, `torch.nn.Tanh`.
    Tanh, |x| x.tanh()
);
elementwise_module!(
    /// $1/(1 + e^{-x})$, `torch.nn.Sigmoid`.
    Sigmoid, |x| x.sigmoid()
);
elementwise_module!(
    /// Returns its input (a placeholder, `torch.nn.Identity`).
    Identity, |x| Ok(x.clone())
);

/// Merges dimensions `start_dim..=end_dim` into one, `torch.nn.Flatten` (defaults 1 and −1: keeps
/// the batch dimension, flattens the rest).
#[derive(Clone)]
pub struct Flatten {
    pub start_dim: isize,
    pub end_dim: isize,
    mode: Mode,
}

impl Flatten {
    /// `Flatten(start_dim=1, end_dim=-1)`.
    pub fn new() -> Self {
        Flatten::with_dims(1, -1)
    }
    pub fn with_dims(start_dim: isize, end_dim: isize) -> Self {
        Flatten { start_dim, end_dim, mode: Mode::default() }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten::new()
    }
}

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.flatten(self.start_dim, self.end_dim)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}
