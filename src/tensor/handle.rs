//! The [`Tensor`] handle: an n-dimensional array of `f32`, `f64`, `i64` or `bool` on a device
//! ([`Data`]), with the autograd bookkeeping that makes it differentiable: whether it requires a
//! gradient, its accumulated gradient (dense, or row-sparse for embedding tables), and the recorded
//! [`Node`] that made it. Recording and the backward pass are `autograd`'s; ops (in `ops/`) are
//! inherent methods added there.
//!
//! Storage is an `ndarray::ArcArray`, so cloning a tensor, and the views `reshape` (of a contiguous
//! tensor), `transpose`, `permute`, `narrow` and `broadcast_to` share one buffer. Writes (optimizer
//! steps) are copy-on-write: a tensor saved for backward never changes underneath the tape.

use ndarray::{ArcArray, IxDyn};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

#[cfg(feature = "cuda")]
use super::storage::no_cuda_kernel;
use super::storage::{Data, Element};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The gradient formula of one recorded op: given the gradient of every output, returns the
/// gradient of every input (`None` where the input needs none).
pub type BackwardFn = Box<dyn FnOnce(&[Tensor]) -> Result<Vec<Option<Tensor>>> + Send>;

/// One recorded op in the graph.
pub struct Node {
    pub(crate) op: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    /// Shape and dtype of each output, to make zero gradients for outputs that received none.
    pub(crate) outputs: Vec<(Vec<usize>, DType, Device)>,
    /// The gradient formula, taken (and so freed) by the one backward pass that runs it.
    pub(crate) backward: Mutex<Option<BackwardFn>>,
}

/// A row-sparse gradient of a $(V \times D)$ table: `values[k, :]` is the gradient of row
/// `rows[k]`; every other row's gradient is zero.
#[derive(Clone, Debug)]
pub struct SparseGrad {
    /// The touched row ids, sorted and unique.
    pub rows: Vec<i64>,
    /// Their gradients, `(rows.len(), D)`, same dtype as the table.
    pub values: Tensor,
}

pub(crate) struct Inner {
    pub(crate) data: RwLock<Data>,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) grad: Mutex<Option<Tensor>>,
    /// Row-sparse gradient of an embedding table (see `ops::embedding`).
    pub(crate) sparse_grad: Mutex<Option<SparseGrad>>,
    /// The op that made this tensor and which of its outputs it is; `None` for leaves.
    pub(crate) grad_fn: Option<(Arc<Node>, usize)>,
}

/// An n-dimensional array with reverse-mode autograd. Cloning is cheap and shares everything
/// (storage, gradient, graph position), like a Python reference to a `torch.Tensor`.
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

impl Tensor {
    /// A leaf tensor holding `data`.
    pub fn from_data(data: Data) -> Tensor {
        Tensor(Arc::new(Inner {
            data: RwLock::new(data),
            requires_grad: AtomicBool::new(false),
            grad: Mutex::new(None),
            sparse_grad: Mutex::new(None),
            grad_fn: None,
        }))
    }

    /// A non-leaf tensor, output `index` of `node`.
    pub(crate) fn from_node(data: Data, node: Arc<Node>, index: usize) -> Tensor {
        Tensor(Arc::new(Inner {
            data: RwLock::new(data),
            requires_grad: AtomicBool::new(true),
            grad: Mutex::new(None),
            sparse_grad: Mutex::new(None),
            grad_fn: Some((node, index)),
        }))
    }

    /// A leaf from an `ndarray` array (any dimensionality).
    pub fn from_array<T: Element, D: ndarray::Dimension>(a: ndarray::Array<T, D>) -> Tensor {
        Tensor::from_data(T::wrap(a.into_dyn().into_shared()))
    }

    /// The storage (a cheap, shared clone).
    pub fn data(&self) -> Data {
        // ok: the lock is never held across a panic inside glassgrad; a poisoned lock still holds valid data.
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The values as an `ndarray` array of type `T` (shared, no copy).
    pub fn array<T: Element>(&self, op: &'static str) -> Result<ArcArray<T, IxDyn>> {
        Ok(self.data().typed::<T>(op)?.clone())
    }

    /// Replaces the values in place (same shape and dtype), as an optimizer step does. The tape is
    /// unaffected: tensors saved for backward keep the old values (copy-on-write storage).
    ///
    /// Data from another device is copied to this tensor's device first (as PyTorch's
    /// `load_state_dict` copies into parameters wherever they live); use [`Tensor::move_to`] to
    /// change where a tensor lives.
    pub fn set_data(&self, data: Data) -> Result<()> {
        let here = self.device();
        let data = if data.device() == here { data } else { data.to_device(&here)? };
        let mut guard = self.0.data.write().unwrap_or_else(|e| e.into_inner());
        if guard.shape() != data.shape() || guard.dtype() != data.dtype() {
            return Err(Error::mismatch(
                "set_data",
                guard.shape(),
                data.shape(),
                format!("dtype {} vs {}", guard.dtype(), data.dtype()),
            ));
        }
        *guard = data;
        Ok(())
    }

    /// Moves a leaf tensor's values to `device` in place (the same handle then lives there), as
    /// `Module::to_device` does to parameters. Its gradient, which lives on the old device, is
    /// dropped; `requires_grad` is kept. A no-op when already there; an error for a non-leaf
    /// (move a non-leaf with [`Tensor::to`], which is differentiable).
    pub fn move_to(&self, device: &Device) -> Result<()> {
        if self.device() == *device {
            return Ok(());
        }
        if !self.is_leaf() {
            return Err(Error::Autograd {
                op: "move_to",
                msg: "only leaf tensors can move in place; use .to(&device) for a differentiable copy".into(),
            });
        }
        let moved = self.data().to_device(device)?;
        *self.0.data.write().unwrap_or_else(|e| e.into_inner()) = moved;
        self.zero_grad();
        Ok(())
    }

    /// Runs `f` on the device storage of a CUDA tensor under the write lock (the optimizers'
    /// in-place updates on a GPU). `f` must keep the shape and dtype and must not write into a
    /// block that another tensor may hold (see `cuda::optim`, which copies a shared block first).
    #[cfg(feature = "cuda")]
    pub(crate) fn update_cuda_data<R>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut crate::device::cuda::CudaData) -> Result<R>,
    ) -> Result<R> {
        let mut guard = self.0.data.write().unwrap_or_else(|e| e.into_inner());
        match &mut *guard {
            Data::Cuda(c) => f(c),
            other => Err(Error::Device {
                op,
                msg: format!("internal: expected a CUDA tensor, found one on {}", other.device()),
            }),
        }
    }

    /// Applies `f` to the values of a float tensor in place (copy-on-write).
    pub fn update_data<F32F, F64F>(&self, op: &'static str, f32f: F32F, f64f: F64F) -> Result<()>
    where
        F32F: FnOnce(&mut ArcArray<f32, IxDyn>),
        F64F: FnOnce(&mut ArcArray<f64, IxDyn>),
    {
        let mut guard = self.0.data.write().unwrap_or_else(|e| e.into_inner());
        match &mut *guard {
            Data::F32(a) => f32f(a),
            Data::F64(a) => f64f(a),
            #[cfg(feature = "cuda")]
            Data::Cuda(_) => return Err(no_cuda_kernel(op)),
            other => {
                return Err(Error::UnsupportedDType {
                    op,
                    dtype: other.dtype(),
                    shape: other.shape().to_vec(),
                    expected: "f32 or f64",
                });
            }
        }
        Ok(())
    }

    pub fn shape(&self) -> Vec<usize> {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).shape().to_vec()
    }
    /// The number of dimensions (rank).
    pub fn dims(&self) -> usize {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).shape().len()
    }
    /// The size of dimension `dim` (negative counts from the end).
    pub fn size(&self, dim: isize) -> Result<usize> {
        let shape = self.shape();
        let d = crate::device::shape::normalize_dim("size", dim, &shape)?;
        Ok(shape[d])
    }
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }
    pub fn dtype(&self) -> DType {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).dtype()
    }
    pub fn device(&self) -> Device {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).device()
    }
    pub fn is_contiguous(&self) -> bool {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).is_contiguous()
    }

    /// The values in row-major order. `T` must be the tensor's dtype.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let data = self.data().to_host()?;
        let a = data.typed::<T>("to_vec")?;
        // A contiguous array is one copy; only a strided view walks its elements.
        Ok(match a.as_slice() {
            Some(s) => s.to_vec(),
            None => a.iter().copied().collect(),
        })
    }
    /// The values in row-major order, converted to f64 whatever the dtype.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.data().to_f64_vec()
    }
    /// The single value of a one-element tensor, as f64.
    pub fn item(&self) -> Result<f64> {
        let d = self.data();
        if d.shape().iter().product::<usize>() != 1 {
            return Err(Error::shape("item", d.shape(), "item() needs exactly one element"));
        }
        Ok(d.to_host()?.to_f64_vec()[0])
    }

    // ---------------------------------------------------------------- autograd bookkeeping

    /// Whether gradients flow to (a leaf) or through (a non-leaf) this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// Marks a leaf as a parameter whose gradient is wanted (or freezes it with `false`).
    /// Only float leaves can require gradients.
    pub fn set_requires_grad(&self, on: bool) -> Result<()> {
        if self.0.grad_fn.is_some() {
            return Err(Error::Autograd {
                op: "set_requires_grad",
                msg: "only leaf tensors can change requires_grad; use detach() first".into(),
            });
        }
        if on && !self.dtype().is_float() {
            return Err(Error::UnsupportedDType {
                op: "set_requires_grad",
                dtype: self.dtype(),
                shape: self.shape(),
                expected: "f32 or f64 (only float tensors have gradients)",
            });
        }
        self.0.requires_grad.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// Builder form of [`Tensor::set_requires_grad`]`(true)`.
    pub fn requires_grad_(self) -> Result<Tensor> {
        self.set_requires_grad(true)?;
        Ok(self)
    }

    /// True for tensors not produced by a recorded op.
    pub fn is_leaf(&self) -> bool {
        self.0.grad_fn.is_none()
    }

    /// The name of the op that produced this tensor, if it was recorded.
    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.0.grad_fn.as_ref().map(|(n, _)| n.op)
    }

    pub(crate) fn grad_fn(&self) -> Option<&(Arc<Node>, usize)> {
        self.0.grad_fn.as_ref()
    }

    /// The accumulated gradient of a leaf, if backward has reached it.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the accumulated gradient, dense and row-sparse (PyTorch's
    /// `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = None;
        *self.0.sparse_grad.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Sets the gradient (used by gradient clipping and by tests).
    pub fn set_grad(&self, grad: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = grad;
    }

    /// A new leaf sharing this tensor's storage, cut from the graph.
    pub fn detach(&self) -> Tensor {
        Tensor::from_data(self.data())
    }

    /// True when both handles are the same tensor.
    pub fn same(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// True when both tensors read the same underlying buffer (views of one storage).
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        fn ptr(d: &Data) -> (*const u8, usize) {
            match d {
                Data::F32(a) => (a.as_ptr() as *const u8, a.len() * 4),
                Data::F64(a) => (a.as_ptr() as *const u8, a.len() * 8),
                Data::I64(a) => (a.as_ptr() as *const u8, a.len() * 8),
                Data::Bool(a) => (a.as_ptr() as *const u8, a.len()),
                #[cfg(feature = "cuda")]
                Data::Cuda(c) => (std::sync::Arc::as_ptr(&c.block) as *const u8, 1),
            }
        }
        // Views of one ArcArray share the allocation; compare the allocation ranges loosely by
        // checking whether either pointer falls inside the other's span.
        let (pa, la) = ptr(&self.data());
        let (pb, lb) = ptr(&other.data());
        let (a0, a1) = (pa as usize, pa as usize + la.max(1));
        let (b0, b1) = (pb as usize, pb as usize + lb.max(1));
        a0 < b1 && b0 < a1
    }
}

impl Drop for Node {
    /// Frees a long chain of nodes iteratively: the default recursive drop would use one stack
    /// frame per op and overflow on graphs thousands of ops deep (an RNN over a long sequence).
    fn drop(&mut self) {
        let mut stack: Vec<Tensor> = std::mem::take(&mut self.inputs);
        while let Some(t) = stack.pop() {
            if let Ok(inner) = Arc::try_unwrap(t.0)
                && let Some((node, _)) = inner.grad_fn
                && let Ok(mut node) = Arc::try_unwrap(node)
            {
                stack.append(&mut node.inputs);
            }
        }
    }
}
