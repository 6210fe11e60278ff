//! The [`Optimizer`] trait and what every optimizer shares: the parameter checks, the float
//! element's update arithmetic, state buffers, the elementwise update loop and the loading of
//! `state.<i>.<name>` entries from a checkpoint.

use ndarray::{ArcArray, IxDyn};
use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Float, Tensor};

/// What every optimizer offers: the step, zeroing gradients, the learning rate (for schedulers)
/// and its per-parameter state as named tensors (for checkpoints).
pub trait Optimizer: Send {
    /// One update of every parameter that has a gradient.
    fn step(&mut self) -> Result<()>;

    /// The parameters, in the order given at construction (state keys use these indices).
    fn params(&self) -> &[Tensor];

    /// Forgets every parameter's gradient (`zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }

    /// The learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate (what a scheduler calls between steps).
    fn set_lr(&mut self, lr: f64);

    /// The learning rate of each parameter group (one group unless this is a
    /// [`ParamGroups`](super::ParamGroups)).
    fn group_lrs(&self) -> Vec<f64> {
        vec![self.lr()]
    }

    /// Sets each group's learning rate (`lrs` has one rate per group).
    fn set_group_lrs(&mut self, lrs: &[f64]) -> Result<()> {
        match lrs {
            [lr] => {
                self.set_lr(*lr);
                Ok(())
            }
            _ => Err(Error::invalid("set_group_lrs", format!("{} learning rates for 1 group", lrs.len()))),
        }
    }

    /// The per-parameter state with PyTorch's `state_dict()["state"]` keys, flattened:
    /// `state.<i>.<name>` (`state.0.momentum_buffer`, `state.3.exp_avg`, `state.3.step`). A
    /// parameter that has not been updated yet has no entries.
    fn state_tensors(&self) -> Vec<(String, Tensor)>;

    /// Restores state written by [`Optimizer::state_tensors`] (copies; shapes and dtypes checked).
    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

/// Checks an optimizer's parameter list: float leaves, each listed once.
pub(crate) fn check_params(op: &'static str, params: &[Tensor]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, p) in params.iter().enumerate() {
        if !p.dtype().is_float() {
            return Err(Error::UnsupportedDType {
                op,
                dtype: p.dtype(),
                shape: p.shape(),
                expected: "f32 or f64",
            });
        }
        if !p.is_leaf() {
            return Err(Error::invalid(
                op,
                format!("parameter {i} is not a leaf tensor; cannot optimize it"),
            ));
        }
        if !seen.insert(Arc::as_ptr(&p.0) as usize) {
            return Err(Error::invalid(op, format!("parameter {i} appears more than once")));
        }
    }
    Ok(())
}

/// Checks a hyperparameter: finite and `>= 0`.
pub(crate) fn non_negative(op: &'static str, name: &str, v: f64) -> Result<()> {
    if !(v >= 0.0 && v.is_finite()) {
        return Err(Error::invalid(op, format!("invalid {name}: {v} (must be finite and >= 0)")));
    }
    Ok(())
}

/// The float types an update runs in, with mutable access to optimizer state of that type.
pub(crate) trait OptimFloat: Float {
    /// A hyperparameter rounded to this type (as PyTorch's kernels take their scalars).
    fn scalar(v: f64) -> Self {
        <Self as crate::tensor::Element>::from_f64(v)
    }
    fn state_mut(d: &mut Data) -> Option<&mut ArcArray<Self, IxDyn>>;
}

impl OptimFloat for f32 {
    fn state_mut(d: &mut Data) -> Option<&mut ArcArray<f32, IxDyn>> {
        match d {
            Data::F32(a) => Some(a),
            _ => None,
        }
    }
}

impl OptimFloat for f64 {
    fn state_mut(d: &mut Data) -> Option<&mut ArcArray<f64, IxDyn>> {
        match d {
            Data::F64(a) => Some(a),
            _ => None,
        }
    }
}

/// A state buffer of `T`, made with zeros of `shape` on first use.
pub(crate) fn state_buffer<'a, T: OptimFloat>(
    op: &'static str,
    slot: &'a mut Option<Data>,
    shape: &[usize],
) -> Result<&'a mut ArcArray<T, IxDyn>> {
    let d = slot.get_or_insert_with(|| T::wrap(ArcArray::zeros(IxDyn(shape))));
    if d.shape() != shape {
        return Err(Error::mismatch(op, shape, d.shape(), "optimizer state does not match the parameter"));
    }
    let dtype = d.dtype();
    T::state_mut(d).ok_or(Error::DTypeMismatch {
        op,
        lhs: T::DTYPE,
        rhs: dtype,
        lhs_shape: shape.to_vec(),
        rhs_shape: shape.to_vec(),
    })
}

/// An update of one parameter, generic over its float type.
pub(crate) trait Update {
    /// Updates the values `w` in place from the gradient `g` (same shape).
    fn run<T: OptimFloat>(&mut self, w: &mut ArcArray<T, IxDyn>, g: &ArcArray<T, IxDyn>) -> Result<()>;
}

/// Runs `update` on parameter `p` with its gradient `g`, in `p`'s dtype, in place.
pub(crate) fn apply_update<U: Update>(
    op: &'static str,
    p: &Tensor,
    g: &Tensor,
    update: &mut U,
) -> Result<()> {
    let (ps, gs) = (p.shape(), g.shape());
    if ps != gs {
        return Err(Error::mismatch(op, &ps, &gs, "the gradient must have the parameter's shape"));
    }
    let mut result = Ok(());
    match (p.dtype(), g.data()) {
        (DType::F32, Data::F32(g)) => p.update_data(op, |w| result = update.run::<f32>(w, &g), |_| {})?,
        (DType::F64, Data::F64(g)) => p.update_data(op, |_| {}, |w| result = update.run::<f64>(w, &g))?,
        (dtype, gd) => {
            return Err(Error::DTypeMismatch {
                op,
                lhs: dtype,
                rhs: gd.dtype(),
                lhs_shape: ps,
                rhs_shape: gs,
            });
        }
    }
    result
}

/// Runs an elementwise closure over an `ndarray::Zip`, with rayon when the tensor is large
/// (deterministic: every element's update is independent of the others).
macro_rules! zip_each {
    ($zip:expr, $len:expr, $f:expr) => {
        if $len >= $crate::device::cpu::PARALLEL_THRESHOLD {
            $zip.par_for_each($f)
        } else {
            $zip.for_each($f)
        }
    };
}
pub(crate) use zip_each;

/// Parses `state.<i>.<name>` keys into `(i, name, tensor)`, checking `i < n`.
pub(crate) fn parse_state<'a>(
    op: &'static str,
    state: &'a [(String, Tensor)],
    n: usize,
) -> Result<Vec<(usize, &'a str, &'a Tensor)>> {
    state
        .iter()
        .map(|(key, t)| {
            let bad = || Error::invalid(op, format!("unexpected state key {key:?}"));
            let rest = key.strip_prefix("state.").ok_or_else(bad)?;
            let (i, name) = rest.split_once('.').ok_or_else(bad)?;
            let i: usize = i.parse().map_err(|_| bad())?;
            if i >= n {
                return Err(Error::invalid(op, format!("state for parameter {i}, but there are {n}")));
            }
            Ok((i, name, t))
        })
        .collect()
}

/// A state tensor read for parameter `p`: same shape and dtype, copied to a buffer of its own.
pub(crate) fn load_buffer(op: &'static str, p: &Tensor, t: &Tensor) -> Result<Data> {
    if t.shape() != p.shape() || t.dtype() != p.dtype() {
        return Err(Error::mismatch(
            op,
            &p.shape(),
            &t.shape(),
            format!("state must match its parameter (dtype {} vs {})", p.dtype(), t.dtype()),
        ));
    }
    #[cfg(feature = "cuda")]
    if p.device().is_cuda() {
        return super::cuda::load_state(op, p, t);
    }
    // A state saved from a GPU parameter is read back to the host first.
    Ok(crate::map_any!(&t.data().to_host()?, |a| a.to_owned().into_shared()))
}
