//! [`CudaData`]: the storage of a tensor on a CUDA device, a strided view of a pooled block.

use std::sync::Arc;

use super::alloc::DevElem;
use super::context::{Block, Gpu, dev_err};
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Rank limit of the strided kernels (`GG_MAX_DIMS` in `kernels/common.cuh`).
pub(crate) const MAX_DIMS: usize = 8;

/// The `Layout` struct of `kernels/common.cuh`: shape, element strides and offset of a view, passed
/// to kernels by value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct KLayout {
    pub ndim: i32,
    pub shape: [i64; MAX_DIMS],
    pub strides: [i64; MAX_DIMS],
    pub offset: i64,
}

// SAFETY: plain old data with the same `repr(C)` layout as the CUDA struct.
unsafe impl cudarc::driver::DeviceRepr for KLayout {}

/// A tensor's values on a GPU: a pooled block and a strided view of it (shape, element strides,
/// offset), like an `ndarray` view of a shared buffer. Cloning shares the block.
#[derive(Clone)]
pub struct CudaData {
    pub(crate) block: Arc<Block>,
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
    pub(crate) strides: Vec<isize>,
    pub(crate) offset: usize,
}

impl std::fmt::Debug for CudaData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaData(cuda:{}, {}, {:?})", self.ordinal(), self.dtype.name(), self.shape)
    }
}

/// Row-major strides of `shape`.
pub(crate) fn standard_strides(shape: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc *= shape[d].max(1) as isize;
    }
    s
}

impl CudaData {
    /// A fresh contiguous tensor of `shape` in `block`.
    pub(crate) fn new(block: Block, dtype: DType, shape: &[usize]) -> CudaData {
        CudaData {
            block: Arc::new(block),
            dtype,
            shape: shape.to_vec(),
            strides: standard_strides(shape),
            offset: 0,
        }
    }
    /// The device this lives on.
    pub fn gpu(&self) -> &Arc<Gpu> {
        self.block.gpu()
    }
    /// The device ordinal.
    pub fn ordinal(&self) -> usize {
        self.gpu().ordinal()
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Row-major with no gaps and no offset.
    pub fn is_contiguous(&self) -> bool {
        self.offset == 0 && self.strides_are_standard()
    }
    fn strides_are_standard(&self) -> bool {
        let std = standard_strides(&self.shape);
        self.shape.iter().zip(self.strides.iter().zip(&std)).all(|(&n, (&s, &t))| n <= 1 || s == t)
    }
    /// The typed buffer, or an error naming `op`.
    pub(crate) fn slice<T: DevElem>(&self, op: &'static str) -> Result<&cudarc::driver::CudaSlice<T>> {
        self.block.slice::<T>().ok_or_else(|| Error::Device {
            op,
            msg: format!("internal: a {} tensor's buffer is not {}", self.dtype.name(), T::NAME),
        })
    }
    /// The kernel `Layout` of this view read as `shape` (the same shape, or a broadcast of it: size-1
    /// and missing leading dimensions get stride 0).
    pub(crate) fn layout_as(&self, op: &'static str, shape: &[usize]) -> Result<KLayout> {
        if shape.len() > MAX_DIMS {
            return Err(Error::shape(op, shape, format!("CUDA kernels take at most {MAX_DIMS} dimensions")));
        }
        if self.shape.len() > shape.len() {
            return Err(Error::mismatch(op, &self.shape, shape, "cannot broadcast"));
        }
        let lead = shape.len() - self.shape.len();
        let mut l = KLayout {
            ndim: shape.len() as i32,
            shape: [1; MAX_DIMS],
            strides: [0; MAX_DIMS],
            offset: self.offset as i64,
        };
        for (d, &n) in shape.iter().enumerate() {
            l.shape[d] = n as i64;
            if d >= lead {
                let own = self.shape[d - lead];
                if own == n {
                    l.strides[d] = self.strides[d - lead] as i64;
                } else if own != 1 {
                    return Err(Error::mismatch(op, &self.shape, shape, "cannot broadcast"));
                }
            }
        }
        Ok(l)
    }

    /// A fresh contiguous tensor of `shape` on `gpu` holding `host` (row-major; `dtype` names
    /// what the elements are: `bool` travels as `u8`).
    pub(crate) fn upload<T: DevElem>(
        gpu: &Arc<Gpu>,
        host: &[T],
        dtype: DType,
        shape: &[usize],
    ) -> Result<CudaData> {
        let op = "to(cuda)";
        if host.len() != shape.iter().product::<usize>() {
            return Err(Error::shape(op, shape, format!("{} host values for this shape", host.len())));
        }
        let mut block = gpu.alloc::<T>(host.len())?;
        if !host.is_empty() {
            let dst = block
                .slice_mut::<T>()
                .ok_or_else(|| Error::Device { op, msg: "internal: fresh block of the wrong type".into() })?;
            gpu.stream().memcpy_htod(host, dst).map_err(dev_err(op))?;
        }
        Ok(CudaData::new(block, dtype, shape))
    }

    /// A 1-D i64 tensor on `gpu` (indices, targets).
    pub(crate) fn upload_i64(gpu: &Arc<Gpu>, v: &[i64]) -> Result<CudaData> {
        CudaData::upload(gpu, v, DType::I64, &[v.len()])
    }

    /// A 1-D float tensor of `dtype` (f64, else f32: each value rounded once) on `gpu`.
    pub(crate) fn upload_floats(gpu: &Arc<Gpu>, dtype: DType, v: &[f64]) -> Result<CudaData> {
        match dtype {
            DType::F64 => CudaData::upload(gpu, v, DType::F64, &[v.len()]),
            _ => CudaData::upload(
                gpu,
                &v.iter().map(|&a| a as f32).collect::<Vec<f32>>(),
                DType::F32,
                &[v.len()],
            ),
        }
    }

    // ---- views (no copy) ----

    /// A view with dimensions reordered by `perm`.
    pub(crate) fn permuted(&self, perm: &[usize]) -> CudaData {
        let mut v = self.clone();
        v.shape = perm.iter().map(|&p| self.shape[p]).collect();
        v.strides = perm.iter().map(|&p| self.strides[p]).collect();
        v
    }
    /// `len` entries of dimension `dim` from `start`.
    pub(crate) fn narrowed(&self, dim: usize, start: usize, len: usize) -> CudaData {
        let mut v = self.clone();
        if len > 0 {
            v.offset = (self.offset as isize + start as isize * self.strides[dim]) as usize;
        }
        v.shape[dim] = len;
        v
    }
    /// `shape` with stride 0 along broadcast dimensions (a view; the caller checked the shapes).
    pub(crate) fn broadcast_view(&self, op: &'static str, shape: &[usize]) -> Result<CudaData> {
        let l = self.layout_as(op, shape)?;
        let mut v = self.clone();
        v.shape = shape.to_vec();
        v.strides = (0..shape.len()).map(|d| l.strides[d] as isize).collect();
        Ok(v)
    }
}

/// A reduction over `dims` (sorted, distinct) laid out as an (m, k) matrix: the input viewed with
/// the kept dimensions first and the reduced ones last (in their order), so that row $r$ holds
/// the k reduced elements of output $r$ (row-major over the kept dimensions) and column $j$ is
/// their row-major position among the reduced dimensions.
pub(crate) struct ReductionView {
    pub view: CudaData,
    pub m: usize,
    pub k: usize,
    /// The output shape: the kept dimensions, with the reduced ones as size 1 when `keepdim`.
    pub out_shape: Vec<usize>,
}

impl CudaData {
    /// This tensor read as the (m, k) matrix of a reduction over `dims` (a view, no copy).
    pub(crate) fn reduction_view(&self, dims: &[usize], keepdim: bool) -> ReductionView {
        let x = self;
        let rank = x.shape.len();
        let mut perm: Vec<usize> = (0..rank).filter(|d| !dims.contains(d)).collect();
        perm.extend_from_slice(dims);
        let m: usize = (0..rank).filter(|d| !dims.contains(d)).map(|d| x.shape[d]).product();
        let k: usize = dims.iter().map(|&d| x.shape[d]).product();
        let out_shape: Vec<usize> = (0..rank)
            .filter_map(|d| if dims.contains(&d) { keepdim.then_some(1) } else { Some(x.shape[d]) })
            .collect();
        ReductionView { view: x.permuted(&perm), m, k, out_shape }
    }
}
