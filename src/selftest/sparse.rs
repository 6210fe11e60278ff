//! Row-sparse embedding gradients and the sparse optimizers on the device against the CPU.
//!
//! Each check reads a $(7 \times 3)$ table with [`Tensor::embedding_sparse_grad`] twice (ids with
//! repeats, a `padding_idx`, two unused rows), so the second backward accumulates through
//! `SparseGrad::add`; compares the accumulated rows and values and their dense form; then takes
//! three optimizer steps (each after a fresh pair of lookups) and compares the final table and the
//! optimizer state.

use super::check::{Outcome, max_rel_diff, outcome, worst};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::optim::{Optimizer, SparseAdam, SparseAdamConfig, SparseSgd};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

type MakeSparse = fn(Vec<Tensor>) -> Result<Box<dyn Optimizer>>;

fn optimizers() -> Vec<(&'static str, MakeSparse)> {
    vec![
        ("sparse_sgd", |p| Ok(Box::new(SparseSgd::new(p, 0.1)?))),
        ("sparse_sgd_maximize", |p| Ok(Box::new(SparseSgd::new(p, 0.1)?.maximize(true)))),
        ("sparse_adam", |p| Ok(Box::new(SparseAdam::new(p, SparseAdamConfig::new(0.05))?))),
        ("sparse_adam_maximize", |p| {
            Ok(Box::new(SparseAdam::new(p, SparseAdamConfig::new(0.05).betas(0.8, 0.95).maximize(true))?))
        }),
    ]
}

/// One lookup pass $L = \sum r \odot \mathrm{embedding}(ids, W)$ and its backward.
fn lookup(w: &Tensor, ids: &[i64], dev: &Device, rng: &mut Generator) -> Result<()> {
    let ids = Tensor::from_vec(ids.to_vec(), &[2, ids.len() / 2])?.to(dev)?;
    let y = Tensor::embedding_sparse_grad(&ids, w, Some(5))?;
    let r = Tensor::randn(&y.shape(), y.dtype(), rng)?.to(dev)?;
    y.mul(&r)?.sum()?.backward()
}

fn run_on(make: MakeSparse, dtype: DType, dev: &Device) -> Result<Vec<Vec<f64>>> {
    let mut rng = Generator::new(3);
    let w = Tensor::randn(&[7, 3], dtype, &mut rng)?.to(dev)?.detach().requires_grad_()?;
    lookup(&w, &[3, 1, 3, 5, 0, 3], dev, &mut rng)?;
    lookup(&w, &[1, 4, 4, 2, 5, 0], dev, &mut rng)?;
    let sg = w.sparse_grad().ok_or_else(|| Error::invalid("selftest", "no sparse gradient"))?;
    if sg.values.device() != *dev {
        return Err(Error::Device {
            op: "selftest",
            msg: format!("sparse values on {}", sg.values.device()),
        });
    }
    let mut out = vec![
        sg.rows.iter().map(|&r| r as f64).collect(),
        sg.values.to_f64_vec(),
        sg.to_dense(7)?.to_f64_vec(),
    ];
    let mut opt = make(vec![w.clone()])?;
    for step in 0..3 {
        opt.zero_grad();
        lookup(&w, &[step, 6, 2, 2, step + 1, 3], dev, &mut rng)?;
        opt.step()?;
    }
    out.push(w.to_f64_vec());
    for (_, t) in opt.state_tensors() {
        out.push(t.to_f64_vec());
    }
    Ok(out)
}

/// Every sparse check on `device` (names containing `filter`, when given).
pub(super) fn run(device: &Device, filter: Option<&str>) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for (name, make) in optimizers() {
        if filter.is_some_and(|s| !name.contains(s)) {
            continue;
        }
        for dtype in [DType::F32, DType::F64] {
            let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
            let result = (|| {
                let (cpu, dev) = (run_on(make, dtype, &Device::Cpu)?, run_on(make, dtype, device)?);
                if cpu.len() != dev.len() {
                    return Err(Error::invalid("selftest", "different numbers of results"));
                }
                Ok(cpu.iter().zip(&dev).map(|(a, b)| max_rel_diff(a, b)).fold(0.0, worst))
            })();
            outcomes.push(outcome(format!("{name}/{}", dtype.name()), tol, result));
        }
    }
    outcomes
}
