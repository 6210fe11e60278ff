//! The gradcheck suite: every differentiable op, checked by central differences in f64 on small
//! seeded inputs. `glassgrad gradcheck` prints it as a table; `tests/gradcheck.rs` asserts it.

use crate::autograd::{GradcheckReport, gradcheck};
use crate::error::Result;
use crate::ops::batch_norm::BatchNormParams;
use crate::ops::conv2d::{Conv2dParams, ConvMode};
use crate::ops::loss::Reduction;
use crate::ops::pool2d::Pool2dParams;
use crate::ops::rnn::RnnWeights;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// One entry: an op name and a function that runs its check.
pub struct SuiteCase {
    pub op: &'static str,
    pub run: fn() -> Result<GradcheckReport>,
}

/// A leaf of `shape` with values uniform in `[lo, hi)` that requires a gradient.
pub fn leaf(shape: &[usize], lo: f64, hi: f64, seed: u64) -> Result<Tensor> {
    Tensor::uniform(shape, lo, hi, DType::F64, &mut Generator::new(seed))?.requires_grad_()
}

/// A leaf of standard normal values that requires a gradient.
pub fn leaf_n(shape: &[usize], seed: u64) -> Result<Tensor> {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed))?.requires_grad_()
}

macro_rules! case {
    ($op:expr, [$($x:expr),+ $(,)?], |$xs:ident| $f:expr) => {
        SuiteCase { op: $op, run: || gradcheck(|$xs: &[Tensor]| $f, &[$($x?),+]) }
    };
}

/// Every op the suite knows, in the order of the op table.
pub fn suite() -> Vec<SuiteCase> {
    vec![
        case!("add", [leaf_n(&[2, 3], 1), leaf_n(&[3], 2)], |x| x[0].add(&x[1])),
        case!("sub", [leaf_n(&[2, 1, 3], 1), leaf_n(&[4, 1], 2)], |x| x[0].sub(&x[1])),
        case!("mul", [leaf_n(&[2, 3], 1), leaf_n(&[2, 1], 2)], |x| x[0].mul(&x[1])),
        case!("div", [leaf_n(&[2, 3], 1), leaf(&[3], 0.5, 2.0, 2)], |x| x[0].div(&x[1])),
        case!("neg", [leaf_n(&[5], 1)], |x| x[0].neg()),
        case!("abs", [leaf_n(&[6], 1)], |x| x[0].abs()),
        case!("exp", [leaf_n(&[2, 3], 1)], |x| x[0].exp()),
        case!("log", [leaf(&[2, 3], 0.1, 3.0, 1)], |x| x[0].log()),
        case!("tanh", [leaf_n(&[2, 3], 1)], |x| x[0].tanh()),
        case!("sigmoid", [leaf_n(&[2, 3], 1)], |x| x[0].sigmoid()),
        case!("relu", [leaf_n(&[2, 3], 1)], |x| x[0].relu()),
        case!("sqrt", [leaf(&[2, 3], 0.1, 3.0, 1)], |x| x[0].sqrt()),
        case!("pow", [leaf(&[2, 3], 0.1, 3.0, 1)], |x| x[0].pow(2.5)),
        case!("clamp", [leaf_n(&[3, 3], 1)], |x| x[0].clamp(Some(-0.5), Some(0.5))),
        case!("sum", [leaf_n(&[2, 3, 4], 1)], |x| x[0].sum_dims(Some(&[0, 2]), true)),
        case!("mean", [leaf_n(&[2, 3, 4], 1)], |x| x[0].mean_dims(Some(&[-1]), false)),
        case!("matmul", [leaf_n(&[2, 3, 4], 1), leaf_n(&[4, 5], 2)], |x| x[0].matmul(&x[1])),
        case!("transpose", [leaf_n(&[2, 3, 4], 1)], |x| x[0].transpose(0, 2)?.exp()),
        case!("permute", [leaf_n(&[2, 3, 4], 1)], |x| x[0].permute(&[1, 2, 0])?.exp()),
        case!("reshape", [leaf_n(&[2, 3, 4], 1)], |x| x[0].transpose(0, 1)?.reshape(&[4, -1])?.exp()),
        case!("narrow", [leaf_n(&[4, 5], 1)], |x| x[0].narrow(1, 1, 3)?.exp()),
        case!("broadcast_to", [leaf_n(&[3, 1], 1)], |x| x[0].broadcast_to(&[2, 3, 4])?.exp()),
        case!("cat", [leaf_n(&[2, 3], 1), leaf_n(&[2, 2], 2)], |x| Tensor::cat(
            &[x[0].clone(), x[1].clone()],
            1
        )?
        .exp()),
        case!("stack", [leaf_n(&[2, 3], 1), leaf_n(&[2, 3], 2)], |x| Tensor::stack(
            &[x[0].clone(), x[1].clone()],
            1
        )?
        .exp()),
        case!("index_select", [leaf_n(&[4, 3], 1)], |x| x[0]
            .index_select(0, &Tensor::from_vec(vec![3i64, 0, 3, 1], &[4])?)),
        case!("gather", [leaf_n(&[3, 4], 1)], |x| x[0]
            .gather(1, &Tensor::from_vec(vec![0i64, 3, 3, 1, 2, 0], &[3, 2])?)),
        case!("scatter_add", [leaf_n(&[3, 4], 1), leaf_n(&[2, 4], 2)], |x| {
            x[0].scatter_add(0, &Tensor::from_vec(vec![0i64, 2, 1, 0, 0, 0, 2, 1], &[2, 4])?, &x[1])
        }),
        case!("softmax", [leaf_n(&[3, 5], 1)], |x| x[0].softmax(-1)),
        case!("log_softmax", [leaf_n(&[3, 5], 1)], |x| x[0].log_softmax(0)),
        case!("logsumexp", [leaf_n(&[3, 5], 1)], |x| x[0].logsumexp(1, true)),
        case!("cross_entropy", [leaf_n(&[4, 5], 1)], |x| {
            x[0].cross_entropy(&Tensor::from_vec(vec![1i64, 0, 4, 1], &[4])?, Reduction::Mean)
        }),
        case!("nll_loss", [leaf_n(&[4, 5], 1)], |x| {
            x[0].log_softmax(-1)?.nll_loss(&Tensor::from_vec(vec![2i64, 3, 0, 2], &[4])?, Reduction::Sum)
        }),
        case!("mse_loss", [leaf_n(&[3, 4], 1), leaf_n(&[3, 4], 2)], |x| x[0]
            .mse_loss(&x[1], Reduction::Mean)),
        case!("binary_cross_entropy_with_logits", [leaf_n(&[3, 4], 1), leaf(&[3, 4], 0.0, 1.0, 2)], |x| {
            let pw = Tensor::from_vec(vec![0.5, 1.0, 2.0, 3.0], &[4])?;
            x[0].binary_cross_entropy_with_logits(&x[1], None, Some(&pw), Reduction::Mean)
        }),
        case!("gelu", [leaf_n(&[2, 3], 1)], |x| x[0].gelu(crate::ops::activation::GeluApprox::None)),
        case!("gelu_tanh", [leaf_n(&[2, 3], 1)], |x| x[0].gelu(crate::ops::activation::GeluApprox::Tanh)),
        case!("leaky_relu", [leaf_n(&[2, 3], 1)], |x| x[0].leaky_relu(0.1)),
        case!("elu", [leaf_n(&[2, 3], 1)], |x| x[0].elu(1.5)),
        case!("softplus", [leaf_n(&[2, 3], 1)], |x| x[0].softplus(2.0, 20.0)),
        case!("silu", [leaf_n(&[2, 3], 1)], |x| x[0].silu()),
        case!("linear", [leaf_n(&[2, 3, 4], 1), leaf_n(&[5, 4], 2), leaf_n(&[5], 3)], |x| {
            x[0].linear(&x[1], Some(&x[2]))
        }),
        case!("var", [leaf_n(&[3, 4], 1)], |x| x[0].var_dims(Some(&[1]), 1, true)),
        case!("std", [leaf_n(&[3, 4], 1)], |x| x[0].std_dims(Some(&[0]), 1, false)),
        case!("max_dim", [leaf_n(&[3, 4], 1)], |x| Ok(x[0].max_dim(1, false)?.0)),
        case!("min_dim", [leaf_n(&[3, 4], 1)], |x| Ok(x[0].min_dim(0, true)?.0)),
        case!("max", [leaf_n(&[3, 4], 1)], |x| x[0].max()),
        case!("min", [leaf_n(&[3, 4], 1)], |x| x[0].min()),
        case!("sort", [leaf_n(&[3, 5], 1)], |x| Ok(x[0].sort(1, true)?.0)),
        case!("topk", [leaf_n(&[3, 5], 1)], |x| Ok(x[0].topk(2, 1, true, true)?.0)),
        case!("where_cond", [leaf_n(&[3, 4], 1), leaf_n(&[4], 2)], |x| {
            Tensor::where_cond(&x[0].gt_scalar(0.0)?, &x[0], &x[1])
        }),
        case!("masked_fill", [leaf_n(&[3, 4], 1)], |x| x[0].masked_fill(&x[0].lt_scalar(0.0)?, 2.0)),
        case!("maximum", [leaf_n(&[3, 4], 1), leaf_n(&[4], 2)], |x| x[0].maximum(&x[1])),
        case!("minimum", [leaf_n(&[3, 4], 1), leaf_n(&[3, 1], 2)], |x| x[0].minimum(&x[1])),
        case!("conv2d", [leaf_n(&[2, 4, 6, 5], 1), leaf_n(&[6, 2, 3, 2], 2), leaf_n(&[6], 3)], |x| {
            let p = Conv2dParams {
                stride: [2, 1],
                padding: [1, 1],
                dilation: [1, 2],
                groups: 2,
                ..Default::default()
            };
            x[0].conv2d(&x[1], Some(&x[2]), &p)
        }),
        case!("conv2d_convolution", [leaf_n(&[1, 2, 5, 5], 1), leaf_n(&[3, 2, 3, 3], 2)], |x| {
            let p = Conv2dParams { padding: [2, 2], mode: ConvMode::Convolution, ..Default::default() };
            x[0].conv2d(&x[1], None, &p)
        }),
        case!("conv1d", [leaf_n(&[2, 3, 9], 1), leaf_n(&[4, 3, 3], 2), leaf_n(&[4], 3)], |x| {
            x[0].conv1d(&x[1], Some(&x[2]), 2, 1, 1, 1)
        }),
        case!("max_pool2d", [leaf_n(&[2, 2, 7, 7], 1)], |x| {
            x[0].max_pool2d(&Pool2dParams { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1] })
        }),
        case!("avg_pool2d", [leaf_n(&[2, 2, 6, 6], 1)], |x| {
            x[0].avg_pool2d(&Pool2dParams { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1] }, false)
        }),
        case!("adaptive_avg_pool2d", [leaf_n(&[2, 3, 4, 4], 1)], |x| x[0].adaptive_avg_pool2d_1x1()),
        case!("batch_norm", [leaf_n(&[3, 2, 3, 2], 1), leaf(&[2], 0.5, 2.0, 2), leaf_n(&[2], 3)], |x| {
            x[0].batch_norm(None, None, Some(&x[1]), Some(&x[2]), &BatchNormParams::default())
        }),
        case!("batch_norm_eval", [leaf_n(&[2, 3, 4], 1), leaf(&[3], 0.5, 2.0, 2), leaf_n(&[3], 3)], |x| {
            let rm = Tensor::from_vec(vec![0.1f64, -0.2, 0.3], &[3])?;
            let rv = Tensor::from_vec(vec![0.5f64, 1.5, 2.0], &[3])?;
            let p = BatchNormParams { training: false, ..BatchNormParams::default() };
            x[0].batch_norm(Some(&rm), Some(&rv), Some(&x[1]), Some(&x[2]), &p)
        }),
        case!("embedding", [leaf_n(&[5, 3], 1)], |x| {
            Tensor::embedding(&Tensor::from_vec(vec![4i64, 0, 4, 2, 1, 4], &[2, 3])?, &x[0], None)
        }),
        case!(
            "mf_predict",
            [leaf_n(&[3, 4], 1), leaf_n(&[4, 4], 2), leaf_n(&[3], 3), leaf_n(&[4], 4), leaf_n(&[], 5)],
            |x| Tensor::mf_predict(
                &Tensor::from_vec(vec![2i64, 0, 2, 1, 2], &[5])?,
                &Tensor::from_vec(vec![3i64, 3, 0, 1, 3], &[5])?,
                &x[0],
                &x[1],
                &x[2],
                &x[3],
                &x[4],
            )
        ),
        case!(
            "rnn_tanh",
            [
                leaf_n(&[2, 5, 3], 1),
                leaf_n(&[2, 2, 4], 2),
                leaf_n(&[4, 3], 3),
                leaf_n(&[4, 4], 4),
                leaf_n(&[4], 5),
                leaf_n(&[4, 4], 6),
                leaf_n(&[4, 4], 7),
                leaf_n(&[4], 8)
            ],
            |x| {
                let layers = [
                    RnnWeights {
                        weight_ih: x[2].clone(),
                        weight_hh: x[3].clone(),
                        bias_ih: Some(x[4].clone()),
                        bias_hh: None,
                    },
                    RnnWeights {
                        weight_ih: x[5].clone(),
                        weight_hh: x[6].clone(),
                        bias_ih: None,
                        bias_hh: Some(x[7].clone()),
                    },
                ];
                let (out, h_n) = Tensor::rnn_tanh(&x[0], Some(&x[1]), &layers)?;
                out.sum()?.add(&h_n.mul(&h_n)?.sum()?)
            }
        ),
        case!(
            "lstm",
            [
                leaf_n(&[2, 5, 3], 1),
                leaf_n(&[1, 2, 4], 2),
                leaf_n(&[1, 2, 4], 3),
                leaf_n(&[16, 3], 4),
                leaf_n(&[16, 4], 5),
                leaf_n(&[16], 6),
                leaf_n(&[16], 7)
            ],
            |x| {
                let layers = [RnnWeights {
                    weight_ih: x[3].clone(),
                    weight_hh: x[4].clone(),
                    bias_ih: Some(x[5].clone()),
                    bias_hh: Some(x[6].clone()),
                }];
                let (out, h_n, c_n) = Tensor::lstm(&x[0], Some(&x[1]), Some(&x[2]), &layers)?;
                out.sum()?.add(&h_n.sum()?)?.add(&c_n.mul(&c_n)?.sum()?)
            }
        ),
        case!(
            "gru",
            [
                leaf_n(&[2, 5, 3], 1),
                leaf_n(&[1, 2, 4], 2),
                leaf_n(&[12, 3], 4),
                leaf_n(&[12, 4], 5),
                leaf_n(&[12], 6),
                leaf_n(&[12], 7)
            ],
            |x| {
                let layers = [RnnWeights {
                    weight_ih: x[2].clone(),
                    weight_hh: x[3].clone(),
                    bias_ih: Some(x[4].clone()),
                    bias_hh: Some(x[5].clone()),
                }];
                let (out, h_n) = Tensor::gru(&x[0], Some(&x[1]), &layers)?;
                out.sum()?.add(&h_n.mul(&h_n)?.sum()?)
            }
        ),
        case!("layer_norm", [leaf_n(&[3, 2, 4], 1), leaf_n(&[2, 4], 2), leaf_n(&[2, 4], 3)], |x| {
            x[0].layer_norm(&[2, 4], Some(&x[1]), Some(&x[2]), 1e-5)
        }),
        // A fixed seed: every evaluation draws the same mask, so the function is deterministic.
        case!("dropout", [leaf_n(&[4, 5], 1)], |x| x[0].dropout(
            0.4,
            true,
            &mut crate::rng::Generator::new(3)
        )),
    ]
}
