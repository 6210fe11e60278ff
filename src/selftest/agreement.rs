//! CPU–CUDA agreement: every op with a CUDA kernel run on both devices, forward and backward, in
//! f32 and f64, on random inputs from a seeded generator. The same checks back `tests/cuda.rs` and
//! `glassgrad selftest --device cuda` (one binary carries them to a GPU machine).
//!
//! Each check builds inputs on the CPU, computes `y = f(x...)` and the gradients of
//! $L = \sum_i r_i y_i$ (with fixed random $r$) on the CPU, then the same on the GPU from copies of
//! the same inputs, and compares: the largest absolute difference relative to $1 + |{\rm cpu}|$ must
//! stay below 1e-4 (f32) or 1e-10 (f64). Reductions sum in a different order on the GPU (a fixed
//! tree instead of a running sum), so results agree to rounding, not bit for bit.

use super::check::{Check, OpFn, Outcome, max_rel_diff, negative_control, outcome, worst};
use super::{compare, index, norm, sparse};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::models::cnn::SeedCnn;
use crate::nn::Module;
use crate::ops::conv2d::{Conv2dParams, ConvMode};
use crate::ops::loss::{CrossEntropyOptions, Reduction};
use crate::ops::pool2d::Pool2dParams;
use crate::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Every op check: the ones below, then each topic's own file.
fn checks() -> Vec<Check> {
    base_checks().into_iter().chain(norm::checks()).chain(compare::checks()).chain(index::checks()).collect()
}

fn base_checks() -> Vec<Check> {
    vec![
        ("add_broadcast", vec![vec![4, 3, 5], vec![3, 1]], false, |x| x[0].add(&x[1])),
        ("sub", vec![vec![7, 5], vec![7, 5]], false, |x| x[0].sub(&x[1])),
        ("mul_broadcast", vec![vec![2, 3, 4], vec![4]], false, |x| x[0].mul(&x[1])),
        ("div", vec![vec![6, 5], vec![6, 5]], true, |x| x[0].div(&x[1])),
        ("neg", vec![vec![33]], false, |x| x[0].neg()),
        ("abs", vec![vec![33]], false, |x| x[0].abs()),
        ("exp", vec![vec![5, 7]], false, |x| x[0].exp()),
        ("log", vec![vec![5, 7]], true, |x| x[0].log()),
        ("tanh", vec![vec![5, 7]], false, |x| x[0].tanh()),
        ("sigmoid", vec![vec![5, 7]], false, |x| x[0].sigmoid()),
        ("relu", vec![vec![5, 7]], false, |x| x[0].relu()),
        ("sqrt", vec![vec![5, 7]], true, |x| x[0].sqrt()),
        ("pow", vec![vec![5, 7]], true, |x| x[0].pow(2.5)),
        ("clamp", vec![vec![5, 7]], false, |x| x[0].clamp(Some(-0.5), Some(0.7))),
        ("add_scalar", vec![vec![9]], false, |x| x[0].add_scalar(1.5)),
        ("mul_scalar", vec![vec![9]], false, |x| x[0].mul_scalar(-2.5)),
        ("gelu_tanh", vec![vec![4, 6]], false, |x| x[0].gelu(crate::ops::activation::GeluApprox::Tanh)),
        ("gelu_erf", vec![vec![4, 6]], false, |x| x[0].gelu(crate::ops::activation::GeluApprox::None)),
        ("leaky_relu", vec![vec![4, 6]], false, |x| x[0].leaky_relu(0.1)),
        ("elu", vec![vec![4, 6]], false, |x| x[0].elu(1.3)),
        ("softplus", vec![vec![4, 6]], false, |x| x[0].mul_scalar(10.0)?.softplus(2.0, 20.0)),
        ("silu", vec![vec![4, 6]], false, |x| x[0].silu()),
        ("sum_all", vec![vec![3, 4, 5]], false, |x| x[0].sum()),
        ("sum_dims_0_2", vec![vec![3, 4, 5]], false, |x| x[0].sum_dims(Some(&[0, 2]), false)),
        ("mean_dim_keep", vec![vec![3, 700]], false, |x| x[0].mean_dim(1, true)),
        ("matmul", vec![vec![37, 19], vec![19, 141]], false, |x| x[0].matmul(&x[1])),
        ("matmul_batched_broadcast", vec![vec![3, 2, 9, 8], vec![8, 5]], false, |x| x[0].matmul(&x[1])),
        ("matmul_transposed", vec![vec![6, 130], vec![7, 130]], false, |x| x[0].matmul(&x[1].t()?)),
        ("matmul_vector", vec![vec![5, 4], vec![4]], false, |x| x[0].matmul(&x[1])),
        ("softmax_last", vec![vec![6, 300]], false, |x| x[0].softmax(-1)),
        ("softmax_mid", vec![vec![3, 5, 4]], false, |x| x[0].softmax(1)),
        ("log_softmax", vec![vec![6, 11]], false, |x| x[0].log_softmax(-1)),
        ("transpose_contiguous", vec![vec![4, 5]], false, |x| x[0].t()?.contiguous()?.exp()),
        ("permute_reshape", vec![vec![2, 3, 4]], false, |x| x[0].permute(&[2, 0, 1])?.reshape(&[4, 6])),
        ("narrow", vec![vec![5, 6]], false, |x| x[0].narrow(1, 2, 3)?.tanh()),
        ("broadcast_to", vec![vec![3, 1]], false, |x| x[0].broadcast_to(&[2, 3, 4])),
        ("to_dtype_roundtrip", vec![vec![8]], false, |x| {
            let other = if x[0].dtype() == DType::F32 { DType::F64 } else { DType::F32 };
            x[0].to_dtype(other)?.mul_scalar(3.0)?.to_dtype(x[0].dtype())
        }),
        ("cross_entropy_mean", vec![vec![9, 7]], false, |x| {
            let t = Tensor::from_vec(vec![0i64, 6, 3, 3, 1, 2, 5, 4, 0], &[9])?;
            x[0].cross_entropy(&t.to(&x[0].device())?, Reduction::Mean)
        }),
        ("cross_entropy_weighted_smoothed", vec![vec![5, 4]], false, |x| {
            let t = Tensor::from_vec(vec![1i64, -100, 3, 0, 2], &[5])?;
            let w = Tensor::from_vec(vec![0.5f64, 1.0, 2.0, 1.5], &[4])?.to_dtype(x[0].dtype())?;
            let opts = CrossEntropyOptions {
                reduction: Reduction::Sum,
                weight: Some(w),
                ignore_index: Some(-100),
                label_smoothing: 0.1,
            };
            x[0].cross_entropy_with(&t, &opts)
        }),
        ("cross_entropy_none", vec![vec![4, 3]], false, |x| {
            let t = Tensor::from_vec(vec![2i64, 0, 1, 2], &[4])?;
            x[0].cross_entropy(&t, Reduction::None)
        }),
        ("conv2d_padded_bias", vec![vec![2, 3, 7, 6], vec![4, 3, 3, 2], vec![4]], false, |x| {
            let p = Conv2dParams { padding: [1, 0], ..Default::default() };
            x[0].conv2d(&x[1], Some(&x[2]), &p)
        }),
        ("conv2d_stride_dilation_groups", vec![vec![2, 4, 9, 8], vec![6, 2, 3, 3], vec![6]], false, |x| {
            let p = Conv2dParams {
                stride: [2, 1],
                padding: [1, 1],
                dilation: [2, 1],
                groups: 2,
                mode: ConvMode::CrossCorrelation,
            };
            x[0].conv2d(&x[1], Some(&x[2]), &p)
        }),
        ("conv2d_convolution_mode", vec![vec![3, 2, 6, 5], vec![3, 2, 2, 3]], false, |x| {
            let p = Conv2dParams { stride: [1, 2], mode: ConvMode::Convolution, ..Default::default() };
            x[0].conv2d(&x[1], None, &p)
        }),
        ("conv2d_pointwise_groups", vec![vec![3, 4, 5, 5], vec![6, 2, 1, 1], vec![6]], false, |x| {
            let p = Conv2dParams { groups: 2, ..Default::default() };
            x[0].conv2d(&x[1], Some(&x[2]), &p)
        }),
        ("conv2d_1x1_strided", vec![vec![2, 3, 6, 6], vec![2, 3, 1, 1]], false, |x| {
            let p = Conv2dParams { stride: [2, 2], ..Default::default() };
            x[0].conv2d(&x[1], None, &p)
        }),
        ("conv1d", vec![vec![2, 3, 11], vec![4, 3, 3], vec![4]], false, |x| {
            x[0].conv1d(&x[1], Some(&x[2]), 2, 1, 2, 1)
        }),
        ("max_pool2d_padded", vec![vec![2, 3, 7, 8]], false, |x| {
            x[0].max_pool2d(&Pool2dParams::new([3, 2]).with_stride([2, 2]).with_padding([1, 1]))
        }),
        ("max_pool2d_overlapping", vec![vec![2, 2, 6, 5]], false, |x| {
            x[0].max_pool2d(&Pool2dParams::new([3, 3]).with_stride([1, 1]).with_padding([1, 1]))
        }),
        ("avg_pool2d_count_pad", vec![vec![2, 3, 7, 6]], false, |x| {
            x[0].avg_pool2d(&Pool2dParams::new([3, 3]).with_stride([2, 2]).with_padding([1, 1]), true)
        }),
        ("avg_pool2d_exclude_pad", vec![vec![2, 3, 7, 6]], false, |x| {
            x[0].avg_pool2d(&Pool2dParams::new([3, 2]).with_stride([2, 1]).with_padding([1, 1]), false)
        }),
        ("adaptive_avg_pool2d_1x1", vec![vec![2, 3, 17, 19]], false, |x| x[0].adaptive_avg_pool2d_1x1()),
        // Ids repeated (3 three times, 6 twice) and padding_idx -1 (= 6: its row gets no gradient).
        ("embedding_repeat_padding", vec![vec![7, 5]], false, |x| {
            let ids = Tensor::from_vec(vec![3i64, 1, 3, 6, 0, 3, 6, 2], &[2, 4])?.to(&x[0].device())?;
            Tensor::embedding(&ids, &x[0], Some(-1))
        }),
        // Ids left on the CPU with a weight on the device; row 4 untouched, 2 repeated.
        ("embedding_host_ids", vec![vec![5, 3]], false, |x| {
            let ids = Tensor::from_vec(vec![2i64, 0, 2, 1, 3, 2], &[6])?;
            Tensor::embedding(&ids, &x[0], None)
        }),
        // Users 0 and 2 repeated, user 3 untouched; item 1 repeated, item 4 untouched.
        ("mf_predict", vec![vec![4, 3], vec![5, 3], vec![4], vec![5], vec![]], false, |x| {
            let dev = x[0].device();
            let u = Tensor::from_vec(vec![0i64, 2, 2, 1, 0, 2, 1], &[7])?.to(&dev)?;
            let i = Tensor::from_vec(vec![1i64, 1, 3, 0, 2, 1, 1], &[7])?.to(&dev)?;
            Tensor::mf_predict(&u, &i, &x[0], &x[1], &x[2], &x[3], &x[4])
        }),
        ("linear_bias", vec![vec![5, 7], vec![3, 7], vec![3]], false, |x| x[0].linear(&x[1], Some(&x[2]))),
        ("linear_3d_no_bias", vec![vec![2, 4, 7], vec![3, 7]], false, |x| x[0].linear(&x[1], None)),
        ("mlp_step", vec![vec![8, 5], vec![16, 5], vec![16], vec![3, 16]], false, |x| {
            let h = x[0].matmul(&x[1].t()?)?.add(&x[2])?.relu()?;
            let logits = h.matmul(&x[3].t()?)?;
            let t = Tensor::from_vec(vec![0i64, 1, 2, 1, 0, 2, 2, 1], &[8])?;
            logits.cross_entropy(&t, Reduction::Mean)
        }),
    ]
}

/// Output and input gradients of `f` on `device`, from host inputs `xs` and weights `r`.
fn run_on(f: OpFn, xs: &[Tensor], device: &Device, rng: &mut Generator) -> Result<Vec<Vec<f64>>> {
    let leaves: Vec<Tensor> = xs
        .iter()
        .map(|x| {
            let t = x.to(device)?.detach();
            t.set_requires_grad(true)?;
            Ok(t)
        })
        .collect::<Result<_>>()?;
    let y = f(&leaves)?;
    if y.device() != *device {
        return Err(Error::Device { op: "selftest", msg: format!("output on {} not {device}", y.device()) });
    }
    if !y.dtype().is_float() {
        // Values only: a bool or i64 output carries no gradient.
        return Ok(vec![y.to_f64_vec()]);
    }
    let r = Tensor::randn(&y.shape(), y.dtype(), rng)?.to(device)?;
    y.mul(&r)?.sum()?.backward()?;
    let mut out = vec![y.to_f64_vec()];
    for l in &leaves {
        let g = l.grad().ok_or_else(|| Error::invalid("selftest", "an input received no gradient"))?;
        if g.device() != *device {
            return Err(Error::Device {
                op: "selftest",
                msg: format!("gradient on {} not {device}", g.device()),
            });
        }
        out.push(g.to_f64_vec());
    }
    Ok(out)
}

/// Runs every check on `device` against the CPU (names containing `filter`, when given), after the
/// comparator's negative control (`negative_control`).
pub fn run(device: &Device, filter: Option<&str>) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for (name, shapes, positive, f) in checks() {
        if filter.is_some_and(|s| !name.contains(s)) {
            continue;
        }
        for dtype in [DType::F32, DType::F64] {
            let tol = if dtype == DType::F32 { 1e-4 } else { 1e-10 };
            let full = format!("{name}/{}", dtype.name());
            let result = (|| -> Result<f64> {
                let mut rng = Generator::new(7);
                let xs: Vec<Tensor> = shapes
                    .iter()
                    .map(|s| {
                        let x = Tensor::randn(s, dtype, &mut rng)?;
                        if positive { x.abs()?.add_scalar(0.1) } else { Ok(x) }
                    })
                    .collect::<Result<_>>()?;
                let cpu = run_on(f, &xs, &Device::Cpu, &mut Generator::new(11))?;
                let dev = run_on(f, &xs, device, &mut Generator::new(11))?;
                Ok(cpu.iter().zip(&dev).map(|(a, b)| max_rel_diff(a, b)).fold(0.0, worst))
            })();
            outcomes.push(outcome(full, tol, result));
        }
    }
    for (name, make) in optimizers() {
        if filter.is_some_and(|s| !name.contains(s)) {
            continue;
        }
        for dtype in [DType::F32, DType::F64] {
            let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
            let result = optimizer_check(make, dtype, device);
            outcomes.push(outcome(format!("{name}/{}", dtype.name()), tol, result));
        }
    }
    outcomes.extend(sparse::run(device, filter));
    for (name, kind, l, states, bias) in recurrents() {
        if filter.is_some_and(|s| !name.contains(s)) {
            continue;
        }
        for dtype in [DType::F32, DType::F64] {
            let tol = if dtype == DType::F32 { 1e-4 } else { 1e-10 };
            let result = recurrent_check(kind, l, states, bias, dtype, device);
            outcomes.push(outcome(format!("{name}/{}", dtype.name()), tol, result));
        }
    }
    for (name, make, dtypes) in cnn_trainings() {
        if filter.is_some_and(|s| !name.contains(s)) {
            continue;
        }
        for dtype in dtypes {
            let tol = if dtype == DType::F32 { 1e-3 } else { 1e-9 };
            let result = cnn_training_check(make, dtype, device);
            outcomes.push(outcome(format!("{name}/{}", dtype.name()), tol, result));
        }
    }
    // The comparator's negative control first whenever anything ran: a run whose comparator
    // passes a NaN has checked nothing.
    if !outcomes.is_empty() {
        outcomes.insert(0, negative_control());
    }
    outcomes
}

type MakeOptimizer = fn(Vec<Tensor>) -> Result<Box<dyn Optimizer>>;

/// Optimizer configurations checked on the device: (name, constructor).
fn optimizers() -> Vec<(&'static str, MakeOptimizer)> {
    vec![
        ("optim_sgd_plain", |p| Ok(Box::new(Sgd::new(p, SgdConfig::new(0.1))?))),
        ("optim_sgd_momentum_nesterov_decay", |p| {
            Ok(Box::new(Sgd::new(p, SgdConfig::new(0.05).momentum(0.9).nesterov(true).weight_decay(0.01))?))
        }),
        ("optim_sgd_dampening_maximize", |p| {
            Ok(Box::new(Sgd::new(p, SgdConfig::new(0.05).momentum(0.8).dampening(0.3).maximize(true))?))
        }),
        ("optim_adam", |p| Ok(Box::new(Adam::new(p, AdamConfig::new(0.01))?))),
        ("optim_adam_amsgrad_decay_maximize", |p| {
            Ok(Box::new(Adam::new(p, AdamConfig::new(0.01).amsgrad(true).weight_decay(0.1).maximize(true))?))
        }),
        ("optim_adamw", |p| Ok(Box::new(AdamW::new(p, AdamWConfig::new(0.01).weight_decay(0.1))?))),
    ]
}

/// Three steps of an optimizer on two parameters with fixed random gradients, on the CPU and on
/// `device` from the same values: the largest relative difference of the final parameters and of
/// the state tensors. Also checks copy-on-write on the device: a `detach()`ed handle taken before
/// the steps keeps its values.
fn optimizer_check(make: MakeOptimizer, dtype: DType, device: &Device) -> Result<f64> {
    let run = |dev: &Device| -> Result<Vec<Vec<f64>>> {
        let mut rng = Generator::new(5);
        let params: Vec<Tensor> = [vec![5, 7], vec![3]]
            .iter()
            .map(|s| Tensor::randn(s, dtype, &mut rng)?.to(dev)?.detach().requires_grad_())
            .collect::<Result<_>>()?;
        let snapshot = params[0].detach();
        let before = snapshot.to_f64_vec();
        let mut opt = make(params.clone())?;
        for _ in 0..3 {
            for p in &params {
                let g = Tensor::randn(&p.shape(), dtype, &mut rng)?.to(dev)?;
                p.set_grad(Some(g));
            }
            opt.step()?;
        }
        if snapshot.to_f64_vec() != before {
            return Err(Error::invalid("selftest", "an optimizer step wrote into a shared buffer"));
        }
        let mut out: Vec<Vec<f64>> = params.iter().map(Tensor::to_f64_vec).collect();
        for (name, t) in opt.state_tensors() {
            if !name.ends_with(".step") && t.device() != *dev {
                return Err(Error::Device {
                    op: "selftest",
                    msg: format!("state {name} on {} not {dev}", t.device()),
                });
            }
            out.push(t.to_f64_vec());
        }
        Ok(out)
    };
    let (cpu, dev) = (run(&Device::Cpu)?, run(device)?);
    if cpu.len() != dev.len() {
        return Err(Error::invalid("selftest", format!("{} vs {} state tensors", cpu.len(), dev.len())));
    }
    Ok(cpu.iter().zip(&dev).map(|(a, b)| max_rel_diff(a, b)).fold(0.0, worst))
}

/// The fused recurrent ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recurrent {
    RnnTanh,
    Lstm,
    Gru,
}

type RecurrentCase = (&'static str, Recurrent, usize, bool, (bool, bool));

/// Recurrent configurations: (name, op, layers, with `h0` (and `c0`), with (`b_ih`, `b_hh`)).
fn recurrents() -> Vec<RecurrentCase> {
    use Recurrent::{Gru, Lstm, RnnTanh};
    vec![
        ("rnn_tanh_1layer", RnnTanh, 1, true, (true, true)),
        ("rnn_tanh_2layers_no_h0_no_bias", RnnTanh, 2, false, (false, false)),
        ("lstm_1layer", Lstm, 1, true, (true, true)),
        ("lstm_2layers", Lstm, 2, true, (true, true)),
        ("lstm_no_states_bias_hh_only", Lstm, 1, false, (false, true)),
        ("gru_1layer", Gru, 1, true, (true, true)),
        ("gru_2layers_no_h0", Gru, 2, false, (true, true)),
        ("gru_bias_ih_only", Gru, 1, true, (true, false)),
        ("gru_no_bias", Gru, 2, true, (false, false)),
    ]
}

/// One recurrent op (N = 3, T = 4, I = 5, H = 4) on the CPU and on `device` from the same inputs:
/// the largest relative difference over every output (`output`, `h_n`, `c_n`) and the gradients of
/// every input ($x$, `h0`, `c0`, each layer's weights and biases) of
/// $L = \sum_k \sum_i r_{k,i}\, {\rm out}_{k,i}$ with fixed random $r_k$.
fn recurrent_check(
    kind: Recurrent,
    l: usize,
    states: bool,
    (bi, bh): (bool, bool),
    dtype: DType,
    device: &Device,
) -> Result<f64> {
    use crate::ops::rnn::RnnWeights;
    let (n, t, i, h) = (3, 4, 5, 4);
    let g = match kind {
        Recurrent::RnnTanh => 1,
        Recurrent::Lstm => 4,
        Recurrent::Gru => 3,
    };
    let run = |dev: &Device| -> Result<Vec<Vec<f64>>> {
        let mut rng = Generator::new(13);
        let mut leaf = |shape: &[usize], scale: f64| -> Result<Tensor> {
            Tensor::randn(shape, dtype, &mut rng)?.mul_scalar(scale)?.to(dev)?.detach().requires_grad_()
        };
        let x = leaf(&[n, t, i], 1.0)?;
        let h0 = if states { Some(leaf(&[l, n, h], 1.0)?) } else { None };
        let c0 = if states && kind == Recurrent::Lstm { Some(leaf(&[l, n, h], 1.0)?) } else { None };
        let layers: Vec<RnnWeights> = (0..l)
            .map(|k| {
                let ik = if k == 0 { i } else { h };
                Ok(RnnWeights {
                    weight_ih: leaf(&[g * h, ik], 0.5)?,
                    weight_hh: leaf(&[g * h, h], 0.5)?,
                    bias_ih: if bi { Some(leaf(&[g * h], 0.5)?) } else { None },
                    bias_hh: if bh { Some(leaf(&[g * h], 0.5)?) } else { None },
                })
            })
            .collect::<Result<_>>()?;
        let outs: Vec<Tensor> = match kind {
            Recurrent::RnnTanh => {
                let (y, hn) = Tensor::rnn_tanh(&x, h0.as_ref(), &layers)?;
                vec![y, hn]
            }
            Recurrent::Lstm => {
                let (y, hn, cn) = Tensor::lstm(&x, h0.as_ref(), c0.as_ref(), &layers)?;
                vec![y, hn, cn]
            }
            Recurrent::Gru => {
                let (y, hn) = Tensor::gru(&x, h0.as_ref(), &layers)?;
                vec![y, hn]
            }
        };
        let mut rr = Generator::new(17);
        let mut loss: Option<Tensor> = None;
        for o in &outs {
            if o.device() != *dev {
                return Err(Error::Device {
                    op: "selftest",
                    msg: format!("an output on {} not {dev}", o.device()),
                });
            }
            let r = Tensor::randn(&o.shape(), dtype, &mut rr)?.to(dev)?;
            let term = o.mul(&r)?.sum()?;
            loss = Some(match loss {
                Some(l) => l.add(&term)?,
                None => term,
            });
        }
        loss.ok_or_else(|| Error::invalid("selftest", "no output"))?.backward()?;
        let mut out: Vec<Vec<f64>> = outs.iter().map(Tensor::to_f64_vec).collect();
        let mut leaves: Vec<&Tensor> = vec![&x];
        leaves.extend(h0.iter());
        leaves.extend(c0.iter());
        for w in &layers {
            leaves.extend(w.tensors());
        }
        for p in leaves {
            let gr = p.grad().ok_or_else(|| Error::invalid("selftest", "an input received no gradient"))?;
            if gr.device() != *dev {
                return Err(Error::Device {
                    op: "selftest",
                    msg: format!("gradient on {} not {dev}", gr.device()),
                });
            }
            out.push(gr.to_f64_vec());
        }
        Ok(out)
    };
    let (cpu, dev) = (run(&Device::Cpu)?, run(device)?);
    if cpu.len() != dev.len() {
        return Err(Error::invalid(
            "selftest",
            format!("{} vs {} outputs and gradients", cpu.len(), dev.len()),
        ));
    }
    Ok(cpu.iter().zip(&dev).map(|(a, b)| max_rel_diff(a, b)).fold(0.0, worst))
}

/// The document's CNN trained on the device: (name, optimizer, dtypes). Adam runs in f64 only:
/// its update divides by $\sqrt{v}$, so an f32 gradient that is nearly zero and differs in the
/// last bits moves its weight by up to $2\gamma$, more than an f32 tolerance allows.
fn cnn_trainings() -> Vec<(&'static str, MakeOptimizer, Vec<DType>)> {
    vec![
        (
            "cnn_train_sgd_momentum",
            |p| Ok(Box::new(Sgd::new(p, SgdConfig::new(0.01).momentum(0.9))?)),
            vec![DType::F32, DType::F64],
        ),
        ("cnn_train_adam", |p| Ok(Box::new(Adam::new(p, AdamConfig::new(1e-3))?)), vec![DType::F64]),
    ]
}

/// Ten training steps of [`SeedCnn`] on a batch of 4 random images, on the CPU and on `device`
/// from the same initial weights (the model moved with `Module::to_device`): the largest relative
/// difference over the ten losses and the final weights.
fn cnn_training_check(make: MakeOptimizer, dtype: DType, device: &Device) -> Result<f64> {
    let run = |dev: &Device| -> Result<Vec<Vec<f64>>> {
        let mut rng = Generator::new(3);
        let model = SeedCnn::new(dtype, &mut rng)?;
        model.to_device(dev)?;
        let x = Tensor::randn(&[4, 3, 28, 28], dtype, &mut rng)?.to(dev)?;
        let t = Tensor::from_vec(vec![3i64, 7, 0, 9], &[4])?.to(dev)?;
        let mut opt = make(model.parameters())?;
        let mut losses = Vec::new();
        for _ in 0..10 {
            opt.zero_grad();
            let loss = model.forward(&x)?.cross_entropy(&t, Reduction::Mean)?;
            loss.backward()?;
            opt.step()?;
            losses.push(loss.item()?);
        }
        let mut out = vec![losses];
        for p in model.parameters() {
            if p.device() != *dev {
                return Err(Error::Device {
                    op: "selftest",
                    msg: format!("a parameter on {} not {dev}", p.device()),
                });
            }
            out.push(p.to_f64_vec());
        }
        Ok(out)
    };
    let (cpu, dev) = (run(&Device::Cpu)?, run(device)?);
    Ok(cpu.iter().zip(&dev).map(|(a, b)| max_rel_diff(a, b)).fold(0.0, worst))
}
