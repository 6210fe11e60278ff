//! Tensors: the [`Tensor`] handle (`handle.rs`: values, gradient, place in the graph), its
//! storage [`Data`] with the element traits and dispatch macros (`storage.rs`), creation
//! (`create.rs`) and printing (`display.rs`). The ops are inherent methods of [`Tensor`] defined
//! in `ops/`; recording and backward are `autograd`'s.

mod create;
mod display;
pub mod handle;
pub mod storage;

pub use crate::dtype::DType;
pub use handle::{BackwardFn, Node, SparseGrad, Tensor};
pub use storage::{Data, Element, Float, no_cuda_kernel};
