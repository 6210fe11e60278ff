//! Stochastic gradient descent with momentum, `torch.optim.SGD`.
//!
//! For each parameter $w$ with gradient $g_t$ at step $t$ (learning rate $\gamma$, momentum
//! $\mu$, dampening $\tau$, weight decay $\lambda$):
//!
//! $$
//! \begin{aligned}
//! d_t &= \pm g_t + \lambda w_{t-1} && (- \text{ when maximizing; the } \lambda \text{ term only when } \lambda \ne 0)\\
//! b_t &= \begin{cases} d_t & \text{first step with momentum} \\ \mu\, b_{t-1} + (1 - \tau)\, d_t & \text{after} \end{cases} && (\mu \ne 0)\\
//! d_t &\leftarrow \begin{cases} d_t + \mu\, b_t & \text{nesterov} \\ b_t & \text{otherwise} \end{cases} && (\mu \ne 0)\\
//! w_t &= w_{t-1} - \gamma\, d_t
//! \end{aligned}
//! $$
//!
//! State per parameter: the momentum buffer $b$ (none when $\mu = 0$). Nesterov needs
//! $\mu > 0$ and $\tau = 0$, as in PyTorch.

use ndarray::{ArcArray, IxDyn, Zip};

use super::optimizer::{
    OptimFloat, Optimizer, Update, apply_update, check_params, load_buffer, non_negative, parse_state,
};
use super::optimizer::{state_buffer, zip_each};
use crate::error::{Error, Result};
use crate::tensor::{Data, Tensor};

/// Hyperparameters of [`Sgd`], PyTorch's defaults except `lr`, which has none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        SgdConfig { lr, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false }
    }
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }
    /// L2 penalty $\lambda$ added to the gradient: $d = g + \lambda w$.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
    /// Ascend instead of descend (the gradient's sign flipped).
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    /// The hyperparameters as the GPU update takes them.
    #[cfg(feature = "cuda")]
    pub(crate) fn cuda_params(&self) -> crate::device::cuda::optim::SgdParams {
        crate::device::cuda::optim::SgdParams {
            lr: self.lr,
            momentum: self.momentum,
            dampening: self.dampening,
            weight_decay: self.weight_decay,
            nesterov: self.nesterov,
            maximize: self.maximize,
        }
    }

    fn validate(&self) -> Result<()> {
        non_negative("SGD", "learning rate", self.lr)?;
        non_negative("SGD", "momentum", self.momentum)?;
        non_negative("SGD", "weight_decay", self.weight_decay)?;
        if !self.dampening.is_finite() {
            return Err(Error::invalid("SGD", format!("invalid dampening: {}", self.dampening)));
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::invalid("SGD", "nesterov momentum requires a momentum and zero dampening"));
        }
        Ok(())
    }
}

/// `torch.optim.SGD` (formulas in the module docs).
pub struct Sgd {
    params: Vec<Tensor>,
    config: SgdConfig,
    /// The momentum buffer $b$ of each parameter, once it has been updated with momentum.
    momentum_buffers: Vec<Option<Data>>,
}

impl Sgd {
    /// An optimizer over `params` (float leaves, each once).
    pub fn new(params: Vec<Tensor>, config: SgdConfig) -> Result<Sgd> {
        config.validate()?;
        check_params("SGD", &params)?;
        let momentum_buffers = vec![None; params.len()];
        Ok(Sgd { params, config, momentum_buffers })
    }

    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

struct SgdUpdate<'a> {
    c: SgdConfig,
    buffer: &'a mut Option<Data>,
}

impl Update for SgdUpdate<'_> {
    fn run<T: OptimFloat>(&mut self, w: &mut ArcArray<T, IxDyn>, g: &ArcArray<T, IxDyn>) -> Result<()> {
        let c = self.c;
        let (neg_lr, lambda, mu) = (T::scalar(-c.lr), T::scalar(c.weight_decay), T::scalar(c.momentum));
        let one_minus_tau = T::scalar(1.0 - c.dampening);
        let (decay, maximize, nesterov) = (c.weight_decay != 0.0, c.maximize, c.nesterov);
        // d_t = ±g_t + λ w_{t-1}
        let direction = move |w: T, g: T| {
            let g = if maximize { -g } else { g };
            if decay { g + lambda * w } else { g }
        };
        let n = w.len();
        if c.momentum == 0.0 {
            let zip = Zip::from(w.view_mut()).and(g.view());
            zip_each!(zip, n, |w: &mut T, &g: &T| *w += neg_lr * direction(*w, g));
            return Ok(());
        }
        let first = self.buffer.is_none();
        let b = state_buffer::<T>("SGD", self.buffer, w.shape())?;
        let zip = Zip::from(w.view_mut()).and(g.view()).and(b.view_mut());
        zip_each!(zip, n, |w: &mut T, &g: &T, b: &mut T| {
            let d = direction(*w, g);
            *b = if first { d } else { *b * mu + one_minus_tau * d };
            let d = if nesterov { d + mu * *b } else { *b };
            *w += neg_lr * d;
        });
        Ok(())
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        for (p, buffer) in self.params.iter().zip(self.momentum_buffers.iter_mut()) {
            let Some(g) = p.grad() else { continue };
            #[cfg(feature = "cuda")]
            if p.device().is_cuda() {
                super::cuda::sgd_step(p, &g, &self.config.cuda_params(), buffer)?;
                continue;
            }
            apply_update("SGD", p, &g, &mut SgdUpdate { c: self.config, buffer })?;
        }
        Ok(())
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let buffers = self.momentum_buffers.iter().enumerate();
        buffers
            .filter_map(|(i, b)| Some((format!("state.{i}.momentum_buffer"), Tensor::from_data(b.clone()?))))
            .collect()
    }

    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut buffers = vec![None; self.params.len()];
        for (i, name, t) in parse_state("SGD", state, self.params.len())? {
            if name != "momentum_buffer" {
                return Err(Error::invalid("SGD", format!("unknown state {name:?} for parameter {i}")));
            }
            buffers[i] = Some(load_buffer("SGD", &self.params[i], t)?);
        }
        self.momentum_buffers = buffers;
        Ok(())
    }
}
