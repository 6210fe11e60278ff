//! `Dropout`: $y = m \odot x / (1 - p)$ with $m_i \sim \text{Bernoulli}(1 - p)$ in training mode,
//! the identity in evaluation mode (`torch.nn.Dropout`). The formula and its gradient are in
//! [`crate::ops::dropout`].

use std::sync::Mutex;

use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::rng::Generator;
use crate::tensor::Tensor;

/// Inverted dropout with probability `p`; masks come from the module's own seeded generator.
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f64,
    rng: Mutex<Generator>,
    mode: Mode,
}

impl Dropout {
    /// Dropout with probability `p` in $[0, 1]$, masks drawn from a generator seeded with `seed`.
    pub fn new(p: f64, seed: u64) -> Result<Dropout> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid("Dropout", format!("p must be in [0, 1], got {p}")));
        }
        Ok(Dropout { p, rng: Mutex::new(Generator::new(seed)), mode: Mode::default() })
    }

    /// Reseeds the masks' generator.
    pub fn set_seed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = Generator::new(seed);
    }
}

impl Clone for Dropout {
    fn clone(&self) -> Self {
        Dropout {
            p: self.p,
            rng: Mutex::new(self.rng.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            mode: self.mode.clone(),
        }
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        x.dropout(self.p, self.mode.get(), &mut rng)
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}
