//! The recommender case: one training step of a dot-product model.

use super::case::{Case, Work, keep};
use crate::tensor::{DType, Tensor};

/// Batch of ratings per step.
const BATCH: usize = 4096;
/// Users, and items (one embedding table each).
const ROWS: usize = 1000;
/// Factors (embedding width).
const FACTORS: usize = 50;
/// Adam's learning rate (betas 0.9, 0.999, eps 1e-8, no weight decay: `AdamConfig::new`).
const LR: f64 = 1e-3;

/// One training step of a dot-product recommender: two `Embedding(1000, 50)` tables, the dot
/// product of the looked-up rows (the fused [`Tensor::mf_predict`] with zero biases), MSE
/// against ratings, backward, Adam (lr 0.001) over both tables; batch 4096.
///
/// Flops: the forward dot products $2NK$ and their backward $4NK$ (the Adam update and the
/// scatter are not counted). Compulsory bytes: Adam updates every element of both tables (dense
/// gradients, as PyTorch's `nn.Embedding`), so each of the $2VK$ parameters and its two moments
/// are read and written, $6 \cdot 4 \cdot 2VK$; plus the user and item indices (i64), the
/// ratings and the two zero bias tables read once: $16N + 4N + 8V$.
pub fn mf_train_step() -> Case {
    let (n, v, k) = (BATCH, ROWS, FACTORS);
    let bytes = (6 * 4 * 2 * v * k + 16 * n + 4 * n + 8 * v) as f64;
    let adam = crate::optim::AdamConfig::new(LR);
    let spec = format!(
        "model=dot_product(mf_predict,zero_biases) users={v} items={v} factors={k} batch={n} ratings=uniform(1,5) loss=mse(mean) optimizer=adam lr={} betas={},{} eps={:e} weight_decay={} amsgrad={} dtype=f32",
        adam.lr, adam.betas.0, adam.betas.1, adam.eps, adam.weight_decay, adam.amsgrad
    );
    Case::new(
        "mf_train_step",
        Work::new(6.0 * (n * k) as f64, bytes),
        format!("dot-product recommender step: 2×Embedding({v}, {k}), MSE, Adam, batch {n}"),
        move |rng| {
            use crate::optim::{Adam, Optimizer};
            let p = Tensor::randn(&[v, k], DType::F32, rng)?.requires_grad_()?;
            let q = Tensor::randn(&[v, k], DType::F32, rng)?.requires_grad_()?;
            let (bu, bi) = (Tensor::zeros(&[v], DType::F32)?, Tensor::zeros(&[v], DType::F32)?);
            let mu = Tensor::scalar(0.0f32);
            let u = Tensor::randint(&[n], 0, v as i64, rng)?;
            let i = Tensor::randint(&[n], 0, v as i64, rng)?;
            let r = Tensor::uniform(&[n], 1.0, 5.0, DType::F32, rng)?;
            let mut opt = Adam::new(vec![p.clone(), q.clone()], adam)?;
            Ok(Box::new(move || {
                opt.zero_grad();
                let loss = Tensor::mf_predict(&u, &i, &p, &q, &bu, &bi, &mu)?
                    .mse_loss(&r, crate::ops::loss::Reduction::Mean)?;
                loss.backward()?;
                opt.step()?;
                keep(loss)
            }))
        },
    )
    .with_spec(spec)
}
