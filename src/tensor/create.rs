//! Creating tensors: from data, constants, ranges, and seeded random values.

use ndarray::{ArrayD, IxDyn};

use super::handle::Tensor;
use super::storage::{Data, Element};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::rng::Generator;

fn filled(shape: &[usize], dtype: DType, v: f64) -> Data {
    let s = IxDyn(shape);
    match dtype {
        DType::F32 => Data::F32(ArrayD::from_elem(s, v as f32).into_shared()),
        DType::F64 => Data::F64(ArrayD::from_elem(s, v).into_shared()),
        DType::I64 => Data::I64(ArrayD::from_elem(s, v as i64).into_shared()),
        DType::Bool => Data::Bool(ArrayD::from_elem(s, v != 0.0).into_shared()),
    }
}

fn from_f64s(values: Vec<f64>, shape: &[usize], dtype: DType) -> Result<Tensor> {
    match dtype {
        DType::F32 => Tensor::from_vec(values.into_iter().map(|v| v as f32).collect(), shape),
        DType::F64 => Tensor::from_vec(values, shape),
        DType::I64 => Tensor::from_vec(values.into_iter().map(|v| v as i64).collect(), shape),
        DType::Bool => Tensor::from_vec(values.into_iter().map(|v| v != 0.0).collect(), shape),
    }
}

impl Tensor {
    /// A tensor of `shape` holding `values` in row-major order.
    pub fn from_vec<T: Element>(values: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if values.len() != n {
            return Err(Error::shape(
                "from_vec",
                shape,
                format!("{} values cannot fill a shape of {n} elements", values.len()),
            ));
        }
        let a = ArrayD::from_shape_vec(IxDyn(shape), values)
            .map_err(|e| Error::shape("from_vec", shape, e.to_string()))?;
        Ok(Tensor::from_data(T::wrap(a.into_shared())))
    }

    /// A 0-dimensional tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor::from_data(T::wrap(ArrayD::from_elem(IxDyn(&[]), v).into_shared()))
    }

    /// A tensor filled with `value` (converted to `dtype`).
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        Ok(Tensor::from_data(filled(shape, dtype, value)))
    }
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, 0.0, dtype)
    }
    pub fn ones(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, 1.0, dtype)
    }
    /// [`Tensor::full`] on `device` (filled by a kernel on a GPU, no host copy).
    pub fn full_on(shape: &[usize], value: f64, dtype: DType, device: &Device) -> Result<Tensor> {
        match device {
            Device::Cpu => Tensor::full(shape, value, dtype),
            #[cfg(feature = "cuda")]
            Device::Cuda(n) => Ok(Tensor::from_data(Data::Cuda(crate::device::cuda::copy::full(
                &crate::device::cuda::gpu(*n)?,
                shape,
                dtype,
                value,
            )?))),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => Tensor::full(shape, value, dtype)?.to(device),
        }
    }
    /// Zeros of this tensor's shape and dtype, on its device.
    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::full_on(&self.shape(), 0.0, self.dtype(), &self.device())
    }
    /// Ones of this tensor's shape and dtype, on its device.
    pub fn ones_like(&self) -> Result<Tensor> {
        Tensor::full_on(&self.shape(), 1.0, self.dtype(), &self.device())
    }

    /// `start, start + step, ...` up to but excluding `end` (`torch.arange`).
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || (end - start) / step < 0.0 {
            return Err(Error::invalid("arange", format!("no range from {start} to {end} by {step}")));
        }
        let n = ((end - start) / step).ceil() as usize;
        let values: Vec<f64> = (0..n).map(|i| start + step * i as f64).collect();
        from_f64s(values, &[n], dtype)
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize, dtype: DType) -> Result<Tensor> {
        let mut v = vec![0.0; n * n];
        for i in 0..n {
            v[i * n + i] = 1.0;
        }
        from_f64s(v, &[n, n], dtype)
    }

    /// Standard normal values from `rng` (filled in row-major order).
    pub fn randn(shape: &[usize], dtype: DType, rng: &mut Generator) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        from_f64s((0..n).map(|_| rng.normal()).collect(), shape, float_only("randn", dtype, shape)?)
    }

    /// Uniform values in `[0, 1)` from `rng`.
    pub fn rand(shape: &[usize], dtype: DType, rng: &mut Generator) -> Result<Tensor> {
        Tensor::uniform(shape, 0.0, 1.0, dtype, rng)
    }

    /// Uniform values in `[low, high)` from `rng`.
    pub fn uniform(
        shape: &[usize],
        low: f64,
        high: f64,
        dtype: DType,
        rng: &mut Generator,
    ) -> Result<Tensor> {
        if low > high || low.is_nan() || high.is_nan() {
            return Err(Error::invalid("uniform", format!("low {low} > high {high}")));
        }
        let n: usize = shape.iter().product();
        let values = (0..n).map(|_| low + (high - low) * rng.uniform()).collect();
        from_f64s(values, shape, float_only("uniform", dtype, shape)?)
    }

    /// Normal values with mean `mean` and standard deviation `std`.
    pub fn normal(shape: &[usize], mean: f64, std: f64, dtype: DType, rng: &mut Generator) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let values = (0..n).map(|_| mean + std * rng.normal()).collect();
        from_f64s(values, shape, float_only("normal", dtype, shape)?)
    }

    /// Uniform integers in `low..high` (i64).
    pub fn randint(shape: &[usize], low: i64, high: i64, rng: &mut Generator) -> Result<Tensor> {
        if high <= low {
            return Err(Error::invalid("randint", format!("empty range {low}..{high}")));
        }
        let n: usize = shape.iter().product();
        let span = (high - low) as usize;
        Tensor::from_vec((0..n).map(|_| low + rng.below(span) as i64).collect(), shape)
    }
}

fn float_only(op: &'static str, dtype: DType, shape: &[usize]) -> Result<DType> {
    if dtype.is_float() {
        Ok(dtype)
    } else {
        Err(Error::UnsupportedDType { op, dtype, shape: shape.to_vec(), expected: "f32 or f64" })
    }
}
