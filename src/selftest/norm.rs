//! CPU–CUDA agreement of the normalisations and losses: `layer_norm`, `batch_norm` (training with
//! the running statistics, evaluation), `nll_loss`, `mse_loss`, `binary_cross_entropy_with_logits`
//! and `logsumexp`. Constants (targets, class weights, running statistics) are built inside each
//! op on the device of its inputs.

use super::check::Check;
use crate::error::Result;
use crate::ops::batch_norm::BatchNormParams;
use crate::ops::loss::{NllOptions, Reduction};
use crate::tensor::Tensor;

/// Per-channel values `v` as a tensor of `like`'s dtype on its device.
fn channel(v: &[f64], like: &Tensor) -> Result<Tensor> {
    Tensor::from_vec(v.to_vec(), &[v.len()])?.to_dtype(like.dtype())?.to(&like.device())
}

/// Batch norm of `x` (N, 3, ...) in training mode with running statistics, returning
/// $y + (\hat\mu' + \hat\sigma'^2)$ broadcast over the channel dimension, so that the comparison
/// also covers the updated running statistics (which get no gradient).
fn batch_norm_with_running(x: &Tensor, weight: Option<&Tensor>, bias: Option<&Tensor>) -> Result<Tensor> {
    let rm = channel(&[0.5, -0.25, 1.0], x)?;
    let rv = channel(&[1.5, 0.75, 2.0], x)?;
    let p = BatchNormParams { training: true, momentum: 0.2, eps: 1e-5 };
    let y = x.batch_norm(Some(&rm), Some(&rv), weight, bias, &p)?;
    let mut lead = vec![1, 3];
    lead.resize(x.shape().len(), 1);
    y.add(&rm.add(&rv)?.mul_scalar(10.0)?.reshape_usize(&lead)?)
}

pub(super) fn checks() -> Vec<Check> {
    vec![
        ("layer_norm_affine_long_rows", vec![vec![4, 300], vec![300], vec![300]], false, |x| {
            x[0].layer_norm(&[300], Some(&x[1]), Some(&x[2]), 1e-5)
        }),
        ("layer_norm_2d_no_affine", vec![vec![3, 4, 5]], false, |x| {
            x[0].layer_norm(&[4, 5], None, None, 1e-5)
        }),
        ("layer_norm_weight_only_strided", vec![vec![7, 6], vec![7]], false, |x| {
            x[0].t()?.layer_norm(&[7], Some(&x[1]), None, 1e-3)
        }),
        ("layer_norm_bias_only", vec![vec![5, 9], vec![9]], false, |x| {
            x[0].layer_norm(&[9], None, Some(&x[1]), 1e-5)
        }),
        ("batch_norm_train_running_affine", vec![vec![4, 3, 5, 5], vec![3], vec![3]], false, |x| {
            batch_norm_with_running(&x[0], Some(&x[1]), Some(&x[2]))
        }),
        ("batch_norm_train_running_long_channels", vec![vec![2, 3, 16, 10]], false, |x| {
            batch_norm_with_running(&x[0], None, None)
        }),
        ("batch_norm_train_2d_no_running", vec![vec![8, 6], vec![6]], false, |x| {
            let p = BatchNormParams::default();
            x[0].batch_norm(None, None, Some(&x[1]), None, &p)
        }),
        ("batch_norm_eval", vec![vec![5, 4, 3], vec![4], vec![4]], false, |x| {
            let rm = channel(&[0.1, -0.3, 0.2, 0.0], &x[0])?;
            let rv = channel(&[0.9, 1.2, 0.5, 2.0], &x[0])?;
            let p = BatchNormParams { training: false, ..Default::default() };
            x[0].batch_norm(Some(&rm), Some(&rv), Some(&x[1]), Some(&x[2]), &p)
        }),
        ("nll_loss_weighted_ignore_mean", vec![vec![6, 5]], false, |x| {
            let t = Tensor::from_vec(vec![4i64, -100, 0, 2, 2, 1], &[6])?.to(&x[0].device())?;
            let w = channel(&[0.5, 1.0, 2.0, 1.5, 0.25], &x[0])?;
            let opts = NllOptions { reduction: Reduction::Mean, weight: Some(w), ignore_index: Some(-100) };
            x[0].log_softmax(-1)?.nll_loss_with(&t, &opts)
        }),
        ("nll_loss_sum_host_targets", vec![vec![4, 3]], false, |x| {
            let t = Tensor::from_vec(vec![2i64, 0, 1, 2], &[4])?;
            x[0].nll_loss(&t, Reduction::Sum)
        }),
        ("nll_loss_none_ignore_index", vec![vec![5, 4]], false, |x| {
            let t = Tensor::from_vec(vec![3i64, 1, 1, 0, 3], &[5])?;
            let opts = NllOptions { reduction: Reduction::None, weight: None, ignore_index: Some(1) };
            x[0].nll_loss_with(&t, &opts)
        }),
        ("mse_loss_mean", vec![vec![4, 5], vec![4, 5]], false, |x| x[0].mse_loss(&x[1], Reduction::Mean)),
        ("mse_loss_sum", vec![vec![3, 7], vec![3, 7]], false, |x| x[0].mse_loss(&x[1], Reduction::Sum)),
        ("mse_loss_none", vec![vec![6], vec![6]], false, |x| x[0].mse_loss(&x[1], Reduction::None)),
        ("bce_logits_mean_weights", vec![vec![4, 3], vec![4, 3]], false, |x| {
            let w = channel(&[0.5, 1.0, 2.0], &x[0])?;
            let pw = channel(&[3.0, 0.5, 1.0], &x[0])?;
            let y = x[1].sigmoid()?;
            x[0].mul_scalar(8.0)?.binary_cross_entropy_with_logits(&y, Some(&w), Some(&pw), Reduction::Mean)
        }),
        ("bce_logits_sum", vec![vec![10], vec![10]], false, |x| {
            x[0].mul_scalar(30.0)?.binary_cross_entropy_with_logits(
                &x[1].sigmoid()?,
                None,
                None,
                Reduction::Sum,
            )
        }),
        ("bce_logits_none_strided", vec![vec![3, 5], vec![5, 3]], false, |x| {
            let pw = channel(&[2.0, 1.0, 0.5], &x[0])?;
            x[0].t()?.binary_cross_entropy_with_logits(&x[1], None, Some(&pw), Reduction::None)
        }),
        ("logsumexp_last_long", vec![vec![6, 300]], false, |x| x[0].logsumexp(-1, false)),
        ("logsumexp_mid_keepdim", vec![vec![3, 5, 4]], false, |x| x[0].mul_scalar(50.0)?.logsumexp(1, true)),
    ]
}
