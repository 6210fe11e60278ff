//! Comparisons, boolean logic, selection, and the elementwise maximum and minimum.
//!
//! All binary ops broadcast (NumPy rules) and require one dtype for both operands.
//!
//! | op | forward | gradient |
//! |---|---|---|
//! | eq ne lt le gt ge | $m_i = \lbrack a_i \mathrel{\square} b_i\rbrack$ (bool; IEEE: NaN compares false, `ne` true) | none |
//! | logical_not / and / or | $\lnot a$, $a \land b$, $a \lor b$ (bool) | none |
//! | where_cond | $z_i = c_i\ ?\ x_i : y_i$ | $\partial L/\partial x = \operatorname{sum\_to}(g\,\lbrack c\rbrack)$, $\partial L/\partial y = \operatorname{sum\_to}(g\,\lbrack \lnot c\rbrack)$ |
//! | masked_fill | $z_i = m_i\ ?\ v : x_i$ | $\partial L/\partial x = g\,\lbrack \lnot m\rbrack$ |
//! | maximum | $z_i = \max(a_i, b_i)$ | $\partial L/\partial a = \operatorname{sum\_to}(g\,w^a)$, $w^a_i = 1$ if $a_i > b_i$, $\tfrac12$ if $a_i = b_i$, $0$ if $a_i < b_i$; $b$ alike |
//! | minimum | $z_i = \min(a_i, b_i)$ | as maximum with $<$ and $>$ exchanged |
//!
//! Saved for backward: the condition or mask (where_cond, masked_fill), both operands
//! (maximum, minimum). Comparisons take f32, f64 and i64 (and bool for `eq`, `ne`); the
//! scalar forms compare in the tensor's dtype (an i64 tensor against a non-integral scalar compares
//! in f64, as PyTorch promotes). `maximum`/`minimum` propagate NaN; where one operand is NaN,
//! neither weight is zero, so both operands receive $g$, exactly as PyTorch's formula gives.

use ndarray::{ArcArray, IxDyn, Zip};

use crate::autograd::record;
use crate::device::cpu::PARALLEL_THRESHOLD;
#[cfg(feature = "cuda")]
use crate::device::cuda::{CudaData, compare as cuda};
use crate::device::shape::broadcast_shapes;
use crate::error::{Error, Result};
use crate::ops::common::{dtype_error, map_array, same_dtype, zip_arrays};
#[cfg(feature = "cuda")]
use crate::ops::device_data::{cuda_input, grad_on};
use crate::ops::sort::is_nan;
use crate::tensor::{Data, Element, Tensor};

/// `$f(x, y)` for two tensors of one dtype, broadcasting, giving a bool array: f32, f64 and i64,
/// and bool too when the first argument is the word `bool`.
macro_rules! compare_data {
    (bool, $a:expr, $b:expr, $op:expr, |$x:ident, $y:ident| $body:expr) => {{
        match ($a.data(), $b.data()) {
            (Data::Bool(a), Data::Bool(b)) => zip_arrays($op, &a, &b, |$x, $y| $body)?,
            _ => compare_data!($a, $b, $op, |$x, $y| $body),
        }
    }};
    ($a:expr, $b:expr, $op:expr, |$x:ident, $y:ident| $body:expr) => {{
        let (da, db) = ($a.data(), $b.data());
        match (&da, &db) {
            (Data::F32(a), Data::F32(b)) => zip_arrays($op, a, b, |$x, $y| $body)?,
            (Data::F64(a), Data::F64(b)) => zip_arrays($op, a, b, |$x, $y| $body)?,
            (Data::I64(a), Data::I64(b)) => zip_arrays($op, a, b, |$x, $y| $body)?,
            _ => return Err(numeric_error($op, &da, &db, $op == "eq" || $op == "ne")),
        }
    }};
}

/// `$f(x, v)` for every element of a tensor against a scalar, giving a bool `Data`.
macro_rules! compare_scalar {
    ($t:expr, $v:expr, $op:expr, $bool_ok:expr, |$x:ident, $y:ident| $body:expr) => {{
        let v: f64 = $v;
        match &$t.data() {
            Data::F32(a) => {
                let $y = v as f32;
                map_array(a, |$x| $body)
            }
            Data::F64(a) => {
                let $y = v;
                map_array(a, |$x| $body)
            }
            // Exact in i64 for an integral scalar; otherwise in f64, as PyTorch promotes.
            Data::I64(a) if v.fract() == 0.0 && v.abs() < 9.2e18 => {
                let $y = v as i64;
                map_array(a, |$x| $body)
            }
            Data::I64(a) => {
                let $y = v;
                map_array(a, |x: i64| {
                    let $x = x as f64;
                    $body
                })
            }
            Data::Bool(a) if $bool_ok => {
                let $y = v;
                map_array(a, |x: bool| {
                    let $x = x.to_f64();
                    $body
                })
            }
            other => {
                return Err(Error::UnsupportedDType {
                    op: $op,
                    dtype: other.dtype(),
                    shape: other.shape().to_vec(),
                    expected: if $bool_ok { "f32, f64, i64 or bool" } else { "f32, f64 or i64" },
                });
            }
        }
    }};
}

fn numeric_error(op: &'static str, a: &Data, b: &Data, bool_ok: bool) -> Error {
    if a.dtype() != b.dtype() {
        return dtype_error(op, a, b);
    }
    Error::UnsupportedDType {
        op,
        dtype: a.dtype(),
        shape: a.shape().to_vec(),
        expected: if bool_ok { "f32, f64, i64 or bool" } else { "f32, f64 or i64" },
    }
}

/// The bool array of a tensor that must be a mask.
fn bool_array(op: &'static str, t: &Tensor) -> Result<ArcArray<bool, IxDyn>> {
    match t.data() {
        Data::Bool(a) => Ok(a),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other.dtype(),
            shape: other.shape().to_vec(),
            expected: "bool (a mask from a comparison)",
        }),
    }
}

/// $c ? x : y$ with all three broadcast to `shape` (already checked to be their common shape).
fn select<T: Copy + Send + Sync>(
    op: &'static str,
    c: &ArcArray<bool, IxDyn>,
    x: &ArcArray<T, IxDyn>,
    y: &ArcArray<T, IxDyn>,
    shape: &[usize],
) -> Result<ArcArray<T, IxDyn>> {
    let to = IxDyn(shape);
    let fail = || Error::mismatch(op, x.shape(), y.shape(), format!("cannot broadcast to {shape:?}"));
    let (c, x, y) = (
        c.broadcast(to.clone()).ok_or_else(fail)?,
        x.broadcast(to.clone()).ok_or_else(fail)?,
        y.broadcast(to).ok_or_else(fail)?,
    );
    let z = Zip::from(&c).and(&x).and(&y);
    let out = if c.len() >= PARALLEL_THRESHOLD {
        z.par_map_collect(|&c, &x, &y| if c { x } else { y })
    } else {
        z.map_collect(|&c, &x, &y| if c { x } else { y })
    };
    Ok(out.into_shared())
}

/// The weight of `a`'s gradient in `maximum` (`largest`) or `minimum`: 1 where `a` wins, ½ on a tie,
/// 0 where it loses (NaN against anything: 1 to both sides, PyTorch's rule).
fn extreme_weight<T: PartialOrd>(a: T, b: T, largest: bool) -> f64 {
    if a == b {
        0.5
    } else if (largest && a < b) || (!largest && a > b) {
        0.0
    } else {
        1.0
    }
}

/// True when an operand lives on a GPU: the op then runs there (or fails naming the mixed devices).
#[cfg(feature = "cuda")]
fn any_cuda(ts: &[&Tensor]) -> bool {
    ts.iter().any(|t| t.device() != crate::device::Device::Cpu)
}

/// The device data of two operands on one GPU (an operand on the CPU, or on another GPU, is a
/// device error naming `op`).
#[cfg(feature = "cuda")]
fn pair(op: &'static str, a: &Tensor, b: &Tensor) -> Result<(CudaData, CudaData)> {
    let ca = match a.data() {
        Data::Cuda(c) => c,
        _ => cuda_input(op, b, None).and_then(|cb| cuda_input(op, a, Some(cb.gpu())))?,
    };
    let cb = cuda_input(op, b, Some(ca.gpu()))?;
    Ok((ca, cb))
}

/// What `maximum`/`minimum` save for the backward: both operands, where they live.
enum Operands {
    /// The operands on the CPU (detached).
    Host(Tensor, Tensor),
    /// The operands' device data on one GPU.
    #[cfg(feature = "cuda")]
    Cuda(CudaData, CudaData),
}

/// A 0-d zero of `g`'s dtype on `g`'s device (the other branch of a gradient's `where_cond`).
fn zero_like(g: &Tensor) -> Result<Tensor> {
    Tensor::zeros(&[], g.dtype())?.to(&g.device())
}

impl Tensor {
    fn compare(&self, other: &Tensor, op: &'static str) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if any_cuda(&[self, other]) {
            let (a, b) = pair(op, self, other)?;
            return Ok(Tensor::from_data(Data::Cuda(cuda::compare(op, &a, &b)?)));
        }
        let m = match op {
            "eq" => compare_data!(bool, self, other, op, |x, y| x == y),
            "ne" => compare_data!(bool, self, other, op, |x, y| x != y),
            "lt" => compare_data!(self, other, op, |x, y| x < y),
            "le" => compare_data!(self, other, op, |x, y| x <= y),
            "gt" => compare_data!(self, other, op, |x, y| x > y),
            _ => compare_data!(self, other, op, |x, y| x >= y),
        };
        Ok(Tensor::from_data(Data::Bool(m)))
    }

    fn compare_scalar(&self, v: f64, op: &'static str) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if any_cuda(&[self]) {
            let x = cuda_input(op, self, None)?;
            return Ok(Tensor::from_data(Data::Cuda(cuda::compare_scalar(op, &x, v)?)));
        }
        let m = match op {
            "eq_scalar" => compare_scalar!(self, v, op, true, |x, y| x == y),
            "ne_scalar" => compare_scalar!(self, v, op, true, |x, y| x != y),
            "lt_scalar" => compare_scalar!(self, v, op, false, |x, y| x < y),
            "le_scalar" => compare_scalar!(self, v, op, false, |x, y| x <= y),
            "gt_scalar" => compare_scalar!(self, v, op, false, |x, y| x > y),
            _ => compare_scalar!(self, v, op, false, |x, y| x >= y),
        };
        Ok(Tensor::from_data(Data::Bool(m)))
    }

    /// $\lbrack a = b\rbrack$, broadcasting (f32, f64, i64, bool).
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, "eq")
    }
    /// $\lbrack a \ne b\rbrack$, broadcasting (f32, f64, i64, bool).
    pub fn ne(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, "ne")
    }
    /// $\lbrack a < b\rbrack$, broadcasting (f32, f64, i64).
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, "lt")
    }
    /// $\lbrack a \le b\rbrack$, broadcasting (f32, f64, i64).
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, "le")
    }
    /// $\lbrack a > b\rbrack$, broadcasting (f32, f64, i64).
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, "gt")
    }
    /// $\lbrack a \ge b\rbrack$, broadcasting (f32, f64, i64).
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, "ge")
    }

    /// $\lbrack x = v\rbrack$ for a scalar $v$ (f32, f64, i64, bool).
    pub fn eq_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, "eq_scalar")
    }
    /// $\lbrack x \ne v\rbrack$ (f32, f64, i64, bool).
    pub fn ne_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, "ne_scalar")
    }
    /// $\lbrack x < v\rbrack$ (f32, f64, i64).
    pub fn lt_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, "lt_scalar")
    }
    /// $\lbrack x \le v\rbrack$ (f32, f64, i64).
    pub fn le_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, "le_scalar")
    }
    /// $\lbrack x > v\rbrack$ (f32, f64, i64).
    pub fn gt_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, "gt_scalar")
    }
    /// $\lbrack x \ge v\rbrack$ (f32, f64, i64).
    pub fn ge_scalar(&self, v: f64) -> Result<Tensor> {
        self.compare_scalar(v, "ge_scalar")
    }

    /// $\lnot a$ of a bool tensor.
    pub fn logical_not(&self) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if any_cuda(&[self]) {
            let a = cuda_input("logical_not", self, None)?;
            return Ok(Tensor::from_data(Data::Cuda(cuda::logical_not(&a)?)));
        }
        let a = bool_array("logical_not", self)?;
        Ok(Tensor::from_data(Data::Bool(map_array(&a, |v| !v))))
    }

    /// $a \land b$ of bool tensors, broadcasting.
    pub fn logical_and(&self, other: &Tensor) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if any_cuda(&[self, other]) {
            let (a, b) = pair("logical_and", self, other)?;
            return Ok(Tensor::from_data(Data::Cuda(cuda::logical("logical_and", &a, &b)?)));
        }
        let (a, b) = (bool_array("logical_and", self)?, bool_array("logical_and", other)?);
        Ok(Tensor::from_data(Data::Bool(zip_arrays("logical_and", &a, &b, |x, y| x && y)?)))
    }

    /// $a \lor b$ of bool tensors, broadcasting.
    pub fn logical_or(&self, other: &Tensor) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if any_cuda(&[self, other]) {
            let (a, b) = pair("logical_or", self, other)?;
            return Ok(Tensor::from_data(Data::Cuda(cuda::logical("logical_or", &a, &b)?)));
        }
        let (a, b) = (bool_array("logical_or", self)?, bool_array("logical_or", other)?);
        Ok(Tensor::from_data(Data::Bool(zip_arrays("logical_or", &a, &b, |x, y| x || y)?)))
    }

    /// $c ? x : y$ elementwise (`torch.where`): `cond` is bool, `x` and `y` share a dtype, all three
    /// broadcast. The gradient goes to `x` where `cond` holds and to `y` elsewhere.
    pub fn where_cond(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        const OP: &str = "where_cond";
        #[cfg(feature = "cuda")]
        if any_cuda(&[cond, x, y]) {
            let (cx, cy) = pair(OP, x, y)?;
            let c = cuda_input(OP, cond, Some(cx.gpu()))?;
            let z = cuda::where_cond(&c, &cx, &cy)?;
            return Ok(Tensor::record_where(Data::Cuda(z), cond, x, y));
        }
        let c = bool_array(OP, cond)?;
        same_dtype(OP, x, y)?;
        let (sx, sy) = (x.shape(), y.shape());
        let xy = broadcast_shapes(OP, &sx, &sy)?;
        let shape = broadcast_shapes(OP, c.shape(), &xy)?;
        let z = match (x.data(), y.data()) {
            (Data::F32(a), Data::F32(b)) => Data::F32(select(OP, &c, &a, &b, &shape)?),
            (Data::F64(a), Data::F64(b)) => Data::F64(select(OP, &c, &a, &b, &shape)?),
            (Data::I64(a), Data::I64(b)) => Data::I64(select(OP, &c, &a, &b, &shape)?),
            (Data::Bool(a), Data::Bool(b)) => Data::Bool(select(OP, &c, &a, &b, &shape)?),
            (a, b) => return Err(dtype_error(OP, &a, &b)),
        };
        Ok(Tensor::record_where(z, cond, x, y))
    }

    /// Records `z = where_cond(cond, x, y)` with its backward (on the device of `g`).
    fn record_where(z: Data, cond: &Tensor, x: &Tensor, y: &Tensor) -> Tensor {
        let (sx, sy) = (x.shape(), y.shape());
        let cond = cond.detach();
        let (rx, ry) = (x.requires_grad(), y.requires_grad());
        record(z, "where_cond", &[x, y], move |g| {
            // dL/dx = sum_to(g [c]),  dL/dy = sum_to(g [¬c])
            let zero = zero_like(g)?;
            let gx = if rx { Some(Tensor::where_cond(&cond, g, &zero)?.sum_to(&sx)?) } else { None };
            let gy = if ry { Some(Tensor::where_cond(&cond, &zero, g)?.sum_to(&sy)?) } else { None };
            Ok(vec![gx, gy])
        })
    }

    /// `value` where `mask` holds, `self` elsewhere; `mask` (bool) broadcasts to self's shape. The
    /// gradient is zero where filled. f32, f64 and i64.
    pub fn masked_fill(&self, mask: &Tensor, value: f64) -> Result<Tensor> {
        const OP: &str = "masked_fill";
        let shape = self.shape();
        let mask_shape = mask.shape();
        if mask.dtype() == crate::tensor::DType::Bool && broadcast_shapes(OP, &shape, &mask_shape)? != shape {
            return Err(Error::mismatch(
                OP,
                &shape,
                &mask_shape,
                "the mask must broadcast to the tensor's shape",
            ));
        }
        #[cfg(feature = "cuda")]
        if any_cuda(&[self, mask]) {
            let x = cuda_input(OP, self, None)?;
            let m = cuda_input(OP, mask, Some(x.gpu()))?;
            let z = cuda::masked_fill(&x, &m, value)?;
            return Ok(self.record_masked(Data::Cuda(z), mask));
        }
        let m = bool_array(OP, mask)?;
        fn fill<T: Element>(
            x: &ArcArray<T, IxDyn>,
            m: &ArcArray<bool, IxDyn>,
            shape: &[usize],
            v: f64,
        ) -> Result<ArcArray<T, IxDyn>> {
            let v = T::from_f64(v);
            let filler = ArcArray::from_elem(IxDyn(&[]), v);
            select(OP, m, &filler, x, shape)
        }
        let z = match self.data() {
            Data::F32(x) => Data::F32(fill(&x, &m, &shape, value)?),
            Data::F64(x) => Data::F64(fill(&x, &m, &shape, value)?),
            Data::I64(x) => Data::I64(fill(&x, &m, &shape, value)?),
            other => {
                return Err(Error::UnsupportedDType {
                    op: OP,
                    dtype: other.dtype(),
                    shape,
                    expected: "f32, f64 or i64",
                });
            }
        };
        Ok(self.record_masked(z, mask))
    }

    /// Records `z = masked_fill(self, mask, v)` with its backward (on the device of `g`).
    fn record_masked(&self, z: Data, mask: &Tensor) -> Tensor {
        let mask = mask.detach();
        record(z, "masked_fill", &[self], move |g| {
            // dL/dx = g [¬m]
            let zero = zero_like(g)?;
            Ok(vec![Some(Tensor::where_cond(&mask, &zero, g)?)])
        })
    }

    /// $\max(a, b)$ elementwise, broadcasting, NaN propagating (f32, f64, i64). The gradient goes
    /// to the larger operand, half to each on a tie.
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.extreme(other, "maximum", true)
    }

    /// $\min(a, b)$ elementwise, broadcasting, NaN propagating (f32, f64, i64). The gradient goes
    /// to the smaller operand, half to each on a tie.
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.extreme(other, "minimum", false)
    }

    fn extreme(&self, other: &Tensor, op: &'static str, largest: bool) -> Result<Tensor> {
        let (z, saved) = self.extreme_forward(other, op, largest)?;
        let (ra, rb) = (self.requires_grad(), other.requires_grad());
        Ok(record(z, op, &[self, other], move |g| {
            // dL/da = sum_to(g w^a), dL/db = sum_to(g w^b)
            match &saved {
                Operands::Host(a, b) => {
                    let weights = |p: &Tensor, q: &Tensor| -> Result<Tensor> {
                        let w = match (p.data(), q.data()) {
                            (Data::F32(p), Data::F32(q)) => Data::F32(zip_arrays(op, &p, &q, |x, y| {
                                extreme_weight(x, y, largest) as f32
                            })?),
                            (Data::F64(p), Data::F64(q)) => {
                                Data::F64(zip_arrays(op, &p, &q, |x, y| extreme_weight(x, y, largest))?)
                            }
                            (p, q) => return Err(dtype_error(op, &p, &q)),
                        };
                        Ok(Tensor::from_data(w))
                    };
                    let ga = if ra { Some(g.mul(&weights(a, b)?)?.sum_to(&a.shape())?) } else { None };
                    let gb = if rb { Some(g.mul(&weights(b, a)?)?.sum_to(&b.shape())?) } else { None };
                    Ok(vec![ga, gb])
                }
                #[cfg(feature = "cuda")]
                Operands::Cuda(ca, cb) => {
                    let g = grad_on(g, ca.gpu())?;
                    let grad = |p: &CudaData, q: &CudaData| -> Result<Tensor> {
                        Tensor::from_data(Data::Cuda(cuda::extreme_grad(op, p, q, &g)?)).sum_to(&p.shape)
                    };
                    let ga = if ra { Some(grad(ca, cb)?) } else { None };
                    let gb = if rb { Some(grad(cb, ca)?) } else { None };
                    Ok(vec![ga, gb])
                }
            }
        }))
    }

    /// The forward of `maximum`/`minimum` on the operands' device, and what its backward needs.
    fn extreme_forward(&self, other: &Tensor, op: &'static str, largest: bool) -> Result<(Data, Operands)> {
        #[cfg(feature = "cuda")]
        if any_cuda(&[self, other]) {
            let (ca, cb) = pair(op, self, other)?;
            let z = cuda::extreme(op, &ca, &cb)?;
            return Ok((Data::Cuda(z), Operands::Cuda(ca, cb)));
        }
        same_dtype(op, self, other)?;
        let (da, db) = (self.data(), other.data());
        // z = a where a wins (or is NaN), else b
        fn pick<T: PartialOrd>(a: T, b: T, largest: bool) -> T {
            let a_wins = if largest { a > b } else { a < b };
            if a_wins || is_nan(&a) { a } else { b }
        }
        let z = match (&da, &db) {
            (Data::F32(a), Data::F32(b)) => Data::F32(zip_arrays(op, a, b, |x, y| pick(x, y, largest))?),
            (Data::F64(a), Data::F64(b)) => Data::F64(zip_arrays(op, a, b, |x, y| pick(x, y, largest))?),
            (Data::I64(a), Data::I64(b)) => Data::I64(zip_arrays(op, a, b, |x, y| pick(x, y, largest))?),
            _ => return Err(numeric_error(op, &da, &db, false)),
        };
        Ok((z, Operands::Host(self.detach(), other.detach())))
    }
}
