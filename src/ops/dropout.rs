//! Inverted dropout, `F.dropout(x, p, training)`.
//!
//! Each element is kept with probability $1 - p$ and scaled so that the expectation is unchanged:
//!
//! $$m_i \sim \text{Bernoulli}(1 - p), \qquad y_i = \frac{m_i\, x_i}{1 - p}, \qquad
//!   \frac{\partial L}{\partial x_i} = \frac{m_i}{1 - p}\, g_i .$$
//!
//! Shapes: $y$ has the shape of $x$. Saved for backward: the scaled mask $m / (1 - p)$ (it is the
//! second factor of an elementwise product, so the gradient comes from [`Tensor::mul`]'s rule).
//! Out of training ($p = 0$ or `training = false`) the op is the identity and records nothing.
//! $p = 1$ zeroes everything (PyTorch's convention; no division by zero).
//!
//! **Randomness.** The mask is drawn from the given [`Generator`], one uniform $u_i \in [0, 1)$ per
//! element in row-major order, $m_i = [u_i \ge p]$: the same seed gives the same mask whatever the
//! thread count. (PyTorch's masks come from its own generator, so the two engines agree on the
//! rule, not on the draws.) On a GPU the mask is drawn on the host the same way and copied to
//! $x$'s device before the product, so one seed gives one mask on every device.

use crate::error::{Error, Result};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

impl Tensor {
    /// `F.dropout(x, p, training)` with the mask drawn from `rng` (see the module docs).
    pub fn dropout(&self, p: f64, training: bool, rng: &mut Generator) -> Result<Tensor> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                "dropout",
                format!("p must be in [0, 1], got {p} (x {:?})", self.shape()),
            ));
        }
        let dtype = self.dtype();
        if !dtype.is_float() {
            return Err(Error::UnsupportedDType {
                op: "dropout",
                dtype,
                shape: self.shape(),
                expected: "f32 or f64",
            });
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        // Drawn on the host (the same seed gives the same mask on every device), then moved.
        let mask = dropout_mask(&self.shape(), p, dtype, rng)?.to(&self.device())?;
        self.mul(&mask)
    }
}

/// The scaled mask $m_i / (1 - p)$, $m_i = [u_i \ge p]$ (all zeros when $p = 1$).
pub fn dropout_mask(shape: &[usize], p: f64, dtype: DType, rng: &mut Generator) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
    let values: Vec<f64> = (0..n).map(|_| if rng.uniform() >= p { scale } else { 0.0 }).collect();
    Tensor::from_vec(values, shape)?.to_dtype(dtype)
}
