//! Data: reading files ([`csv`]), and batching tensors for training ([`DataLoader`], like
//! PyTorch's `TensorDataset` + `DataLoader`).

pub mod csv;
pub mod dates;
mod loader;
pub mod market;
pub mod text;

pub use loader::{Batches, DataLoader};
