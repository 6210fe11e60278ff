//! The tape: recording an op's [`Node`] ([`record`], [`record_multi`]) and walking the nodes back
//! ([`Tensor::backward`]), accumulating gradients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::grad_mode::{NoGradGuard, is_grad_enabled};
use crate::error::{Error, Result};
use crate::tensor::{Data, Node, Tensor};

/// True when an op over `inputs` must be recorded.
fn needs_grad(inputs: &[&Tensor]) -> bool {
    is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
}

/// Wraps the result of a single-output op, recording `backward` when any input requires a gradient.
pub(crate) fn record<F>(data: Data, op: &'static str, inputs: &[&Tensor], backward: F) -> Tensor
where
    F: FnOnce(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + 'static,
{
    let mut out = record_multi(vec![data], op, inputs, move |g: &[Tensor]| backward(&g[0]));
    out.pop().expect("record_multi returns one tensor per data") // ok: one data in, one tensor out
}

/// Wraps the results of a multi-output op (an RNN's output and final state, ...).
pub(crate) fn record_multi<F>(
    datas: Vec<Data>,
    op: &'static str,
    inputs: &[&Tensor],
    backward: F,
) -> Vec<Tensor>
where
    F: FnOnce(&[Tensor]) -> Result<Vec<Option<Tensor>>> + Send + 'static,
{
    if !needs_grad(inputs) {
        return datas.into_iter().map(Tensor::from_data).collect();
    }
    let node = Arc::new(Node {
        op,
        inputs: inputs.iter().map(|t| (*t).clone()).collect(),
        outputs: datas.iter().map(|d| (d.shape().to_vec(), d.dtype(), d.device())).collect(),
        backward: Mutex::new(Some(Box::new(backward))),
    });
    datas.into_iter().enumerate().map(|(i, d)| Tensor::from_node(d, node.clone(), i)).collect()
}

fn node_key(n: &Arc<Node>) -> usize {
    Arc::as_ptr(n) as usize
}

impl Tensor {
    /// Backpropagates from a one-element tensor (a loss): `d(self)/d(leaf)` accumulates into every
    /// leaf that requires a gradient.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::Autograd {
                op: "backward",
                msg: format!(
                    "backward() needs a one-element tensor, got shape {:?}; use backward_with(grad_output)",
                    self.shape()
                ),
            });
        }
        let ones = self.ones_like()?;
        self.backward_with(&ones)
    }

    /// Backpropagates the vector–Jacobian product with `grad_output` (same shape and dtype as self).
    pub fn backward_with(&self, grad_output: &Tensor) -> Result<()> {
        if grad_output.shape() != self.shape() || grad_output.dtype() != self.dtype() {
            return Err(Error::mismatch(
                "backward",
                &self.shape(),
                &grad_output.shape(),
                format!(
                    "grad_output must match the tensor (dtype {} vs {})",
                    self.dtype(),
                    grad_output.dtype()
                ),
            ));
        }
        if !self.requires_grad() {
            return Err(Error::Autograd {
                op: "backward",
                msg: "the tensor does not require a gradient (no input requires one, or it was made under no_grad)".into(),
            });
        }
        let _guard = NoGradGuard::new();
        let g = grad_output.detach();
        let Some((root, root_index)) = self.grad_fn().cloned() else {
            return self.accumulate_grad(g);
        };

        // Reverse topological order of the nodes reachable from the root (iterative DFS, so that
        // graphs thousands of ops deep do not overflow the stack).
        let mut order: Vec<Arc<Node>> = Vec::new();
        let mut seen: HashMap<usize, ()> = HashMap::new();
        let mut stack: Vec<(Arc<Node>, bool)> = vec![(root.clone(), false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                order.push(node);
                continue;
            }
            if seen.insert(node_key(&node), ()).is_some() {
                continue;
            }
            stack.push((node.clone(), true));
            for input in &node.inputs {
                if let Some((child, _)) = input.grad_fn()
                    && !seen.contains_key(&node_key(child))
                {
                    stack.push((child.clone(), false));
                }
            }
        }

        let mut pending: HashMap<usize, Vec<Option<Tensor>>> = HashMap::new();
        pending.insert(node_key(&root), {
            let mut v = vec![None; root.outputs.len()];
            v[root_index] = Some(g);
            v
        });
        for node in order.iter().rev() {
            let Some(grads) = pending.remove(&node_key(node)) else {
                continue;
            };
            let grads = grads
                .into_iter()
                .zip(&node.outputs)
                .map(|(g, (shape, dtype, device))| match g {
                    Some(g) => Ok(g),
                    None => Tensor::full_on(shape, 0.0, *dtype, device),
                })
                .collect::<Result<Vec<_>>>()?;
            let f = node.backward.lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some(f) = f else {
                return Err(Error::Autograd {
                    op: node.op,
                    msg: "the graph was already freed by an earlier backward; recompute the forward pass"
                        .into(),
                });
            };
            let input_grads = f(&grads)?;
            if input_grads.len() != node.inputs.len() {
                return Err(Error::Autograd {
                    op: node.op,
                    msg: format!(
                        "backward returned {} gradients for {} inputs",
                        input_grads.len(),
                        node.inputs.len()
                    ),
                });
            }
            for (input, gi) in node.inputs.iter().zip(input_grads) {
                let Some(gi) = gi else { continue };
                if !input.requires_grad() {
                    continue;
                }
                if gi.shape() != input.shape() {
                    return Err(Error::Autograd {
                        op: node.op,
                        msg: format!(
                            "gradient of shape {:?} for an input of shape {:?}",
                            gi.shape(),
                            input.shape()
                        ),
                    });
                }
                match input.grad_fn() {
                    None => input.accumulate_grad(gi)?,
                    Some((child, idx)) => {
                        let slot =
                            pending.entry(node_key(child)).or_insert_with(|| vec![None; child.outputs.len()]);
                        slot[*idx] = Some(match slot[*idx].take() {
                            None => gi,
                            Some(prev) => sum_of_grads(node.op, &prev, &gi)?,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// `grad += g` (gradients accumulate, never overwrite).
    pub(crate) fn accumulate_grad(&self, g: Tensor) -> Result<()> {
        let mut slot = self.0.grad.lock().unwrap_or_else(|e| e.into_inner());
        let new = match slot.take() {
            None => g,
            Some(old) => sum_of_grads("accumulate_grad", &old, &g)?,
        };
        *slot = Some(new);
        Ok(())
    }
}

/// $a + b$ for two gradients of one tensor (same shape, dtype and device), summed on the storage
/// by the backend itself: accumulation needs no op from the layer above, and records nothing.
/// Each element is one IEEE addition, as `Tensor::add` computes it.
fn sum_of_grads(op: &'static str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    use ndarray::Zip;
    fn add<T: Copy + Send + Sync + std::ops::Add<Output = T>>(
        x: &ndarray::ArcArray<T, ndarray::IxDyn>,
        y: &ndarray::ArcArray<T, ndarray::IxDyn>,
    ) -> ndarray::ArcArray<T, ndarray::IxDyn> {
        let z = Zip::from(x).and(y);
        if x.len() >= crate::device::cpu::PARALLEL_THRESHOLD {
            z.par_map_collect(|&p, &q| p + q).into_shared()
        } else {
            z.map_collect(|&p, &q| p + q).into_shared()
        }
    }
    let (da, db) = (a.data(), b.data());
    if da.shape() != db.shape() {
        return Err(Error::mismatch(
            op,
            da.shape(),
            db.shape(),
            "gradients of one tensor must have one shape",
        ));
    }
    let sum = match (&da, &db) {
        (Data::F32(x), Data::F32(y)) => Data::F32(add(x, y)),
        (Data::F64(x), Data::F64(y)) => Data::F64(add(x, y)),
        #[cfg(feature = "cuda")]
        (Data::Cuda(x), Data::Cuda(y)) => {
            Data::Cuda(crate::device::cuda::elementwise::binary("add", x, y, 0.0, 0.0)?)
        }
        _ => {
            return Err(Error::DTypeMismatch {
                op,
                lhs: da.dtype(),
                rhs: db.dtype(),
                lhs_shape: da.shape().to_vec(),
                rhs_shape: db.shape().to_vec(),
            });
        }
    };
    Ok(Tensor::from_data(sum))
}
