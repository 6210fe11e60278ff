//! Row-sparse updates: SGD on the rows an embedding lookup used, and [`SparseAdam`],
//! `torch.optim.SparseAdam` (lazy Adam).
//!
//! A table $W$ $(V \times D)$ read with [`Tensor::embedding_sparse_grad`] gets a row-sparse
//! gradient ([`SparseGrad`]): rows $r_1 < \dots < r_n$ (unique) and their gradients
//! $g_1, \dots, g_n \in \mathbb{R}^D$. The optimizers here consume it with
//! [`Tensor::take_sparse_grad`] (which clears it) and touch rows $r_k$ only, so a step costs
//! $O(nD)$ however large $V$ is. For a large vocabulary this is the whole point: a batch of a few
//! hundred words updates a few hundred rows, not the whole table.
//!
//! ## Sparse SGD ([`SparseSgd`], `torch.optim.SGD` with a sparse gradient, no momentum)
//! $$W_{r_k,:} \leftarrow W_{r_k,:} - \gamma\, (\pm g_k) \qquad (- \text{ when maximizing}),$$
//! computed as $W + (-\gamma) g$ with $-\gamma$ rounded to the table's dtype (PyTorch's
//! `add_(grad, alpha=-lr)`). A parameter with a dense gradient gets the same rule on every row,
//! so one `SparseSgd` can drive a whole model.
//!
//! ## SparseAdam ([`SparseAdam`], `torch.optim.SparseAdam`)
//! Per parameter, a step count $t$ (advanced on each step where the parameter has a sparse
//! gradient) and dense moments $m, v$ $(V \times D)$, zero at first. For $k = 1..n$, with
//! $\tilde g_k = \pm g_k$ ($-$ when maximizing):
//!
//! $$
//! \begin{aligned}
//! u_k &= (1 - \beta_1)\,(\tilde g_k - m_{r_k}), & m_{r_k} &\leftarrow m_{r_k} + u_k,\\
//! s_k &= (1 - \beta_2)\,(\tilde g_k^2 - v_{r_k}), & v_{r_k} &\leftarrow v_{r_k} + s_k,\\
//! \alpha_t &= \gamma\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}, &
//! W_{r_k,:} &\leftarrow W_{r_k,:} + (-\alpha_t)\, \frac{m_{r_k}}{\sqrt{v_{r_k}} + \epsilon},
//! \end{aligned}
//! $$
//!
//! elementwise over the $D$ columns. This is torch's rule to the rounding: the moments are
//! updated as `old + (1 - β)(new - old)` (not `β·old + (1 - β)·new`), $\epsilon$ is added to
//! $\sqrt{v}$ *before* the bias correction (which is folded into $\alpha_t$, computed in f64 and
//! rounded to the table's dtype), and rows not in the gradient keep their $m$, $v$ and values
//! ("lazy" Adam: a row's moments decay only when it is used). Dense `Adam` stays exactly
//! `torch.optim.Adam` (see [`super::Adam`]); as in PyTorch, `SparseAdam` rejects a dense gradient.
//!
//! State per parameter, with `state_dict` names: `step`, `exp_avg` ($m$), `exp_avg_sq` ($v$).

use ndarray::{ArcArray, Axis, IxDyn, Zip};

use super::optimizer::{
    OptimFloat, Optimizer, Update, apply_update, check_params, load_buffer, non_negative, parse_state,
    state_buffer, zip_each,
};
use crate::error::{Error, Result};
use crate::tensor::SparseGrad;
use crate::tensor::{DType, Data, Tensor};

/// An update of the rows `rows` of one table, generic over its float type.
trait RowUpdate {
    /// `w` is the $(V, D)$ table, `g` the $(n, D)$ gradient of rows `rows` (checked, unique).
    fn run<T: OptimFloat>(
        &mut self,
        w: &mut ArcArray<T, IxDyn>,
        rows: &[usize],
        g: &ArcArray<T, IxDyn>,
    ) -> Result<()>;
}

/// Checks a sparse gradient against its $(V, D)$ table: values $(n, D)$ for $n$ rows, rows sorted,
/// unique and inside the table. Returns the rows as indices.
fn check_rows(op: &'static str, p: &Tensor, sg: &SparseGrad) -> Result<Vec<usize>> {
    let (ps, gs) = (p.shape(), sg.values.shape());
    if ps.len() != 2 || gs.len() != 2 || gs[1] != ps[1] || gs[0] != sg.rows.len() {
        return Err(Error::mismatch(
            op,
            &ps,
            &gs,
            format!(
                "a row-sparse gradient of a (V, D) table must have values (rows, D); {} rows given",
                sg.rows.len()
            ),
        ));
    }
    let v = ps[0];
    let mut rows = Vec::with_capacity(sg.rows.len());
    for (k, &r) in sg.rows.iter().enumerate() {
        if r < 0 || r as u64 >= v as u64 {
            return Err(Error::Index {
                op,
                index: r,
                size: v,
                shape: ps,
                msg: "sparse gradient row outside the table".into(),
            });
        }
        if k > 0 && sg.rows[k - 1] >= r {
            return Err(Error::invalid(op, "sparse gradient rows must be sorted and unique"));
        }
        rows.push(r as usize);
    }
    Ok(rows)
}

/// Checks a sparse gradient against its table and runs `update` on the table in place.
fn apply_rows<U: RowUpdate>(op: &'static str, p: &Tensor, sg: &SparseGrad, update: &mut U) -> Result<()> {
    let rows = check_rows(op, p, sg)?;
    let (ps, gs) = (p.shape(), sg.values.shape());
    let mut result = Ok(());
    match (p.dtype(), sg.values.data()) {
        (DType::F32, Data::F32(g)) => {
            p.update_data(op, |w| result = update.run::<f32>(w, &rows, &g), |_| {})?
        }
        (DType::F64, Data::F64(g)) => {
            p.update_data(op, |_| {}, |w| result = update.run::<f64>(w, &rows, &g))?
        }
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

/// The SGD row rule $W_r \mathrel{+}= (-\gamma)(\pm g)$.
struct SgdRows {
    lr: f64,
    maximize: bool,
}

impl RowUpdate for SgdRows {
    fn run<T: OptimFloat>(
        &mut self,
        w: &mut ArcArray<T, IxDyn>,
        rows: &[usize],
        g: &ArcArray<T, IxDyn>,
    ) -> Result<()> {
        let neg_lr = T::scalar(-self.lr);
        let maximize = self.maximize;
        for (k, &r) in rows.iter().enumerate() {
            Zip::from(w.index_axis_mut(Axis(0), r)).and(g.index_axis(Axis(0), k)).for_each(|w, &g| {
                let g = if maximize { -g } else { g };
                *w += neg_lr * g;
            });
        }
        Ok(())
    }
}

impl Update for SgdRows {
    /// The dense case: every element, same rule.
    fn run<T: OptimFloat>(&mut self, w: &mut ArcArray<T, IxDyn>, g: &ArcArray<T, IxDyn>) -> Result<()> {
        let neg_lr = T::scalar(-self.lr);
        let maximize = self.maximize;
        let n = w.len();
        let zip = Zip::from(w.view_mut()).and(g.view());
        zip_each!(zip, n, |w: &mut T, &g: &T| *w += neg_lr * if maximize { -g } else { g });
        Ok(())
    }
}

/// One SGD step on the rows of `p` named by `grad` (module docs): $W_{r_k} \mathrel{-}= \gamma\, g_k$.
pub fn sgd_sparse_step(p: &Tensor, grad: &SparseGrad, lr: f64) -> Result<()> {
    non_negative("SparseSGD", "learning rate", lr)?;
    sgd_rows(p, grad, lr, false)
}

/// The SGD row rule on `p`'s device: the CPU loop, or `kernels/optim.cu` on a GPU.
fn sgd_rows(p: &Tensor, sg: &SparseGrad, lr: f64, maximize: bool) -> Result<()> {
    #[cfg(feature = "cuda")]
    if p.device().is_cuda() {
        check_rows("SparseSGD", p, sg)?;
        return super::cuda::sparse_sgd_rows(p, sg, lr, maximize);
    }
    apply_rows("SparseSGD", p, sg, &mut SgdRows { lr, maximize })
}

/// Plain SGD (no momentum, no weight decay) that consumes row-sparse gradients, `torch.optim.SGD`
/// on a model with `sparse=True` embeddings. A parameter's sparse gradient is applied to its rows
/// and cleared; a dense gradient, if it has one, is applied to every element.
pub struct SparseSgd {
    params: Vec<Tensor>,
    lr: f64,
    maximize: bool,
}

impl SparseSgd {
    /// An optimizer over `params` (float leaves, each once) with learning rate `lr`.
    pub fn new(params: Vec<Tensor>, lr: f64) -> Result<SparseSgd> {
        non_negative("SparseSGD", "learning rate", lr)?;
        check_params("SparseSGD", &params)?;
        Ok(SparseSgd { params, lr, maximize: false })
    }

    /// Ascend instead of descend.
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

impl Optimizer for SparseSgd {
    fn step(&mut self) -> Result<()> {
        let mut rule = SgdRows { lr: self.lr, maximize: self.maximize };
        for p in &self.params {
            if let Some(g) = p.grad() {
                #[cfg(feature = "cuda")]
                if p.device().is_cuda() {
                    // Plain SGD (no momentum, decay or dampening): the same rule, w += (-lr)(±g).
                    let c = super::sgd::SgdConfig::new(self.lr).maximize(self.maximize);
                    super::cuda::sgd_step(p, &g, &c.cuda_params(), &mut None)?;
                } else {
                    apply_update("SparseSGD", p, &g, &mut rule)?;
                }
                #[cfg(not(feature = "cuda"))]
                apply_update("SparseSGD", p, &g, &mut rule)?;
            }
            if let Some(sg) = p.take_sparse_grad() {
                sgd_rows(p, &sg, self.lr, self.maximize)?;
            }
        }
        Ok(())
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Forgets dense and sparse gradients.
    fn zero_grad(&self) {
        for p in &self.params {
            p.zero_grad();
            p.zero_sparse_grad();
        }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Plain SGD keeps no state.
    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        match state.first() {
            None => Ok(()),
            Some((key, _)) => Err(Error::invalid("SparseSGD", format!("unexpected state key {key:?}"))),
        }
    }
}

/// Hyperparameters of [`SparseAdam`], PyTorch's defaults (no weight decay: SparseAdam has none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseAdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub maximize: bool,
}

impl Default for SparseAdamConfig {
    /// `lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8`.
    fn default() -> Self {
        SparseAdamConfig { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, maximize: false }
    }
}

impl SparseAdamConfig {
    /// The defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        SparseAdamConfig { lr, ..Default::default() }
    }
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    /// The hyperparameters as the GPU update takes them.
    #[cfg(feature = "cuda")]
    fn cuda_params(&self) -> crate::device::cuda::optim::SparseAdamParams {
        crate::device::cuda::optim::SparseAdamParams {
            lr: self.lr,
            betas: self.betas,
            eps: self.eps,
            maximize: self.maximize,
        }
    }

    fn validate(&self) -> Result<()> {
        non_negative("SparseAdam", "learning rate", self.lr)?;
        non_negative("SparseAdam", "epsilon", self.eps)?;
        for (i, beta) in [self.betas.0, self.betas.1].into_iter().enumerate() {
            if !(0.0..1.0).contains(&beta) {
                return Err(Error::invalid(
                    "SparseAdam",
                    format!("invalid beta parameter at index {i}: {beta}"),
                ));
            }
        }
        Ok(())
    }
}

/// The state of one parameter.
#[derive(Clone, Default)]
struct SparseAdamState {
    step: u64,
    exp_avg: Option<Data>,
    exp_avg_sq: Option<Data>,
}

/// `torch.optim.SparseAdam` (formulas in the module docs): lazy Adam on the rows named by each
/// parameter's row-sparse gradient.
pub struct SparseAdam {
    params: Vec<Tensor>,
    config: SparseAdamConfig,
    state: Vec<SparseAdamState>,
}

impl SparseAdam {
    /// An optimizer over `params` (float leaves, each once; each a $(V, D)$ table read with
    /// [`Tensor::embedding_sparse_grad`]).
    pub fn new(params: Vec<Tensor>, config: SparseAdamConfig) -> Result<SparseAdam> {
        config.validate()?;
        check_params("SparseAdam", &params)?;
        for (i, p) in params.iter().enumerate() {
            if p.dims() != 2 {
                return Err(Error::shape(
                    "SparseAdam",
                    &p.shape(),
                    format!("parameter {i} must be a (V, D) table"),
                ));
            }
        }
        let state = vec![SparseAdamState::default(); params.len()];
        Ok(SparseAdam { params, config, state })
    }

    pub fn config(&self) -> &SparseAdamConfig {
        &self.config
    }
}

struct AdamRows<'a> {
    c: SparseAdamConfig,
    s: &'a mut SparseAdamState,
}

impl RowUpdate for AdamRows<'_> {
    fn run<T: OptimFloat>(
        &mut self,
        w: &mut ArcArray<T, IxDyn>,
        rows: &[usize],
        g: &ArcArray<T, IxDyn>,
    ) -> Result<()> {
        let c = self.c;
        let (beta1, beta2) = c.betas;
        let t = self.s.step as f64;
        // α_t = γ √(1 - β₂ᵗ) / (1 - β₁ᵗ), in f64 as PyTorch computes it in Python.
        let step_size = c.lr * (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t));
        let neg_step = T::scalar(-step_size);
        let (s1, s2, eps) = (T::scalar(1.0 - beta1), T::scalar(1.0 - beta2), T::scalar(c.eps));
        let maximize = c.maximize;
        let shape = w.shape().to_vec();
        let m = state_buffer::<T>("SparseAdam", &mut self.s.exp_avg, &shape)?;
        let v = state_buffer::<T>("SparseAdam", &mut self.s.exp_avg_sq, &shape)?;
        for (k, &r) in rows.iter().enumerate() {
            Zip::from(w.index_axis_mut(Axis(0), r))
                .and(m.index_axis_mut(Axis(0), r))
                .and(v.index_axis_mut(Axis(0), r))
                .and(g.index_axis(Axis(0), k))
                .for_each(|w, m, v, &g| {
                    let g = if maximize { -g } else { g };
                    let u = (g - *m) * s1; // u_k = (1 - β₁)(g̃ - m)
                    let s = (g * g - *v) * s2; // s_k = (1 - β₂)(g̃² - v)
                    *m += u;
                    *v += s;
                    // W += (-α_t) · (m / (√v + ε))
                    *w += neg_step * (*m / (v.sqrt() + eps));
                });
        }
        Ok(())
    }
}

impl Optimizer for SparseAdam {
    fn step(&mut self) -> Result<()> {
        for (i, (p, s)) in self.params.iter().zip(self.state.iter_mut()).enumerate() {
            if p.grad().is_some() {
                return Err(Error::invalid(
                    "SparseAdam",
                    format!(
                        "parameter {i} has a dense gradient: SparseAdam does not support dense \
                         gradients (use Adam, or read the table with embedding_sparse_grad)"
                    ),
                ));
            }
            let Some(sg) = p.take_sparse_grad() else { continue };
            s.step += 1;
            if sg.rows.is_empty() {
                continue; // torch skips the update of an empty gradient (the step still counts)
            }
            #[cfg(feature = "cuda")]
            if p.device().is_cuda() {
                check_rows("SparseAdam", p, &sg)?;
                super::cuda::sparse_adam_rows(
                    p,
                    &sg,
                    &self.config.cuda_params(),
                    s.step,
                    &mut s.exp_avg,
                    &mut s.exp_avg_sq,
                )?;
                continue;
            }
            apply_rows("SparseAdam", p, &sg, &mut AdamRows { c: self.config, s })?;
        }
        Ok(())
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Forgets dense and sparse gradients.
    fn zero_grad(&self) {
        for p in &self.params {
            p.zero_grad();
            p.zero_sparse_grad();
        }
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
            // PyTorch's SparseAdam keeps `step` as a Python int.
            out.push((format!("state.{i}.step"), Tensor::scalar(s.step as i64)));
            for (name, d) in [("exp_avg", &s.exp_avg), ("exp_avg_sq", &s.exp_avg_sq)] {
                if let Some(d) = d {
                    out.push((format!("state.{i}.{name}"), Tensor::from_data(d.clone())));
                }
            }
        }
        out
    }

    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut fresh = vec![SparseAdamState::default(); self.params.len()];
        for (i, name, t) in parse_state("SparseAdam", state, self.params.len())? {
            let p = &self.params[i];
            let s = &mut fresh[i];
            match name {
                "step" => {
                    let v = t.item()?;
                    if !(v >= 0.0 && v.fract() == 0.0) {
                        return Err(Error::invalid(
                            "SparseAdam",
                            format!("state.{i}.step must be a whole number, got {v}"),
                        ));
                    }
                    s.step = v as u64;
                }
                "exp_avg" => s.exp_avg = Some(load_buffer("SparseAdam", p, t)?),
                "exp_avg_sq" => s.exp_avg_sq = Some(load_buffer("SparseAdam", p, t)?),
                other => {
                    return Err(Error::invalid(
                        "SparseAdam",
                        format!("unknown state {other:?} for parameter {i}"),
                    ));
                }
            }
        }
        self.state = fresh;
        Ok(())
    }
}
