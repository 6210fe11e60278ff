//! Reverse-mode automatic differentiation, define-by-run.
//!
//! Every op that has a float input requiring a gradient records a [`Node`](crate::tensor::Node) on the fly: its inputs
//! and a closure holding what its backward formula needs. `backward` walks the nodes in reverse
//! topological order, calls each closure with the gradients of the node's outputs (the
//! vector–Jacobian product), and accumulates (`+=`) the results into the inputs' gradients.
//!
//! Gradients are **first order**: backward closures run under [`no_grad`], so the gradient of a
//! gradient is not recorded. The graph is freed as backward consumes it (PyTorch's default,
//! `retain_graph=False`): a second backward through the same nodes is an error.

mod grad_mode;
mod gradcheck;
mod tape;

pub use grad_mode::{NoGradGuard, is_grad_enabled, no_grad};
pub use gradcheck::{GradcheckReport, gradcheck, gradcheck_with};
pub(crate) use tape::{record, record_multi};
