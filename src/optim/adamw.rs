//! AdamW, `torch.optim.AdamW`: Adam with decoupled weight decay (Loshchilov & Hutter).
//!
//! For each parameter $w$ with gradient $g_t$ at its step $t = 1, 2, \dots$ (learning rate
//! $\gamma$, betas $\beta_1, \beta_2$, $\epsilon$, weight decay $\lambda$):
//!
//! $$
//! \begin{aligned}
//! w &\leftarrow w_{t-1}\,(1 - \gamma\lambda) && \text{(decoupled: the decay never enters } m, v)\\
//! d_t &= \pm g_t && (- \text{ when maximizing})\\
//! m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, d_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, d_t^2\\
//! \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ (AMSGrad) or } v_t\\
//! w_t &= w - \frac{\gamma}{1 - \beta_1^t}\;\frac{m_t}{\sqrt{\hat v_t}/\sqrt{1 - \beta_2^t} + \epsilon}
//! \end{aligned}
//! $$
//!
//! Compare [`Adam`](super::Adam)'s `weight_decay`, an L2 penalty added to $d_t$ (and so scaled by
//! the adaptive denominator). The second half is Adam's update exactly, so [`AdamW`] runs the
//! decay and then an [`Adam`] with $\lambda = 0$; the state (`step`, `exp_avg`, `exp_avg_sq`,
//! `max_exp_avg_sq`) has PyTorch's names. Default $\lambda = 0.01$, as PyTorch's.

use super::adam::{Adam, AdamConfig};
use super::optimizer::{Optimizer, non_negative};
use crate::error::Result;
use crate::tensor::Tensor;

/// Hyperparameters of [`AdamW`], PyTorch's defaults (`weight_decay = 0.01`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// The decoupled decay $\lambda$: $w \leftarrow w(1 - \gamma\lambda)$ before each update.
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.01,
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamWConfig {
    /// The defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamWConfig { lr, ..Default::default() }
    }
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    fn adam(&self) -> AdamConfig {
        AdamConfig::new(self.lr)
            .betas(self.betas.0, self.betas.1)
            .eps(self.eps)
            .amsgrad(self.amsgrad)
            .maximize(self.maximize)
    }
}

/// `torch.optim.AdamW` (formulas in the module docs).
pub struct AdamW {
    adam: Adam,
    weight_decay: f64,
}

impl AdamW {
    /// An optimizer over `params` (float leaves, each once).
    pub fn new(params: Vec<Tensor>, config: AdamWConfig) -> Result<AdamW> {
        non_negative("AdamW", "weight_decay", config.weight_decay)?;
        let adam = Adam::new(params, config.adam())?;
        Ok(AdamW { adam, weight_decay: config.weight_decay })
    }

    /// The configuration (the learning rate as last set).
    pub fn config(&self) -> AdamWConfig {
        let c = self.adam.config();
        AdamWConfig {
            lr: c.lr,
            betas: c.betas,
            eps: c.eps,
            weight_decay: self.weight_decay,
            amsgrad: c.amsgrad,
            maximize: c.maximize,
        }
    }
}

impl Optimizer for AdamW {
    fn step(&mut self) -> Result<()> {
        let keep = 1.0 - self.adam.lr() * self.weight_decay;
        if self.weight_decay != 0.0 {
            // w ← w (1 − γλ), the factor rounded to the parameter's dtype (PyTorch's `mul_`).
            // Parameters on a GPU do this inside the Adam kernel (`step_with_keep`).
            for p in self.adam.params() {
                if p.grad().is_none() || p.device().is_cuda() {
                    continue;
                }
                p.update_data(
                    "AdamW",
                    |w| {
                        let k = keep as f32;
                        w.mapv_inplace(|v| v * k)
                    },
                    |w| w.mapv_inplace(|v| v * keep),
                )?;
            }
        }
        self.adam.step_with_keep((self.weight_decay != 0.0).then_some(keep))
    }

    fn params(&self) -> &[Tensor] {
        self.adam.params()
    }

    fn lr(&self) -> f64 {
        self.adam.lr()
    }

    fn set_lr(&mut self, lr: f64) {
        self.adam.set_lr(lr)
    }

    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        self.adam.state_tensors()
    }

    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.adam.load_state_tensors(state)
    }
}
