//! Adam, `torch.optim.Adam` (with the AMSGrad variant).
//!
//! For each parameter $w$ with gradient $g_t$ at its step $t = 1, 2, \dots$ (learning rate
//! $\gamma$, betas $\beta_1, \beta_2$, $\epsilon$, weight decay $\lambda$):
//!
//! $$
//! \begin{aligned}
//! d_t &= \pm g_t + \lambda w_{t-1} && (- \text{ when maximizing; } \lambda \text{ is an L2 penalty, not AdamW's decoupled decay})\\
//! m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, d_t && (m_0 = 0;\ \text{computed as } \operatorname{lerp}(m_{t-1}, d_t, 1 - \beta_1))\\
//! v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, d_t^2 && (v_0 = 0)\\
//! \hat v_t &= \max(\hat v_{t-1}, v_t) && (\text{AMSGrad only; otherwise } \hat v_t = v_t)\\
//! w_t &= w_{t-1} - \frac{\gamma}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
//! \end{aligned}
//! $$
//!
//! The bias corrections $1 - \beta^t$ and the step size are computed in f64, the elementwise part
//! in the parameter's dtype, as PyTorch's single-tensor CPU implementation does.
//! $\operatorname{lerp}(a, b, s) = a + s (b - a)$ for $|s| < 0.5$, else $b - (b - a)(1 - s)$.
//!
//! State per parameter: the step count $t$, $m$ (`exp_avg`), $v$ (`exp_avg_sq`) and, with
//! AMSGrad, $\hat v$ (`max_exp_avg_sq`).

use ndarray::{ArcArray, IxDyn, Zip};

use super::optimizer::{
    OptimFloat, Optimizer, Update, apply_update, check_params, load_buffer, non_negative, parse_state,
};
use super::optimizer::{state_buffer, zip_each};
use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Tensor};

/// Hyperparameters of [`Adam`], PyTorch's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
}

impl Default for AdamConfig {
    /// `lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8`, no weight decay, no AMSGrad.
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamConfig {
    /// The defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamConfig { lr, ..Default::default() }
    }
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// L2 penalty $\lambda$ added to the gradient (torch.optim.Adam's `weight_decay`).
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

    /// The hyperparameters as the GPU update takes them.
    #[cfg(feature = "cuda")]
    pub(crate) fn cuda_params(&self) -> crate::device::cuda::optim::AdamParams {
        crate::device::cuda::optim::AdamParams {
            lr: self.lr,
            betas: self.betas,
            eps: self.eps,
            weight_decay: self.weight_decay,
            amsgrad: self.amsgrad,
            maximize: self.maximize,
        }
    }

    fn validate(&self) -> Result<()> {
        non_negative("Adam", "learning rate", self.lr)?;
        non_negative("Adam", "epsilon", self.eps)?;
        non_negative("Adam", "weight_decay", self.weight_decay)?;
        for (i, beta) in [self.betas.0, self.betas.1].into_iter().enumerate() {
            if !(0.0..1.0).contains(&beta) {
                return Err(Error::invalid("Adam", format!("invalid beta parameter at index {i}: {beta}")));
            }
        }
        Ok(())
    }
}

/// The state of one parameter.
#[derive(Clone, Default)]
struct AdamState {
    step: u64,
    exp_avg: Option<Data>,
    exp_avg_sq: Option<Data>,
    max_exp_avg_sq: Option<Data>,
}

/// `torch.optim.Adam` (formulas in the module docs).
pub struct Adam {
    params: Vec<Tensor>,
    config: AdamConfig,
    state: Vec<AdamState>,
}

impl Adam {
    /// An optimizer over `params` (float leaves, each once).
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Result<Adam> {
        config.validate()?;
        check_params("Adam", &params)?;
        let state = vec![AdamState::default(); params.len()];
        Ok(Adam { params, config, state })
    }

    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

struct AdamUpdate<'a> {
    c: AdamConfig,
    s: &'a mut AdamState,
}

impl Update for AdamUpdate<'_> {
    fn run<T: OptimFloat>(&mut self, w: &mut ArcArray<T, IxDyn>, g: &ArcArray<T, IxDyn>) -> Result<()> {
        let c = self.c;
        let (beta1, beta2) = c.betas;
        let t = self.s.step as f64;
        // Scalars in f64, as PyTorch computes them in Python.
        let bias_correction1 = 1.0 - beta1.powf(t);
        let bias_correction2 = 1.0 - beta2.powf(t);
        let step_size = c.lr / bias_correction1;
        let bc2_sqrt = T::scalar(bias_correction2.sqrt());
        let neg_step_size = T::scalar(-step_size);
        let (s1, b2, one_minus_b2) = (T::scalar(1.0 - beta1), T::scalar(beta2), T::scalar(1.0 - beta2));
        let (eps, lambda) = (T::scalar(c.eps), T::scalar(c.weight_decay));
        let (decay, maximize) = (c.weight_decay != 0.0, c.maximize);
        let half = T::scalar(0.5);
        let one = T::scalar(1.0);

        let shape = w.shape().to_vec();
        let n = w.len();
        let m = state_buffer::<T>("Adam", &mut self.s.exp_avg, &shape)?;
        let v = state_buffer::<T>("Adam", &mut self.s.exp_avg_sq, &shape)?;
        let k = Consts { s1, b2, one_minus_b2, eps, lambda, bc2_sqrt, neg_step_size, one };
        let flags = (maximize, decay, s1 < half);
        if c.amsgrad {
            let v_max = state_buffer::<T>("Adam", &mut self.s.max_exp_avg_sq, &shape)?;
            let zip = Zip::from(w.view_mut())
                .and(g.view())
                .and(m.view_mut())
                .and(v.view_mut())
                .and(v_max.view_mut());
            zip_each!(zip, n, |w: &mut T, &g: &T, m: &mut T, v: &mut T, v_max: &mut T| {
                moments(*w, g, m, v, &k, flags);
                // torch.maximum: NaN propagates
                *v_max = if v_max.is_nan() || *v > *v_max || v.is_nan() { *v } else { *v_max };
                apply(w, *m, *v_max, &k);
            });
        } else if let (Some(w), Some(g), Some(m), Some(v)) =
            (w.as_slice_mut(), g.as_slice(), m.as_slice_mut(), v.as_slice_mut())
        {
            match flags {
                (false, false, true) => slices::<T, false, false, true>(w, g, m, v, &k),
                (false, false, false) => slices::<T, false, false, false>(w, g, m, v, &k),
                (false, true, true) => slices::<T, false, true, true>(w, g, m, v, &k),
                (false, true, false) => slices::<T, false, true, false>(w, g, m, v, &k),
                (true, false, true) => slices::<T, true, false, true>(w, g, m, v, &k),
                (true, false, false) => slices::<T, true, false, false>(w, g, m, v, &k),
                (true, true, true) => slices::<T, true, true, true>(w, g, m, v, &k),
                (true, true, false) => slices::<T, true, true, false>(w, g, m, v, &k),
            }
        } else {
            let zip = Zip::from(w.view_mut()).and(g.view()).and(m.view_mut()).and(v.view_mut());
            zip_each!(zip, n, |w: &mut T, &g: &T, m: &mut T, v: &mut T| {
                moments(*w, g, m, v, &k, flags);
                apply(w, *m, *v, &k);
            });
        }
        Ok(())
    }
}

/// The per-step scalars of the update, in the parameter's dtype.
struct Consts<T> {
    s1: T,
    b2: T,
    one_minus_b2: T,
    eps: T,
    lambda: T,
    bc2_sqrt: T,
    neg_step_size: T,
    one: T,
}

/// One step of $m$, $v$ for the element $(w, g)$; `flags` are (maximize, weight decay, the
/// low form of lerp). The one definition of the update's arithmetic, shared by every path.
#[inline(always)]
fn moments<T: OptimFloat>(w: T, g: T, m: &mut T, v: &mut T, k: &Consts<T>, flags: (bool, bool, bool)) {
    let (maximize, decay, lerp_low) = flags;
    let g = if maximize { -g } else { g };
    let d = if decay { g + k.lambda * w } else { g };
    *m = if lerp_low { *m + k.s1 * (d - *m) } else { d - (d - *m) * (k.one - k.s1) };
    *v = *v * k.b2 + k.one_minus_b2 * d * d;
}

/// The parameter update from $m_t$ and $\hat v_t$.
#[inline(always)]
fn apply<T: OptimFloat>(w: &mut T, m: T, v_hat: T, k: &Consts<T>) {
    let denom = v_hat.sqrt() / k.bc2_sqrt + k.eps;
    *w += k.neg_step_size * m / denom;
}

/// Elements above which [`slices`] splits the update across rayon's threads (below, waking the
/// pool costs more than the loop at the recommender bench's 50,000 values per table).
const SLICES_PARALLEL: usize = 1 << 18;

/// The non-AMSGrad update over contiguous slices: [`moments`] and [`apply`] with the flags as
/// constants, so that the choices leave the loop and the compiler vectorises it (square root and
/// division included); the same operations in the same order as the `Zip` path.
fn slices<T: OptimFloat, const MAXIMIZE: bool, const DECAY: bool, const LERP_LOW: bool>(
    w: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    k: &Consts<T>,
) {
    let run = |w: &mut [T], g: &[T], m: &mut [T], v: &mut [T]| {
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            moments(*w, g, m, v, k, (MAXIMIZE, DECAY, LERP_LOW));
            apply(w, *m, *v, k);
        }
    };
    if w.len() < SLICES_PARALLEL {
        return run(w, g, m, v);
    }
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 14;
    w.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((w, g), m), v)| run(w, g, m, v));
}

impl Adam {
    /// The step; `keep` is AdamW's decoupled decay factor $1 - \gamma\lambda$, which parameters
    /// on a GPU apply inside the Adam kernel (`AdamW` has already applied it to CPU parameters).
    pub(crate) fn step_with_keep(&mut self, keep: Option<f64>) -> Result<()> {
        #[cfg(not(feature = "cuda"))]
        let _ = keep;
        for (p, s) in self.params.iter().zip(self.state.iter_mut()) {
            let Some(g) = p.grad() else { continue };
            s.step += 1;
            #[cfg(feature = "cuda")]
            if p.device().is_cuda() {
                let slots = super::cuda::AdamSlots {
                    step: s.step,
                    exp_avg: &mut s.exp_avg,
                    exp_avg_sq: &mut s.exp_avg_sq,
                    max_exp_avg_sq: &mut s.max_exp_avg_sq,
                };
                super::cuda::adam_step(p, &g, &self.config.cuda_params(), slots, keep)?;
                continue;
            }
            apply_update("Adam", p, &g, &mut AdamUpdate { c: self.config, s })?;
        }
        Ok(())
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        self.step_with_keep(None)
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
        let mut out = Vec::new();
        for (i, s) in self.state.iter().enumerate() {
            if s.step == 0 {
                continue;
            }
            // PyTorch keeps `step` as a float32 scalar tensor.
            out.push((format!("state.{i}.step"), Tensor::scalar(s.step as f32)));
            let named = [
                ("exp_avg", &s.exp_avg),
                ("exp_avg_sq", &s.exp_avg_sq),
                ("max_exp_avg_sq", &s.max_exp_avg_sq),
            ];
            for (name, d) in named {
                if let Some(d) = d {
                    out.push((format!("state.{i}.{name}"), Tensor::from_data(d.clone())));
                }
            }
        }
        out
    }

    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut fresh = vec![AdamState::default(); self.params.len()];
        for (i, name, t) in parse_state("Adam", state, self.params.len())? {
            let p = &self.params[i];
            let s = &mut fresh[i];
            match name {
                "step" => {
                    let v = t.item()?;
                    let whole = v >= 0.0 && v.fract() == 0.0;
                    if !whole || !matches!(t.dtype(), DType::F32 | DType::F64 | DType::I64) {
                        return Err(Error::invalid(
                            "Adam",
                            format!("state.{i}.step must be a whole number, got {v}"),
                        ));
                    }
                    s.step = v as u64;
                }
                "exp_avg" => s.exp_avg = Some(load_buffer("Adam", p, t)?),
                "exp_avg_sq" => s.exp_avg_sq = Some(load_buffer("Adam", p, t)?),
                "max_exp_avg_sq" => s.max_exp_avg_sq = Some(load_buffer("Adam", p, t)?),
                other => {
                    return Err(Error::invalid("Adam", format!("unknown state {other:?} for parameter {i}")));
                }
            }
        }
        self.state = fresh;
        Ok(())
    }
}
