//! `Sequential`: modules applied one after the other, $y = f_n(\dots f_2(f_1(x)))$.
//!
//! Children are named by position, `"0"`, `"1"`, ..., so parameters are named `0.weight`,
//! `2.bias`, as in a PyTorch `nn.Sequential` state_dict.

use super::module::{Mode, Module};
use crate::error::Result;
use crate::tensor::Tensor;

/// A chain of modules, `torch.nn.Sequential`. Built with [`Sequential::add`]:
///
/// ```
/// use glassgrad::nn::{Linear, Module, ReLU, Sequential};
/// use glassgrad::{DType, Generator};
/// let mut rng = Generator::new(0);
/// let net = Sequential::new()
///     .add(Linear::new(8, 16, true, DType::F32, &mut rng)?)
///     .add(ReLU::new())
///     .add(Linear::new(16, 1, true, DType::F32, &mut rng)?);
/// assert_eq!(net.named_parameters()[2].0, "2.weight");
/// # Ok::<(), glassgrad::Error>(())
/// ```
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
    mode: Mode,
}

impl Sequential {
    /// An empty chain (its forward is the identity).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `m` (builder style).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, m: impl Module + 'static) -> Self {
        self.layers.push(Box::new(m));
        self
    }

    /// Appends an already boxed module.
    pub fn push(&mut self, m: Box<dyn Module>) {
        self.layers.push(m);
    }

    /// The `i`-th module.
    pub fn get(&self, i: usize) -> Option<&dyn Module> {
        self.layers.get(i).map(|m| m.as_ref())
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h)?;
        }
        Ok(h)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.layers.iter().enumerate().map(|(i, m)| (i.to_string(), m.as_ref())).collect()
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}
