//! Comparisons, boolean logic, selection and the elementwise maximum/minimum on a GPU
//! (`kernels/compare.cu`). The formulas are in [`crate::ops::compare`] and in the kernel file's
//! header: every kernel is one thread per output element reading its operands through broadcast
//! layouts, so results are exact (the same bits as the CPU).
//!
//! | op | kernel | backward |
//! |---|---|---|
//! | `eq ne lt le gt ge` | `compare_fwd_<dt>` (f32, f64, i64; bool for eq/ne) | none (bool output) |
//! | `*_scalar` | `compare_scalar_fwd_<dt>` | none |
//! | `logical_not/and/or` | `logical_<op>_fwd_u8` | none |
//! | `where_cond` | `where_fwd_<dt>` | `where_cond` again with a zero, then `sum_to` (in `ops/compare.rs`) |
//! | `masked_fill` | `masked_fill_fwd_<dt>` | `where_cond` with a zero (in `ops/compare.rs`) |
//! | `maximum`, `minimum` | `maximum_fwd_<dt>`, `minimum_fwd_<dt>` | `maximum_bwd_<dt>`: $g\,w^a$, then `sum_to` (in `ops/compare.rs`) |
//!
//! Bool tensors are stored as one byte (0 or 1) per element. The functions here take and return
//! device data; the op file gets the operands' device data (and their device checks) and records
//! the ops with a gradient.

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, elementwise_cfg};
use super::launch::{float_suffix, same_gpu, with_output};
use super::storage::CudaData;
use crate::device::shape::broadcast_shapes;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Runs `$body` with `$t` the device element type of `$dtype` (bool as `u8`).
macro_rules! with_dev_type {
    ($dtype:expr, $t:ident => $body:expr) => {
        with_dev_type!(@arms $dtype, $t, $body, [F32 f32, F64 f64, I64 i64, Bool u8])
    };
    (@arms $dtype:expr, $t:ident, $body:expr, [$($v:ident $ty:ty),*]) => {
        match $dtype {
            $(DType::$v => {
                type $t = $ty;
                $body
            })*
        }
    };
}

/// The kernel-name suffix of any dtype.
fn suffix(d: DType) -> &'static str {
    match d {
        DType::F32 => "f32",
        DType::F64 => "f64",
        DType::I64 => "i64",
        DType::Bool => "u8",
    }
}

fn dtype_mismatch(op: &'static str, a: &CudaData, b: &CudaData) -> Error {
    Error::DTypeMismatch {
        op,
        lhs: a.dtype,
        rhs: b.dtype,
        lhs_shape: a.shape.clone(),
        rhs_shape: b.shape.clone(),
    }
}

fn unsupported(op: &'static str, c: &CudaData, expected: &'static str) -> Error {
    Error::UnsupportedDType { op, dtype: c.dtype, shape: c.shape.clone(), expected }
}

/// `name(const T* a, Layout la, const T* b, Layout lb, O* y, i64 n[, int code])` over the
/// broadcast shape of `a` and `b`, giving a fresh `out` tensor.
fn binary_launch<T: DevElem, O: DevElem>(
    op: &'static str,
    name: &str,
    a: &CudaData,
    b: &CudaData,
    out: DType,
    code: Option<i32>,
) -> Result<CudaData> {
    same_gpu(op, a, b)?;
    let shape = broadcast_shapes(op, &a.shape, &b.shape)?;
    let gpu = a.gpu().clone();
    let f = gpu.function("compare", name)?;
    let (la, lb) = (a.layout_as(op, &shape)?, b.layout_as(op, &shape)?);
    let (sa, sb) = (a.slice::<T>(op)?, b.slice::<T>(op)?);
    let n: usize = shape.iter().product();
    with_output::<O>(&gpu, op, out, &shape, |y| {
        let mut l = gpu.stream().launch_builder(&f);
        let n64 = n as i64;
        l.arg(sa).arg(&la).arg(sb).arg(&lb).arg(y).arg(&n64);
        if let Some(c) = &code {
            l.arg(c);
        }
        // SAFETY: matches `<name>(const T*, Layout, const T*, Layout, O*, i64[, int])` of
        // kernels/compare.cu; both layouts are views of their buffers broadcast to the output's
        // shape, and `y` holds n elements.
        unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
    })
}

/// `[a op b]` (op one of eq ne lt le gt ge), broadcasting, as bool data on the operands' GPU.
pub(crate) fn compare(op: &'static str, ca: &CudaData, cb: &CudaData) -> Result<CudaData> {
    if ca.dtype != cb.dtype {
        return Err(dtype_mismatch(op, ca, cb));
    }
    let code = ["eq", "ne", "lt", "le", "gt", "ge"].iter().position(|&o| o == op).unwrap_or(5) as i32;
    if ca.dtype == DType::Bool && code > 1 {
        return Err(unsupported(op, ca, "f32, f64 or i64"));
    }
    let name = format!("compare_fwd_{}", suffix(ca.dtype));
    with_dev_type!(ca.dtype, T => binary_launch::<T, u8>(op, &name, ca, cb, DType::Bool, Some(code)))
}

/// `[x op v]` for a scalar `v` (op `eq_scalar` … `ge_scalar`), compared in the tensor's dtype, or in
/// f64 for an i64 tensor against a non-integral scalar and for a bool tensor (eq/ne only).
pub(crate) fn compare_scalar(op: &'static str, x: &CudaData, v: f64) -> Result<CudaData> {
    let ops = ["eq_scalar", "ne_scalar", "lt_scalar", "le_scalar", "gt_scalar", "ge_scalar"];
    let code = ops.iter().position(|&o| o == op).unwrap_or(5) as i32;
    let in_f64: i32 = match x.dtype {
        DType::F32 | DType::F64 => 0,
        DType::I64 => i32::from(!(v.fract() == 0.0 && v.abs() < 9.2e18)),
        DType::Bool if code <= 1 => 1,
        DType::Bool => return Err(unsupported(op, x, "f32, f64 or i64")),
    };
    fn run<T: DevElem>(op: &'static str, x: &CudaData, code: i32, v: f64, in_f64: i32) -> Result<CudaData> {
        let gpu = x.gpu().clone();
        let f = gpu.function("compare", &format!("compare_scalar_fwd_{}", T::NAME))?;
        let lx = x.layout_as(op, &x.shape)?;
        let sx = x.slice::<T>(op)?;
        let n = x.numel();
        with_output::<u8>(&gpu, op, DType::Bool, &x.shape, |y| {
            let mut l = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            l.arg(sx).arg(&lx).arg(y).arg(&n64).arg(&code).arg(&v).arg(&in_f64);
            // SAFETY: matches `compare_scalar_fwd_<dt>(const T*, Layout, u8*, i64, int, double,
            // int)`; `lx` is x's own view and `y` holds n elements. For i64 with in_f64 = 0, `v`
            // is integral and within range, so `(i64)v` is exact.
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    with_dev_type!(x.dtype, T => run::<T>(op, x, code, v, in_f64))
}

/// Nothing for a mask (bool data), or the CPU op's error for any other dtype.
fn check_mask(op: &'static str, c: &CudaData) -> Result<()> {
    if c.dtype != DType::Bool {
        return Err(unsupported(op, c, "bool (a mask from a comparison)"));
    }
    Ok(())
}

/// $\lnot a$ of bool data.
pub(crate) fn logical_not(a: &CudaData) -> Result<CudaData> {
    let op = "logical_not";
    check_mask(op, a)?;
    let gpu = a.gpu().clone();
    let f = gpu.function("compare", "logical_not_fwd_u8")?;
    let la = a.layout_as(op, &a.shape)?;
    let sa = a.slice::<u8>(op)?;
    let n = a.numel();
    with_output::<u8>(&gpu, op, DType::Bool, &a.shape, |y| {
        let mut l = gpu.stream().launch_builder(&f);
        let n64 = n as i64;
        l.arg(sa).arg(&la).arg(y).arg(&n64);
        // SAFETY: matches `logical_not_fwd_u8(const u8*, Layout, u8*, i64)`; `y` holds n bytes.
        unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
    })
}

/// $a \land b$ (`logical_and`) or $a \lor b$ (`logical_or`) of bool data, broadcasting.
pub(crate) fn logical(op: &'static str, ca: &CudaData, cb: &CudaData) -> Result<CudaData> {
    for c in [ca, cb] {
        check_mask(op, c)?;
    }
    let name = format!("{op}_fwd_u8");
    binary_launch::<u8, u8>(op, &name, ca, cb, DType::Bool, None)
}

/// $c\ ?\ x : y$ with all three broadcast (the forward of `where_cond`; the caller records it).
pub(crate) fn where_cond(c: &CudaData, cx: &CudaData, cy: &CudaData) -> Result<CudaData> {
    let op = "where_cond";
    check_mask(op, c)?;
    if cx.dtype != cy.dtype {
        return Err(dtype_mismatch(op, cx, cy));
    }
    let shape = broadcast_shapes(op, &c.shape, &broadcast_shapes(op, &cx.shape, &cy.shape)?)?;
    fn run<T: DevElem>(c: &CudaData, x: &CudaData, y: &CudaData, shape: &[usize]) -> Result<CudaData> {
        let op = "where_cond";
        let gpu = x.gpu().clone();
        let f = gpu.function("compare", &format!("where_fwd_{}", T::NAME))?;
        let (lc, lx, ly) = (c.layout_as(op, shape)?, x.layout_as(op, shape)?, y.layout_as(op, shape)?);
        let (sc, sx, sy) = (c.slice::<u8>(op)?, x.slice::<T>(op)?, y.slice::<T>(op)?);
        let n: usize = shape.iter().product();
        with_output::<T>(&gpu, op, x.dtype, shape, |z| {
            let mut l = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            l.arg(sc).arg(&lc).arg(sx).arg(&lx).arg(sy).arg(&ly).arg(z).arg(&n64);
            // SAFETY: matches `where_fwd_<dt>(const u8*, Layout, const T*, Layout, const T*,
            // Layout, T*, i64)`; the layouts are views broadcast to `shape`, `z` holds n elements.
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    with_dev_type!(cx.dtype, T => run::<T>(c, cx, cy, &shape))
}

/// `value` where `mask` holds, `x` elsewhere (the forward of `masked_fill`; the caller checked
/// that the mask broadcasts to x's shape and records it). f32, f64 and i64; `value` converted as
/// the CPU does (`as f32`, `as i64`).
pub(crate) fn masked_fill(cx: &CudaData, m: &CudaData, value: f64) -> Result<CudaData> {
    let op = "masked_fill";
    check_mask(op, m)?;
    fn run<T: DevElem>(x: &CudaData, m: &CudaData, v: T) -> Result<CudaData> {
        let op = "masked_fill";
        let gpu = x.gpu().clone();
        let f = gpu.function("compare", &format!("masked_fill_fwd_{}", T::NAME))?;
        let (lm, lx) = (m.layout_as(op, &x.shape)?, x.layout_as(op, &x.shape)?);
        let (sm, sx) = (m.slice::<u8>(op)?, x.slice::<T>(op)?);
        let n = x.numel();
        with_output::<T>(&gpu, op, x.dtype, &x.shape, |z| {
            let mut l = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            l.arg(sm).arg(&lm).arg(sx).arg(&lx).arg(z).arg(&n64).arg(&v);
            // SAFETY: matches `masked_fill_fwd_<dt>(const u8*, Layout, const T*, Layout, T*, i64,
            // T)`; the mask's layout is its view broadcast to x's shape, `z` holds n elements.
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match cx.dtype {
        DType::F32 => run::<f32>(cx, m, value as f32),
        DType::F64 => run::<f64>(cx, m, value),
        DType::I64 => run::<i64>(cx, m, value as i64),
        DType::Bool => Err(unsupported(op, cx, "f32, f64 or i64")),
    }
}

/// The forward of `maximum` or `minimum` (`op`) of two operands on one GPU, broadcasting (the
/// caller records it; the backward is [`extreme_grad`]).
pub(crate) fn extreme(op: &'static str, ca: &CudaData, cb: &CudaData) -> Result<CudaData> {
    if ca.dtype != cb.dtype {
        return Err(dtype_mismatch(op, ca, cb));
    }
    let name = format!("{op}_fwd_{}", suffix(ca.dtype));
    match ca.dtype {
        DType::F32 => binary_launch::<f32, f32>(op, &name, ca, cb, DType::F32, None),
        DType::F64 => binary_launch::<f64, f64>(op, &name, ca, cb, DType::F64, None),
        DType::I64 => binary_launch::<i64, i64>(op, &name, ca, cb, DType::I64, None),
        DType::Bool => Err(unsupported(op, ca, "f32, f64 or i64")),
    }
}

/// $g\,w(p, q)$ in the output's shape (`maximum_bwd_<dt>` or `minimum_bwd_<dt>`), for the
/// operand `p` of `maximum`/`minimum` (`op`) against `q`, with `g` contiguous at offset 0 (before
/// the caller's `sum_to` to p's shape).
pub(crate) fn extreme_grad(op: &'static str, p: &CudaData, q: &CudaData, g: &CudaData) -> Result<CudaData> {
    let name = format!("{op}_bwd_{}", float_suffix(op, p)?);
    fn run<T: DevElem>(
        op: &'static str,
        name: &str,
        p: &CudaData,
        q: &CudaData,
        g: &CudaData,
    ) -> Result<CudaData> {
        let gpu = p.gpu().clone();
        let f = gpu.function("compare", name)?;
        let shape = g.shape.clone();
        let (lp, lq) = (p.layout_as(op, &shape)?, q.layout_as(op, &shape)?);
        let (sp, sq, sg) = (p.slice::<T>(op)?, q.slice::<T>(op)?, g.slice::<T>(op)?);
        let n = g.numel();
        with_output::<T>(&gpu, op, g.dtype, &shape, |dp| {
            let mut l = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            l.arg(sp).arg(&lp).arg(sq).arg(&lq).arg(sg).arg(dp).arg(&n64);
            // SAFETY: matches `<op>_bwd_<dt>(const T*, Layout, const T*, Layout, const T*, T*,
            // i64)`; `g` is contiguous at offset 0 with n elements (`grad_on`), p and q are read
            // broadcast to its shape, `dp` holds n elements.
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    if g.dtype != p.dtype || g.shape != broadcast_shapes(op, &p.shape, &q.shape)? {
        return Err(Error::mismatch(
            op,
            &g.shape,
            &p.shape,
            "the upstream gradient does not match the output",
        ));
    }
    match p.dtype {
        DType::F64 => run::<f64>(op, &name, p, q, g),
        _ => run::<f32>(op, &name, p, q, g),
    }
}
