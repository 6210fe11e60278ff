//! batch_norm (the fused op) and BatchNorm2d: hand-computed values, PyTorch's running-statistics
//! update, evaluation mode, gradchecks in f64, agreement with the composite formula, errors.

use glassgrad::nn::{BatchNorm2d, Module};
use glassgrad::ops::batch_norm::BatchNormParams;
use glassgrad::{DType, Generator, Tensor, gradcheck};

fn t(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "at {i}: got {g}, want {w}");
    }
}

#[test]
fn training_normalises_with_the_biased_variance_and_updates_running_stats_unbiased() {
    // One channel, values 1, 2, 3, 4 (N = 4, C = 1): mean 2.5, biased variance 1.25, unbiased 5/3.
    // PyTorch:
    //   x = torch.tensor([[1.], [2.], [3.], [4.]]); rm = torch.zeros(1); rv = torch.ones(1)
    //   F.batch_norm(x, rm, rv, training=True, momentum=0.1, eps=1e-5)
    //   -> (x - 2.5) / sqrt(1.25 + 1e-5); rm = 0.25, rv = 0.9 + 0.1 * 5/3 = 1.0666667
    let x = t(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]);
    let (rm, rv) = (t(vec![0.0], &[1]), t(vec![1.0], &[1]));
    let y = x.batch_norm(Some(&rm), Some(&rv), None, None, &BatchNormParams::default()).unwrap();
    let s = (1.25f64 + 1e-5).sqrt();
    close(&y.to_f64_vec(), &[-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-14);
    close(&rm.to_f64_vec(), &[0.25], 1e-15);
    close(&rv.to_f64_vec(), &[0.9 + 0.1 * 5.0 / 3.0], 1e-15);
}

#[test]
fn affine_and_per_channel_over_n_and_spatial_dims() {
    // (N=2, C=2, S=2): channel 0 holds {1, 3, 5, 7} (mean 4, var 5), channel 1 holds {0, 0, 2, 2}
    // (mean 1, var 1). γ = [2, 1], β = [0, 10], eps 0.
    let x = t(vec![1.0, 3.0, 0.0, 0.0, 5.0, 7.0, 2.0, 2.0], &[2, 2, 2]);
    let (w, b) = (t(vec![2.0, 1.0], &[2]), t(vec![0.0, 10.0], &[2]));
    let p = BatchNormParams { eps: 0.0, ..Default::default() };
    let y = x.batch_norm(None, None, Some(&w), Some(&b), &p).unwrap();
    let r5 = 5f64.sqrt();
    let want = [-6.0 / r5, -2.0 / r5, 9.0, 9.0, 2.0 / r5, 6.0 / r5, 11.0, 11.0];
    close(&y.to_f64_vec(), &want, 1e-14);
}

#[test]
fn evaluation_uses_the_running_statistics_and_leaves_them_alone() {
    let x = t(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let (rm, rv) = (t(vec![1.0, -1.0], &[2]), t(vec![4.0, 0.25], &[2]));
    let w = t(vec![3.0, 1.0], &[2]);
    let p = BatchNormParams { training: false, eps: 0.0, ..Default::default() };
    let y = x.batch_norm(Some(&rm), Some(&rv), Some(&w), None, &p).unwrap();
    // column 0: 3·(x − 1)/2; column 1: (x + 1)/0.5.
    close(&y.to_f64_vec(), &[0.0, 6.0, 3.0, 10.0], 1e-15);
    assert_eq!(rm.to_f64_vec(), vec![1.0, -1.0]);
    assert_eq!(rv.to_f64_vec(), vec![4.0, 0.25]);
}

#[test]
fn gradcheck_training_and_evaluation() {
    let mut rng = Generator::new(5);
    let x = Tensor::randn(&[3, 2, 2, 3], DType::F64, &mut rng).unwrap().requires_grad_().unwrap();
    let w = Tensor::uniform(&[2], 0.5, 2.0, DType::F64, &mut rng).unwrap().requires_grad_().unwrap();
    let b = Tensor::randn(&[2], DType::F64, &mut rng).unwrap().requires_grad_().unwrap();
    let train = gradcheck(
        |v: &[Tensor]| v[0].batch_norm(None, None, Some(&v[1]), Some(&v[2]), &BatchNormParams::default()),
        &[x.clone(), w.clone(), b.clone()],
    )
    .unwrap();
    assert!(train.passed, "{train:?}");
    let (rm, rv) = (t(vec![0.2, -0.1], &[2]), t(vec![0.7, 1.3], &[2]));
    let p = BatchNormParams { training: false, ..Default::default() };
    let eval = gradcheck(
        |v: &[Tensor]| v[0].batch_norm(Some(&rm), Some(&rv), Some(&v[1]), Some(&v[2]), &p),
        &[x.clone(), w.clone(), b.clone()],
    )
    .unwrap();
    assert!(eval.passed, "{eval:?}");
    // Without affine parameters, the gradient of x alone.
    let bare =
        gradcheck(|v: &[Tensor]| v[0].batch_norm(None, None, None, None, &BatchNormParams::default()), &[x])
            .unwrap();
    assert!(bare.passed, "{bare:?}");
}

#[test]
fn agrees_with_the_composite_formula_in_f32() {
    // y = γ (x − mean) / sqrt(var_biased + eps) + β, written with the basic ops.
    let mut rng = Generator::new(6);
    let x = Tensor::randn(&[8, 3, 5, 5], DType::F32, &mut rng).unwrap();
    let w = Tensor::uniform(&[3], 0.5, 1.5, DType::F32, &mut rng).unwrap();
    let b = Tensor::randn(&[3], DType::F32, &mut rng).unwrap();
    let y = x.batch_norm(None, None, Some(&w), Some(&b), &BatchNormParams::default()).unwrap();
    let mean = x.mean_dims(Some(&[0, 2, 3]), true).unwrap();
    let d = x.sub(&mean).unwrap();
    let var = d.mul(&d).unwrap().mean_dims(Some(&[0, 2, 3]), true).unwrap();
    let want = d
        .div(&var.add_scalar(1e-5).unwrap().sqrt().unwrap())
        .unwrap()
        .mul(&w.reshape(&[1, 3, 1, 1]).unwrap())
        .unwrap()
        .add(&b.reshape(&[1, 3, 1, 1]).unwrap())
        .unwrap();
    close(&y.to_f64_vec(), &want.to_f64_vec(), 1e-5);
}

#[test]
fn batchnorm2d_module_parameters_buffers_and_modes() {
    let bn = BatchNorm2d::new(3, DType::F64).unwrap();
    let names: Vec<String> = bn.state_dict().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
    assert_eq!(bn.parameters().len(), 2);
    assert_eq!(bn.weight.as_ref().unwrap().to_f64_vec(), vec![1.0; 3]);
    assert_eq!(bn.bias.as_ref().unwrap().to_f64_vec(), vec![0.0; 3]);
    assert_eq!(bn.running_var.as_ref().unwrap().to_f64_vec(), vec![1.0; 3]);
    assert_eq!(bn.num_features(), 3);

    let mut rng = Generator::new(8);
    let x = Tensor::randn(&[4, 3, 2, 2], DType::F64, &mut rng).unwrap().mul_scalar(2.0).unwrap();
    let y = bn.forward(&x).unwrap();
    // Training: every channel of y has mean 0 and biased variance ≈ 1.
    let m = y.mean_dims(Some(&[0, 2, 3]), false).unwrap().to_f64_vec();
    close(&m, &[0.0; 3], 1e-12);
    assert_eq!(bn.batches_tracked(), 1);
    let batch_mean = x.mean_dims(Some(&[0, 2, 3]), false).unwrap().to_f64_vec();
    let want_rm: Vec<f64> = batch_mean.iter().map(|v| 0.1 * v).collect();
    close(&bn.running_mean.as_ref().unwrap().to_f64_vec(), &want_rm, 1e-14);
    bn.forward(&x).unwrap();
    assert_eq!(bn.batches_tracked(), 2);

    // Evaluation: running statistics, no update.
    let mut bn = bn;
    bn.eval();
    let rm_before = bn.running_mean.as_ref().unwrap().to_f64_vec();
    let y_eval = bn.forward(&x).unwrap();
    assert_eq!(bn.batches_tracked(), 2);
    assert_eq!(bn.running_mean.as_ref().unwrap().to_f64_vec(), rm_before);
    let rv = bn.running_var.as_ref().unwrap().to_f64_vec();
    let want0 = (x.to_f64_vec()[0] - rm_before[0]) / (rv[0] + 1e-5).sqrt();
    close(&y_eval.to_f64_vec()[..1], &[want0], 1e-14);
}

#[test]
fn momentum_none_is_a_cumulative_average_and_untracked_modules_use_batch_stats() {
    let bn = BatchNorm2d::with_options(1, 1e-5, None, false, true, DType::F64).unwrap();
    assert!(bn.parameters().is_empty());
    let a = t(vec![1.0, 3.0], &[2, 1, 1, 1]); // mean 2
    let b = t(vec![5.0, 7.0], &[2, 1, 1, 1]); // mean 6
    bn.forward(&a).unwrap();
    bn.forward(&b).unwrap();
    // factor 1, then 1/2: running mean = (2 + 6)/2 = 4.
    close(&bn.running_mean.as_ref().unwrap().to_f64_vec(), &[4.0], 1e-15);

    let mut free = BatchNorm2d::with_options(1, 0.0, Some(0.1), true, false, DType::F64).unwrap();
    free.eval();
    assert!(free.named_buffers().is_empty());
    let y = free.forward(&a).unwrap();
    close(&y.to_f64_vec(), &[-1.0, 1.0], 1e-15);
}

#[test]
fn errors() {
    let x = t(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let p = BatchNormParams::default();
    // One value per channel in training.
    let one = t(vec![1.0, 2.0], &[1, 2]);
    assert!(
        one.batch_norm(None, None, None, None, &p).unwrap_err().to_string().contains("more than 1 value")
    );
    // Evaluation needs running statistics.
    let ev = BatchNormParams { training: false, ..p };
    assert!(x.batch_norm(None, None, None, None, &ev).is_err());
    // Wrong channel count, dtype mismatch, 1-D input, bad momentum, only one running stat.
    let e = x.batch_norm(None, None, Some(&t(vec![1.0; 3], &[3])), None, &p).unwrap_err().to_string();
    assert!(e.contains("batch_norm") && e.contains("[3]"), "{e}");
    let w32 = Tensor::from_vec(vec![1.0f32, 1.0], &[2]).unwrap();
    assert!(x.batch_norm(None, None, Some(&w32), None, &p).is_err());
    assert!(t(vec![1.0, 2.0], &[2]).batch_norm(None, None, None, None, &p).is_err());
    assert!(x.batch_norm(None, None, None, None, &BatchNormParams { momentum: 1.5, ..p }).is_err());
    let rm = t(vec![0.0, 0.0], &[2]);
    assert!(x.batch_norm(Some(&rm), None, None, None, &p).is_err());
    let idx = Tensor::from_vec(vec![1i64, 2, 3, 4], &[2, 2]).unwrap();
    assert!(idx.batch_norm(None, None, None, None, &p).is_err());
    // The module wants 4-D input.
    let bn = BatchNorm2d::new(2, DType::F64).unwrap();
    assert!(bn.forward(&x).unwrap_err().to_string().contains("4-D"));
    assert!(BatchNorm2d::new(0, DType::F32).is_err());
}
