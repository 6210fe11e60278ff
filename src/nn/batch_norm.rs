//! `BatchNorm2d`: batch normalisation over the channels of $(N, C, H, W)$ images, as
//! `torch.nn.BatchNorm2d`. The formula, its gradient and the running-statistics update live with
//! the op ([`crate::ops::batch_norm`]):
//! $$y_{n,c,h,w} = \gamma_c \frac{x_{n,c,h,w} - \mu_c}{\sqrt{\sigma^2_c + \varepsilon}} + \beta_c .$$
//!
//! * In **training** mode $\mu_c$, $\sigma^2_c$ are the batch's mean and biased variance over
//!   $(n, h, w)$, and the running statistics move toward them:
//!   $\hat\mu \leftarrow (1 - m)\hat\mu + m\mu$, $\hat\sigma^2 \leftarrow (1 - m)\hat\sigma^2 +
//!   m \frac{M}{M-1}\sigma^2$ ($M = NHW$). `num_batches_tracked` counts the updates; with
//!   `momentum = None` the factor is $m = 1/\texttt{num\_batches\_tracked}$ (a cumulative average).
//! * In **evaluation** mode the running statistics are used (batch statistics when the module
//!   does not track them).
//!
//! Parameters `weight` $\gamma$ (ones) and `bias` $\beta$ (zeros) when `affine`; buffers
//! `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (0, i64) when
//! `track_running_stats`: PyTorch's defaults and `state_dict` names.

use super::module::{Mode, Module};
use crate::error::{Error, Result};
use crate::ops::batch_norm::BatchNormParams;
use crate::tensor::{DType, Data, Tensor};

/// `torch.nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
/// track_running_stats=True)`.
#[derive(Clone)]
pub struct BatchNorm2d {
    /// $\gamma$, $(C)$, ones, requires a gradient; `None` unless `affine`.
    pub weight: Option<Tensor>,
    /// $\beta$, $(C)$, zeros, requires a gradient; `None` unless `affine`.
    pub bias: Option<Tensor>,
    /// $\hat\mu$, $(C)$; `None` unless `track_running_stats`.
    pub running_mean: Option<Tensor>,
    /// $\hat\sigma^2$, $(C)$; `None` unless `track_running_stats`.
    pub running_var: Option<Tensor>,
    /// The number of training batches seen, a 0-dimensional i64 tensor.
    pub num_batches_tracked: Option<Tensor>,
    pub eps: f64,
    /// `None`: cumulative moving average ($m = 1/\texttt{num\_batches\_tracked}$).
    pub momentum: Option<f64>,
    mode: Mode,
}

impl BatchNorm2d {
    /// `BatchNorm2d(num_features)` with PyTorch's defaults (eps 1e-5, momentum 0.1, affine,
    /// tracking running statistics).
    pub fn new(num_features: usize, dtype: DType) -> Result<BatchNorm2d> {
        BatchNorm2d::with_options(num_features, 1e-5, Some(0.1), true, true, dtype)
    }

    /// Every option of `torch.nn.BatchNorm2d`.
    pub fn with_options(
        num_features: usize,
        eps: f64,
        momentum: Option<f64>,
        affine: bool,
        track_running_stats: bool,
        dtype: DType,
    ) -> Result<BatchNorm2d> {
        if !dtype.is_float() {
            return Err(Error::UnsupportedDType {
                op: "BatchNorm2d",
                dtype,
                shape: vec![num_features],
                expected: "f32 or f64",
            });
        }
        if num_features == 0 {
            return Err(Error::invalid("BatchNorm2d", "num_features must be at least 1"));
        }
        let c = [num_features];
        let (weight, bias) = if affine {
            (
                Some(Tensor::ones(&c, dtype)?.requires_grad_()?),
                Some(Tensor::zeros(&c, dtype)?.requires_grad_()?),
            )
        } else {
            (None, None)
        };
        let (running_mean, running_var, num_batches_tracked) = if track_running_stats {
            (Some(Tensor::zeros(&c, dtype)?), Some(Tensor::ones(&c, dtype)?), Some(Tensor::scalar(0i64)))
        } else {
            (None, None, None)
        };
        Ok(BatchNorm2d {
            weight,
            bias,
            running_mean,
            running_var,
            num_batches_tracked,
            eps,
            momentum,
            mode: Mode::default(),
        })
    }

    pub fn num_features(&self) -> usize {
        let t = self.weight.as_ref().or(self.running_mean.as_ref());
        t.map_or(0, |t| t.shape()[0])
    }

    /// The count of batches seen in training (0 when not tracking).
    pub fn batches_tracked(&self) -> i64 {
        self.num_batches_tracked.as_ref().and_then(|t| t.item().ok()).map_or(0, |v| v as i64)
    }
}

impl Module for BatchNorm2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = x.shape();
        if s.len() != 4 {
            return Err(Error::shape(
                "BatchNorm2d",
                &s,
                format!("expected a 4-D input (N, C, H, W), got {} dimensions", s.len()),
            ));
        }
        let training = self.is_training();
        let mut momentum = self.momentum.unwrap_or(0.0);
        if training && let Some(t) = &self.num_batches_tracked {
            let count = self.batches_tracked() + 1;
            t.set_data(Data::I64(ndarray::arr0(count).into_dyn().into_shared()))?;
            if self.momentum.is_none() {
                momentum = 1.0 / count as f64;
            }
        }
        // Batch statistics in training, and in evaluation when no running statistics are kept.
        let use_batch = training || self.running_mean.is_none();
        let p = BatchNormParams { training: use_batch, momentum, eps: self.eps };
        x.batch_norm(
            self.running_mean.as_ref(),
            self.running_var.as_ref(),
            self.weight.as_ref(),
            self.bias.as_ref(),
            &p,
        )
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        let mut p = Vec::new();
        if let Some(w) = &self.weight {
            p.push(("weight".to_string(), w.clone()));
        }
        if let Some(b) = &self.bias {
            p.push(("bias".to_string(), b.clone()));
        }
        p
    }

    fn local_buffers(&self) -> Vec<(String, Tensor)> {
        let mut b = Vec::new();
        for (name, t) in [
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ] {
            if let Some(t) = t {
                b.push((name.to_string(), t.clone()));
            }
        }
        b
    }

    fn mode(&self) -> &Mode {
        &self.mode
    }
}
