//! Self-tests that use the whole engine: the CPU–CUDA agreement of every op ([`run`], behind
//! `glassgrad selftest` and `tests/cuda.rs`) and the gradcheck suite ([`suite`], behind
//! `glassgrad gradcheck` and `tests/gradcheck.rs`).

mod agreement;
mod check;
mod compare;
mod index;
mod norm;
mod sparse;
pub mod suite;

pub use crate::device::cuda::probe::skip_reason;
pub use agreement::run;
pub use check::Outcome;
