//! [`CudaData`]: the storage of a tensor on a CUDA device, a strided view of a pooled block.

use std::sync::Arc;

use ndarray::{ArcArray, IxDyn};

use super::alloc::DevElem;
use super::context::{Block, Gpu, dev_err};
use crate::error::{Error, Result};
use crate::tensor::{DType, Data};

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

    /// Copies host data to the device (made contiguous first).
    pub fn from_host(data: &Data, gpu: &Arc<Gpu>) -> Result<CudaData> {
        fn up<H: Copy, T: DevElem>(
            gpu: &Arc<Gpu>,
            a: &ArcArray<H, IxDyn>,
            dtype: DType,
            conv: impl Fn(H) -> T,
        ) -> Result<CudaData> {
            let host: Vec<T> = a.iter().map(|&v| conv(v)).collect();
            let mut block = gpu.alloc::<T>(host.len())?;
            if !host.is_empty() {
                let dst = block.slice_mut::<T>().ok_or_else(|| Error::Device {
                    op: "to(cuda)",
                    msg: "internal: fresh block of the wrong type".into(),
                })?;
                gpu.stream().memcpy_htod(&host, dst).map_err(dev_err("to(cuda)"))?;
            }
            Ok(CudaData::new(block, dtype, a.shape()))
        }
        match data {
            Data::F32(a) => up(gpu, a, DType::F32, |v| v),
            Data::F64(a) => up(gpu, a, DType::F64, |v| v),
            Data::I64(a) => up(gpu, a, DType::I64, |v| v),
            Data::Bool(a) => up(gpu, a, DType::Bool, u8::from),
            Data::Cuda(c) if c.ordinal() == gpu.ordinal() => Ok(c.clone()),
            Data::Cuda(c) => {
                let host = c.to_host()?;
                CudaData::from_host(&host, gpu)
            }
        }
    }

    /// Copies to host memory (waits for the queued kernels).
    pub fn to_host(&self) -> Result<Data> {
        let op = "to(cpu)";
        let c = super::ops::contiguous(self)?;
        let n = c.numel();
        fn down<T: DevElem>(c: &CudaData, n: usize) -> Result<Vec<T>> {
            if n == 0 {
                return Ok(Vec::new());
            }
            let s = c.slice::<T>("to(cpu)")?;
            c.gpu().stream().clone_dtoh(&s.slice(0..n)).map_err(dev_err("to(cpu)"))
        }
        let shape = IxDyn(&c.shape);
        let err = |e: ndarray::ShapeError| Error::shape(op, &c.shape, e.to_string());
        Ok(match c.dtype {
            DType::F32 => Data::F32(ArcArray::from_shape_vec(shape, down::<f32>(&c, n)?).map_err(err)?),
            DType::F64 => Data::F64(ArcArray::from_shape_vec(shape, down::<f64>(&c, n)?).map_err(err)?),
            DType::I64 => Data::I64(ArcArray::from_shape_vec(shape, down::<i64>(&c, n)?).map_err(err)?),
            DType::Bool => {
                let v: Vec<bool> = down::<u8>(&c, n)?.into_iter().map(|b| b != 0).collect();
                Data::Bool(ArcArray::from_shape_vec(shape, v).map_err(err)?)
            }
        })
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
    /// The same elements as `shape` (same count): a view when contiguous, else a copy.
    pub(crate) fn reshaped(&self, shape: &[usize]) -> Result<CudaData> {
        let mut c = super::ops::contiguous(self)?;
        c.shape = shape.to_vec();
        c.strides = standard_strides(shape);
        Ok(c)
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
