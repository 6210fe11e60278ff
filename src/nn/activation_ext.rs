//! More activation modules, as `torch.nn`: [`GELU`], [`LeakyReLU`], [`ELU`], [`Softplus`],
//! [`SiLU`], [`Softmax`], [`LogSoftmax`].
//!
//! | module | forward | op (formulas and derivatives) |
//! |---|---|---|
//! | [`GELU`] | $x\,\Phi(x)$ (or the tanh approximation) | `ops/activation.rs` |
//! | [`LeakyReLU`] | $\max(x, 0) + a \min(x, 0)$ | `ops/activation.rs` |
//! | [`ELU`] | $x$ for $x > 0$, else $\alpha(e^x - 1)$ | `ops/activation.rs` |
//! | [`Softplus`] | $\frac1\beta \ln(1 + e^{\beta x})$ | `ops/activation.rs` |
//! | [`SiLU`] | $x\,\sigma(x)$ | `ops/activation.rs` |
//! | [`Softmax`] | $e^{x_i} / \sum_j e^{x_j}$ along `dim` | `ops/softmax.rs` |
//! | [`LogSoftmax`] | $x_i - \ln \sum_j e^{x_j}$ along `dim` | `ops/softmax.rs` |

use super::module::{Mode, Module};
use crate::error::Result;
use crate::ops::activation::GeluApprox;
use crate::tensor::Tensor;

/// `torch.nn.GELU(approximate=...)`.
#[derive(Clone, Default)]
pub struct GELU {
    pub approximate: GeluApprox,
    mode: Mode,
}

impl GELU {
    /// The exact GELU, $x\,\Phi(x)$.
    pub fn new() -> Self {
        Self::default()
    }
    /// `GELU(approximate="tanh")` when `approximate` is [`GeluApprox::Tanh`].
    pub fn with_approximate(approximate: GeluApprox) -> Self {
        GELU { approximate, mode: Mode::default() }
    }
}

impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.gelu(self.approximate)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

macro_rules! param_module {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $default:expr),* }, |$s:ident, $x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            $(pub $field: f64,)*
            mode: Mode,
        }
        impl $name {
            /// With the given hyperparameters.
            pub fn new($($field: f64),*) -> Self {
                $name { $($field,)* mode: Mode::default() }
            }
        }
        impl Default for $name {
            /// PyTorch's defaults.
            fn default() -> Self {
                $name::new($($default),*)
            }
        }
        impl Module for $name {
            fn forward(&self, $x: &Tensor) -> Result<Tensor> {
                let $s = self;
                $body
            }
            fn mode(&self) -> &Mode {
                &self.mode
            }
        }
    };
}

param_module!(
    /// `torch.nn.LeakyReLU(negative_slope=0.01)`.
    LeakyReLU { negative_slope: 0.01 }, |s, x| x.leaky_relu(s.negative_slope)
);
param_module!(
    /// `torch.nn.ELU(alpha=1.0)`.
    ELU { alpha: 1.0 }, |s, x| x.elu(s.alpha)
);
param_module!(
    /// `torch.nn.Softplus(beta=1.0, threshold=20.0)`.
    Softplus { beta: 1.0, threshold: 20.0 }, |s, x| x.softplus(s.beta, s.threshold)
);

/// `torch.nn.SiLU()`: $x\,\sigma(x)$.
#[derive(Clone, Default)]
pub struct SiLU {
    mode: Mode,
}

impl SiLU {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Module for SiLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.silu()
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// `torch.nn.Softmax(dim)`.
#[derive(Clone)]
pub struct Softmax {
    pub dim: isize,
    mode: Mode,
}

impl Softmax {
    pub fn new(dim: isize) -> Self {
        Softmax { dim, mode: Mode::default() }
    }
}

impl Module for Softmax {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.softmax(self.dim)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

/// `torch.nn.LogSoftmax(dim)`.
#[derive(Clone)]
pub struct LogSoftmax {
    pub dim: isize,
    mode: Mode,
}

impl LogSoftmax {
    pub fn new(dim: isize) -> Self {
        LogSoftmax { dim, mode: Mode::default() }
    }
}

impl Module for LogSoftmax {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.log_softmax(self.dim)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}
