//! The recommender case: one training step of a dot-product model.

use super::case::{Case, Work, keep};
use crate::tensor::{DType, Tensor};

/// One training step of a dot-product recommender: two `Embedding(1000, 50)` tables, the dot
/// product of the looked-up rows (the fused [`Tensor::mf_predict`] with zero biases), MSE
/// against ratings, backward, Adam (lr 0.001) over both tables; batch 4096. Counted work: the
/// forward dot products $2NK$ and their backward $4NK$ (the Adam update and the scatter are
/// memory traffic on top).
pub fn mf_train_step() -> Case {
    let (n, v, k) = (4096usize, 1000usize, 50usize);
    Case::new(
        "mf_train_step",
        Work::Flops(6.0 * (n * k) as f64),
        format!("dot-product recommender step: 2×Embedding({v}, {k}), MSE, Adam, batch {n}"),
        move |rng| {
            use crate::optim::{Adam, AdamConfig, Optimizer};
            let p = Tensor::randn(&[v, k], DType::F32, rng)?.requires_grad_()?;
            let q = Tensor::randn(&[v, k], DType::F32, rng)?.requires_grad_()?;
            let (bu, bi) = (Tensor::zeros(&[v], DType::F32)?, Tensor::zeros(&[v], DType::F32)?);
            let mu = Tensor::scalar(0.0f32);
            let u = Tensor::randint(&[n], 0, v as i64, rng)?;
            let i = Tensor::randint(&[n], 0, v as i64, rng)?;
            let r = Tensor::uniform(&[n], 1.0, 5.0, DType::F32, rng)?;
            let mut opt = Adam::new(vec![p.clone(), q.clone()], AdamConfig::new(1e-3))?;
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
}
