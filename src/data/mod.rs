//! Data: reading files ([`csv`]), data sets and batching ([`Dataset`], [`TensorDataset`],
//! [`DataLoader`], like PyTorch's), splits ([`split`]) and tabular preprocessing ([`tabular`]).

pub mod csv;
mod dataset;
pub mod dates;
pub mod gaf;
mod loader;
pub mod market;
pub mod split;
pub mod tabular;
pub mod text;

pub use dataset::{Dataset, TensorDataset};
pub use loader::{Batches, DataLoader};
