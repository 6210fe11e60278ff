//! The [`Module`] trait: a differentiable function with named parameters, children and a
//! train/eval mode, like `torch.nn.Module`.
//!
//! A module writes down three things and inherits the rest:
//!
//! - [`Module::forward`], the function itself;
//! - [`Module::local_parameters`], the tensors it owns directly, with local names (`"weight"`,
//!   `"bias"`); leaf modules only;
//! - [`Module::children`], its sub-modules with their names (`"fc1"`; `"0"`, `"1"` in a
//!   [`Sequential`](super::Sequential)); composite modules only;
//!
//! plus a [`Mode`] field returned by [`Module::mode`]. From these the trait derives the PyTorch
//! `state_dict` names (`fc1.weight`, `encoder.0.bias`: the path of child names joined with `.`),
//! [`Module::parameters`], [`Module::zero_grad`], [`Module::num_parameters`] and the mode switch
//! that reaches every descendant.
//!
//! ```
//! use glassgrad::nn::{Linear, Mode, Module, ReLU};
//! use glassgrad::{DType, Generator, Result, Tensor};
//!
//! struct Mlp { fc1: Linear, act: ReLU, fc2: Linear, mode: Mode }
//!
//! impl Module for Mlp {
//!     fn forward(&self, x: &Tensor) -> Result<Tensor> {
//!         self.fc2.forward(&self.act.forward(&self.fc1.forward(x)?)?)
//!     }
//!     fn children(&self) -> Vec<(String, &dyn Module)> {
//!         vec![("fc1".into(), &self.fc1), ("act".into(), &self.act), ("fc2".into(), &self.fc2)]
//!     }
//!     fn mode(&self) -> &Mode { &self.mode }
//! }
//!
//! let mut rng = Generator::new(0);
//! let mut net = Mlp {
//!     fc1: Linear::new(4, 8, true, DType::F32, &mut rng)?,
//!     act: ReLU::new(),
//!     fc2: Linear::new(8, 1, true, DType::F32, &mut rng)?,
//!     mode: Mode::default(),
//! };
//! let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
//! assert_eq!(net.num_parameters(), 4 * 8 + 8 + 8 + 1);
//! net.eval();
//! assert!(!net.fc1.is_training());
//! # Ok::<(), glassgrad::Error>(())
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::device::Device;
use crate::error::Result;
use crate::tensor::Tensor;

/// The train/eval flag every module carries (PyTorch's `Module.training`); `true` when made.
///
/// It is an atomic so that [`Module::set_training`] can reach children through the shared
/// references that [`Module::children`] returns; the public switch still takes `&mut self`, so a
/// model being run on several threads cannot change mode underneath them.
#[derive(Debug)]
pub struct Mode(AtomicBool);

impl Mode {
    /// A flag in the given state.
    pub fn new(training: bool) -> Self {
        Mode(AtomicBool::new(training))
    }
    /// Whether the module is in training mode.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    pub(crate) fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed)
    }
}

impl Default for Mode {
    /// Training mode, as a freshly made PyTorch module.
    fn default() -> Self {
        Mode::new(true)
    }
}

impl Clone for Mode {
    fn clone(&self) -> Self {
        Mode::new(self.get())
    }
}

/// A differentiable function with parameters (see the module docs). Object-safe: containers hold
/// `Box<dyn Module>`. `Send + Sync`, so a model can be shared across threads for inference.
pub trait Module: Send + Sync {
    /// The forward pass.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// The tensors this module owns directly (not its children's), with local names, in
    /// registration order (PyTorch's order: `weight` before `bias`). Default: none.
    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// Non-trainable state that belongs in a checkpoint (running statistics), local names.
    /// Default: none.
    fn local_buffers(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// The direct sub-modules with their names, in registration order. Default: none.
    fn children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// This module's own train/eval flag.
    fn mode(&self) -> &Mode;

    /// Every parameter with its `state_dict` name: this module's own first, then each child's,
    /// prefixed with the child's name and a `.` (a pre-order walk, as PyTorch). A tensor reached
    /// twice (weights shared between two modules) is listed once, under its first name, as
    /// `torch.nn.Module.named_parameters` does.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (name, t) in collect(self, true, false) {
            if seen.insert(Arc::as_ptr(&t.0) as usize) {
                out.push((name, t));
            }
        }
        out
    }

    /// The parameters, in the order of [`Module::named_parameters`] (what an optimizer takes).
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters().into_iter().map(|(_, t)| t).collect()
    }

    /// Every buffer with its `state_dict` name (same naming as the parameters).
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        collect(self, false, true)
    }

    /// PyTorch's `state_dict()`: for each module in pre-order, its parameters then its buffers.
    /// The tensors are handles: writing into them (`set_data`) loads a checkpoint.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        collect(self, true, true)
    }

    /// Whether this module is in training mode.
    fn is_training(&self) -> bool {
        self.mode().get()
    }

    /// Puts this module and every descendant in training (`true`) or evaluation (`false`) mode.
    /// It sets each descendant's [`Mode`] flag directly, so a module that behaves differently in
    /// the two modes reads [`Module::is_training`] in its forward instead of overriding this.
    fn set_training(&mut self, on: bool) {
        self.mode().set(on);
        for (_, child) in self.children() {
            walk(child, "", &mut |_, m| m.mode().set(on));
        }
    }

    /// `set_training(true)`.
    fn train(&mut self) {
        self.set_training(true)
    }

    /// `set_training(false)`: dropout off, batch norm uses running statistics.
    fn eval(&mut self) {
        self.set_training(false)
    }

    /// Forgets the gradient of every parameter (`zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// Moves every parameter and buffer to `device` in place (`model.to(device)` in PyTorch): each
    /// tensor handle keeps its identity (optimizers made before or after see the moved values),
    /// its data is copied to the device ([`Tensor::move_to`]) and its old gradient dropped. Do
    /// this before making the optimizer whose state should live on the device.
    fn to_device(&self, device: &Device) -> Result<()> {
        for (_, t) in self.state_dict() {
            t.move_to(device)?;
        }
        Ok(())
    }

    /// The number of scalar parameters.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Tensor::numel).sum()
    }
}

/// Every module in the tree under `m` with its dotted path (`""` for `m` itself), in pre-order,
/// like `torch.nn.Module.named_modules`.
pub fn named_modules(m: &dyn Module) -> Vec<(String, &dyn Module)> {
    let mut out = Vec::new();
    walk(m, "", &mut |path, sub| out.push((path.to_string(), sub)));
    out
}

/// The parameters and/or buffers of `root` and every descendant, in pre-order (each module's
/// parameters before its buffers), named by their dotted paths.
fn collect<M: Module + ?Sized>(root: &M, params: bool, buffers: bool) -> Vec<(String, Tensor)> {
    let own = |p: Vec<(String, Tensor)>, b: Vec<(String, Tensor)>| {
        let p = if params { p } else { Vec::new() };
        let b = if buffers { b } else { Vec::new() };
        p.into_iter().chain(b)
    };
    // `root` may be unsized (`dyn Module`), so it is read directly rather than walked.
    let mut out: Vec<(String, Tensor)> = own(root.local_parameters(), root.local_buffers()).collect();
    for (name, child) in root.children() {
        walk(child, &name, &mut |path, m| {
            out.extend(own(m.local_parameters(), m.local_buffers()).map(|(n, t)| (join(path, &n), t)))
        });
    }
    out
}

/// Visits `m` and its descendants in pre-order with their dotted paths.
fn walk<'a>(m: &'a dyn Module, prefix: &str, f: &mut dyn FnMut(&str, &'a dyn Module)) {
    f(prefix, m);
    for (name, child) in m.children() {
        walk(child, &join(prefix, &name), f);
    }
}

/// `prefix.name`, or `name` at the root.
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}
