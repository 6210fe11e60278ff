//! The storage of a tensor: [`Data`] (the values, on the CPU as an `ndarray` array of one of the
//! four element types, or on a CUDA device as a `CudaData` (`device::cuda`, feature `cuda`)), the
//! element traits [`Element`] and [`Float`], and the dispatch macros that run one piece of code
//! for whichever element type a `Data` holds. No autograd here: the handle that carries the graph
//! is [`Tensor`](super::Tensor) in `handle.rs`.

use ndarray::{ArcArray, IxDyn};
use std::fmt::{Debug, Display};

use crate::device::Device;
use crate::device::cpu::float::CpuFloat;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The type-erased CPU storage of a tensor.
#[derive(Clone, Debug)]
pub enum Data {
    F32(ArcArray<f32, IxDyn>),
    F64(ArcArray<f64, IxDyn>),
    I64(ArcArray<i64, IxDyn>),
    Bool(ArcArray<bool, IxDyn>),
    /// Values on a CUDA device (crate feature `cuda`): a strided view of a pooled device block.
    #[cfg(feature = "cuda")]
    Cuda(crate::device::cuda::CudaData),
}

/// Runs `$body` with `$a` bound to the concrete array of a float `Data`, and wraps the resulting
/// array back into `Data`; any other dtype is an [`Error::UnsupportedDType`] naming `$op`.
#[macro_export]
#[doc(hidden)]
macro_rules! map_float {
    ($data:expr, $op:expr, |$a:ident| $body:expr) => {
        match $data {
            $crate::tensor::storage::Data::F32($a) => $crate::tensor::storage::Data::F32($body),
            $crate::tensor::storage::Data::F64($a) => $crate::tensor::storage::Data::F64($body),
            #[cfg(feature = "cuda")]
            $crate::tensor::storage::Data::Cuda(_) => {
                return Err($crate::tensor::storage::no_cuda_kernel($op))
            }
            other => {
                return Err($crate::error::Error::UnsupportedDType {
                    op: $op,
                    dtype: other.dtype(),
                    shape: other.shape().to_vec(),
                    expected: "f32 or f64",
                })
            }
        }
    };
}

/// Like [`map_float!`] for every dtype (numeric code that also makes sense for i64 and bool).
#[macro_export]
#[doc(hidden)]
macro_rules! map_any {
    ($data:expr, |$a:ident| $body:expr) => {
        match $data {
            #[cfg(feature = "cuda")]
            $crate::tensor::storage::Data::Cuda(_) => {
                return Err($crate::tensor::storage::no_cuda_kernel("tensor op"))
            }
            $crate::tensor::storage::Data::F32($a) => $crate::tensor::storage::Data::F32($body),
            $crate::tensor::storage::Data::F64($a) => $crate::tensor::storage::Data::F64($body),
            $crate::tensor::storage::Data::I64($a) => $crate::tensor::storage::Data::I64($body),
            $crate::tensor::storage::Data::Bool($a) => $crate::tensor::storage::Data::Bool($body),
        }
    };
}

/// The error of an op that has no CUDA kernel yet, given a CUDA tensor.
pub fn no_cuda_kernel(op: &'static str) -> Error {
    Error::Device {
        op,
        msg: "this op has no CUDA kernel yet; move the tensor to the CPU with .to(&Device::Cpu)".into(),
    }
}

impl Data {
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
            Data::I64(_) => DType::I64,
            Data::Bool(_) => DType::Bool,
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => c.dtype(),
        }
    }
    pub fn shape(&self) -> &[usize] {
        match self {
            Data::F32(a) => a.shape(),
            Data::F64(a) => a.shape(),
            Data::I64(a) => a.shape(),
            Data::Bool(a) => a.shape(),
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => c.shape(),
        }
    }
    /// Where the values live.
    pub fn device(&self) -> Device {
        match self {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => Device::Cuda(c.ordinal()),
            _ => Device::Cpu,
        }
    }
    /// True when the elements lie in row-major order with no gaps.
    pub fn is_contiguous(&self) -> bool {
        match self {
            Data::F32(a) => a.is_standard_layout(),
            Data::F64(a) => a.is_standard_layout(),
            Data::I64(a) => a.is_standard_layout(),
            Data::Bool(a) => a.is_standard_layout(),
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => c.is_contiguous(),
        }
    }
    /// The same values in a fresh row-major buffer (a cheap clone when already contiguous). On a
    /// GPU, a failed copy keeps the strided view (kernels read views through their strides).
    pub fn contiguous(&self) -> Data {
        if self.is_contiguous() {
            return self.clone();
        }
        match self {
            Data::F32(a) => Data::F32(a.as_standard_layout().into_owned().into_shared()),
            Data::F64(a) => Data::F64(a.as_standard_layout().into_owned().into_shared()),
            Data::I64(a) => Data::I64(a.as_standard_layout().into_owned().into_shared()),
            Data::Bool(a) => Data::Bool(a.as_standard_layout().into_owned().into_shared()),
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => {
                crate::device::cuda::copy::contiguous(c).map(Data::Cuda).unwrap_or_else(|_| self.clone())
            }
        }
    }
    /// The host copy of device data (`self` when already on the CPU).
    pub fn to_host(&self) -> Result<Data> {
        match self {
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => cuda_to_host(c),
            _ => Ok(self.clone()),
        }
    }
    /// The array of element type `T`, or a dtype error naming `op` (a device error for GPU data:
    /// CPU code never reads device memory by accident).
    pub fn typed<T: Element>(&self, op: &'static str) -> Result<&ArcArray<T, IxDyn>> {
        #[cfg(feature = "cuda")]
        if let Data::Cuda(_) = self {
            return Err(no_cuda_kernel(op));
        }
        T::unwrap(self).ok_or_else(|| Error::UnsupportedDType {
            op,
            dtype: self.dtype(),
            shape: self.shape().to_vec(),
            expected: T::DTYPE.name(),
        })
    }
    /// All elements in row-major order, converted to f64.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        fn conv<T: Element>(a: &ArcArray<T, IxDyn>) -> Vec<f64> {
            a.iter().map(|v| v.to_f64()).collect()
        }
        match self {
            Data::F32(a) => conv(a),
            Data::F64(a) => conv(a),
            Data::I64(a) => conv(a),
            Data::Bool(a) => conv(a),
            // A device that fails to copy back has failed for good (a sticky CUDA error); the
            // values are then unknown, and NaN says so rather than a plausible number.
            #[cfg(feature = "cuda")]
            Data::Cuda(c) => match cuda_to_host(c) {
                Ok(h) => h.to_f64_vec(),
                Err(e) => {
                    eprintln!("glassgrad: copying a CUDA tensor to the host failed: {e}");
                    vec![f64::NAN; c.numel()]
                }
            },
        }
    }
}

impl Data {
    /// These values on `device` (a cheap clone when they are already there).
    pub fn to_device(&self, device: &Device) -> Result<Data> {
        let data = self;
        if data.device() == *device {
            return Ok(data.clone());
        }
        match device {
            Device::Cpu => data.to_host(),
            #[cfg(feature = "cuda")]
            Device::Cuda(n) => Ok(Data::Cuda(data.to_cuda(&crate::device::cuda::gpu(*n)?)?)),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => {
                Err(Error::Device { op: "to", msg: "glassgrad was built without the `cuda` feature".into() })
            }
        }
    }
}

#[cfg(feature = "cuda")]
impl Data {
    /// A copy of these values on `gpu` (the same storage when already there; another GPU's values
    /// travel through the host).
    pub fn to_cuda(
        &self,
        gpu: &std::sync::Arc<crate::device::cuda::Gpu>,
    ) -> Result<crate::device::cuda::CudaData> {
        use crate::device::cuda::CudaData;
        fn up<T: Element>(a: &ArcArray<T, IxDyn>) -> Vec<T> {
            a.iter().copied().collect()
        }
        match self {
            Data::F32(a) => CudaData::upload(gpu, &up(a), DType::F32, a.shape()),
            Data::F64(a) => CudaData::upload(gpu, &up(a), DType::F64, a.shape()),
            Data::I64(a) => CudaData::upload(gpu, &up(a), DType::I64, a.shape()),
            Data::Bool(a) => {
                let bytes: Vec<u8> = a.iter().map(|&b| u8::from(b)).collect();
                CudaData::upload(gpu, &bytes, DType::Bool, a.shape())
            }
            Data::Cuda(c) if c.ordinal() == gpu.ordinal() => Ok(c.clone()),
            Data::Cuda(c) => cuda_to_host(c)?.to_cuda(gpu),
        }
    }
}

/// The host copy of device values (waits for the queued kernels).
#[cfg(feature = "cuda")]
fn cuda_to_host(c: &crate::device::cuda::CudaData) -> Result<Data> {
    let shape = IxDyn(c.shape());
    let err = |e: ndarray::ShapeError| Error::shape("to(cpu)", c.shape(), e.to_string());
    Ok(match c.dtype() {
        DType::F32 => Data::F32(ArcArray::from_shape_vec(shape, c.download::<f32>()?).map_err(err)?),
        DType::F64 => Data::F64(ArcArray::from_shape_vec(shape, c.download::<f64>()?).map_err(err)?),
        DType::I64 => Data::I64(ArcArray::from_shape_vec(shape, c.download::<i64>()?).map_err(err)?),
        DType::Bool => {
            let v: Vec<bool> = c.download::<u8>()?.into_iter().map(|b| b != 0).collect();
            Data::Bool(ArcArray::from_shape_vec(shape, v).map_err(err)?)
        }
    })
}

/// A type a tensor can hold.
pub trait Element: Copy + Send + Sync + Debug + PartialOrd + Default + 'static {
    const DTYPE: DType;
    /// Wraps an array of this type in the type-erased storage.
    fn wrap(a: ArcArray<Self, IxDyn>) -> Data;
    /// The array, when `d` holds this type.
    fn unwrap(d: &Data) -> Option<&ArcArray<Self, IxDyn>>;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    /// `v` in this type with one rounding (i64 → f32 directly, not through f64, which would round
    /// twice: $2^{60} + 2^{36} + 1$ must give $2^{60} + 2^{37}$, as PyTorch and the CUDA cast give).
    fn from_i64(v: i64) -> Self;
}

/// The floating-point element types (`f32`, `f64`): everything differentiable is generic over it.
/// The GEMM and the slice-wide sigmoid and tanh come from [`CpuFloat`], the CPU backend's element trait.
pub trait Float:
    Element
    + num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::ScalarOperand
    + ndarray::LinalgScalar
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Display
    + CpuFloat
{
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(a: ArcArray<Self, IxDyn>) -> Data {
                Data::$variant(a)
            }
            fn unwrap(d: &Data) -> Option<&ArcArray<Self, IxDyn>> {
                match d {
                    Data::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    };
}
element!(f32, F32);
element!(f64, F64);
element!(i64, I64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn wrap(a: ArcArray<Self, IxDyn>) -> Data {
        Data::Bool(a)
    }
    fn unwrap(d: &Data) -> Option<&ArcArray<Self, IxDyn>> {
        match d {
            Data::Bool(a) => Some(a),
            _ => None,
        }
    }
    fn to_f64(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
}

impl Float for f32 {}

impl Float for f64 {}
