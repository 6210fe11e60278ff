//! Stops a run at the first non-finite number instead of training on it and writing it to disk.
//!
//! A learning rate that is too large makes the loss overflow to infinity and then NaN within a
//! few steps; every later step trains on NaN and every later checkpoint holds NaN. The training
//! loops call [`check_loss`] after each step and [`check_parameters`] before each checkpoint, so a
//! run that diverges stops with an error naming the epoch and the step, and the checkpoints
//! already on disk (all finite) stay the last ones.

use crate::error::{Error, Result};
use crate::nn::Module;

/// An error unless `loss`, the loss of step `step` (1-based) of epoch `epoch` (1-based), is
/// finite.
pub fn check_loss(model: &str, epoch: u64, step: usize, loss: f64, lr: f64) -> Result<()> {
    if loss.is_finite() {
        return Ok(());
    }
    Err(Error::invalid(
        "train",
        format!(
            "{model}: the training loss is {loss} at epoch {epoch}, step {step} (learning rate {lr:e}); \
             the run stopped there and wrote no checkpoint of that epoch (the earlier ones are finite). \
             A smaller --lr usually avoids it"
        ),
    ))
}

/// An error naming the first parameter of `model` that holds a NaN or an infinity after epoch
/// `epoch`, before its checkpoint is written.
pub fn check_parameters(name: &str, model: &dyn Module, epoch: u64, lr: f64) -> Result<()> {
    for (p, t) in model.named_parameters() {
        if t.to_f64_vec().iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "train",
                format!(
                    "{name}: parameter {p} holds a non-finite value after epoch {epoch} (learning rate {lr:e}); \
                     the run stopped before writing its checkpoint. A smaller --lr usually avoids it"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_epoch_and_step() {
        assert!(check_loss("digits", 2, 7, 0.5, 1e-3).is_ok());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = check_loss("digits", 2, 7, bad, 1e30).unwrap_err().to_string();
            assert!(e.contains("epoch 2, step 7") && e.contains("learning rate 1e30"), "{e}");
        }
    }
}
