//! Data: batching tensors for training ([`DataLoader`], like PyTorch's `TensorDataset` +
//! `DataLoader`).

mod loader;

pub use loader::{Batches, DataLoader};
