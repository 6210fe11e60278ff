//! Parameter groups, PyTorch's `optimizer.param_groups`: sets of parameters each with its own
//! hyperparameters (learning rate, weight decay, ...), stepped together.
//!
//! A group is an optimizer over its own parameters; [`ParamGroups`] holds several and is itself an
//! [`Optimizer`]. Every update rule is per parameter, so this is exactly PyTorch's
//! `Opt([{params: P_1, lr: γ_1}, {params: P_2, lr: γ_2}])`:
//! $$w \in P_k:\quad w_t = \operatorname{update}_k(w_{t-1}, g_t; \gamma_k, \dots)$$
//!
//! Parameters are numbered across the groups in order (group 0's first), which is how the state
//! keys `state.<i>.<name>` number them, as in PyTorch's `state_dict`. [`Optimizer::lr`] is group
//! 0's rate; [`Optimizer::set_lr`] sets group 0's to `lr` and scales the others by the same factor
//! (keeping their ratios); schedulers use [`Optimizer::group_lrs`] / [`Optimizer::set_group_lrs`]
//! to scale each group from its own base rate, as PyTorch's do.

use std::collections::HashSet;
use std::sync::Arc;

use super::optimizer::{Optimizer, parse_state};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Several optimizers, one per parameter group, stepped as one (see the module docs).
pub struct ParamGroups {
    groups: Vec<Box<dyn Optimizer>>,
    /// Every group's parameters, in order.
    params: Vec<Tensor>,
    /// The index of each group's first parameter in `params`.
    offsets: Vec<usize>,
}

impl ParamGroups {
    /// Groups `groups` (at least one; no parameter in two groups).
    pub fn new(groups: Vec<Box<dyn Optimizer>>) -> Result<ParamGroups> {
        if groups.is_empty() {
            return Err(Error::invalid("ParamGroups", "needs at least one group"));
        }
        let mut seen = HashSet::new();
        let mut params = Vec::new();
        let mut offsets = Vec::new();
        for (k, g) in groups.iter().enumerate() {
            offsets.push(params.len());
            for p in g.params() {
                if !seen.insert(Arc::as_ptr(&p.0) as usize) {
                    return Err(Error::invalid(
                        "ParamGroups",
                        format!("a parameter of group {k} appears in more than one group"),
                    ));
                }
                params.push(p.clone());
            }
        }
        Ok(ParamGroups { groups, params, offsets })
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Never true (a `ParamGroups` has at least one group).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Group `k`'s optimizer.
    pub fn group(&self, k: usize) -> Option<&dyn Optimizer> {
        self.groups.get(k).map(|g| g.as_ref())
    }
}

impl Optimizer for ParamGroups {
    fn step(&mut self) -> Result<()> {
        for g in &mut self.groups {
            g.step()?;
        }
        Ok(())
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    fn lr(&self) -> f64 {
        self.groups[0].lr() // ok: `new` refuses an empty list
    }

    fn set_lr(&mut self, lr: f64) {
        let base = self.lr();
        for (k, g) in self.groups.iter_mut().enumerate() {
            let new = if k == 0 || base == 0.0 { lr } else { g.lr() * lr / base };
            g.set_lr(new);
        }
    }

    fn group_lrs(&self) -> Vec<f64> {
        self.groups.iter().map(|g| g.lr()).collect()
    }

    fn set_group_lrs(&mut self, lrs: &[f64]) -> Result<()> {
        if lrs.len() != self.groups.len() {
            return Err(Error::invalid(
                "ParamGroups",
                format!("{} learning rates for {} groups", lrs.len(), self.groups.len()),
            ));
        }
        for (g, &lr) in self.groups.iter_mut().zip(lrs) {
            g.set_lr(lr);
        }
        Ok(())
    }

    fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (g, &off) in self.groups.iter().zip(&self.offsets) {
            for (key, t) in g.state_tensors() {
                let renumbered = key
                    .strip_prefix("state.")
                    .and_then(|r| r.split_once('.'))
                    .and_then(|(i, name)| Some(format!("state.{}.{name}", i.parse::<usize>().ok()? + off)));
                out.push((renumbered.unwrap_or(key), t));
            }
        }
        out
    }

    fn load_state_tensors(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut per_group: Vec<Vec<(String, Tensor)>> = vec![Vec::new(); self.groups.len()];
        for (i, name, t) in parse_state("ParamGroups", state, self.params.len())? {
            let k = self.offsets.iter().rposition(|&off| off <= i).unwrap_or(0);
            per_group[k].push((format!("state.{}.{name}", i - self.offsets[k]), t.clone()));
        }
        for (g, s) in self.groups.iter_mut().zip(per_group) {
            g.load_state_tensors(&s)?;
        }
        Ok(())
    }
}
