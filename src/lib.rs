//! # glassgrad
//!
//! A deep-learning engine in which every kernel is a formula that can be read, verified, stepped
//! through and timed.

pub mod autograd;
pub mod bench;
pub mod device;
pub mod error;
pub mod ops;
pub mod rng;
pub mod tensor;

pub use autograd::{gradcheck, no_grad};
pub use device::Device;
pub use error::{Error, Result};
pub use rng::{Generator, manual_seed};
pub use tensor::{DType, Tensor};
