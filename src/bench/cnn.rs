//! Benchmark cases of the document's CNN (listing 1.4.1) and its layers, f32, batch 64.
//!
//! | id | what one iteration does | flops | compulsory bytes |
//! |---|---|---|---|
//! | `conv1_fwd` | conv 3→32 on 28×28, 3×3, padding 1 | $2 N O\,OH\,OW\,C k_H k_W$ | $4(\lvert x\rvert + \lvert w\rvert + \lvert b\rvert + \lvert y\rvert)$ |
//! | `conv1_fwd_bwd` | the same, then backward computing $\partial X$, $\partial W$, $\partial b$ | 3× the forward's | twice the forward's: $x, w, b, \bar y$ read, $y, \partial x, \partial w, \partial b$ written |
//! | `conv2_fwd`, `conv2_fwd_bwd` | conv 32→64 on 14×14 | as above | as above |
//! | `maxpool_fwd_bwd` | 2×2 max-pool of (64, 32, 28, 28), forward and backward | 3 comparisons per window | $x$, $\bar y$ read, $y$, $\partial x$ written |
//! | `cnn_fwd` | the listing's forward (no tape) | the two convs and two linears | $x$ and the $P$ parameters read, the logits written |
//! | `cnn_train_step` | forward, cross-entropy, backward, SGD step | 3× `cnn_fwd`'s | $x$, the labels (i64) read, the $P$ parameters read and written |
//!
//! The fwd+bwd cases count the backward as twice the forward (the $\partial X$ and $\partial W$
//! GEMMs each have the forward's size); the bias gradient, col2im, ReLU, pooling and the loss are
//! not counted. Compulsory bytes leave out the intermediate activations (a layer's output that the
//! next layer reads), the gradients and the im2col matrices: they are what a perfect cache would
//! never spill, so the cases' GB/s are lower bounds on their traffic.
//!
//! The same cases run on a GPU ([`cases_on`] with `Device::Cuda(0)`, in `glassgrad bench
//! --device cuda`): inputs drawn on the CPU, then moved; the model moved with
//! `Module::to_device`; each iteration ends with a stream synchronisation.

use super::case::{Case, Work, finish, keep};
use crate::autograd::no_grad;
use crate::device::Device;
use crate::models::cnn::SeedCnn;
use crate::nn::Module;
use crate::ops::conv2d::Conv2dParams;
use crate::ops::loss::Reduction;
use crate::ops::pool2d::Pool2dParams;
use crate::optim::{Optimizer, Sgd, SgdConfig};
use crate::tensor::{DType, Tensor};

/// Batch size of every case here.
pub const BATCH: usize = 64;
/// Kernel size (square) of the convolution cases.
const K: usize = 3;
/// Padding of the convolution cases (output the size of the input).
const PAD: usize = 1;
/// SGD learning rate of `cnn_train_step` (no momentum, no weight decay).
const LR: f64 = 0.01;

/// Parameters of the listing's CNN: conv 3→32 and 32→64 (3×3, with bias), Linear(64·7·7, 128) and
/// Linear(128, 10) (with bias).
pub const CNN_PARAMS: usize =
    (32 * 3 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 7 * 7 * 128 + 128) + (128 * 10 + 10);

/// Flops of a 3×3, padding-1 convolution from `c` to `o` channels on `hw`×`hw` (output the same size).
fn conv_flops(c: usize, o: usize, hw: usize) -> f64 {
    2.0 * (BATCH * o * hw * hw * c * K * K) as f64
}

/// Compulsory bytes of that convolution's forward: $x$, $w$, $b$ read, $y$ written.
fn conv_bytes(c: usize, o: usize, hw: usize) -> f64 {
    4.0 * (BATCH * c * hw * hw + o * c * K * K + o + BATCH * o * hw * hw) as f64
}

/// Flops of one forward pass of the listing's CNN at batch [`BATCH`].
pub fn cnn_fwd_flops() -> f64 {
    conv_flops(3, 32, 28) + conv_flops(32, 64, 14) + 2.0 * (BATCH * (3136 * 128 + 128 * 10)) as f64
}

fn conv_case(id: &'static str, c: usize, o: usize, hw: usize, backward: bool, dev: &Device) -> Case {
    let dev = *dev;
    let (fwd, fwd_bytes) = (conv_flops(c, o, hw), conv_bytes(c, o, hw));
    let pass = if backward { "fwd+bwd grads=x,w,b" } else { "fwd grad=off" };
    let spec = format!(
        "op=conv2d dtype=f32 batch={BATCH} in_channels={c} out_channels={o} hw={hw}x{hw} kernel={K}x{K} padding={PAD} stride=1 bias=true mode=cross_correlation pass={pass}"
    );
    let (work, about) = if backward {
        (
            Work::new(3.0 * fwd, 2.0 * fwd_bytes),
            format!("f32 conv2d {c}→{o} on {hw}×{hw}, 3×3, pad 1, batch {BATCH}: fwd + bwd (dX, dW, db)"),
        )
    } else {
        (
            Work::new(fwd, fwd_bytes),
            format!("f32 conv2d {c}→{o} on {hw}×{hw}, 3×3, pad 1, batch {BATCH}: forward"),
        )
    };
    Case::new(id, work, about, move |rng| {
        let p = Conv2dParams { padding: [PAD, PAD], ..Conv2dParams::default() };
        let x = Tensor::randn(&[BATCH, c, hw, hw], DType::F32, rng)?.to(&dev)?;
        let w = Tensor::randn(&[o, c, K, K], DType::F32, rng)?.to(&dev)?;
        let b = Tensor::randn(&[o], DType::F32, rng)?.to(&dev)?;
        if !backward {
            return Ok(Box::new(move || {
                keep(x.conv2d(&w, Some(&b), &p)?)?;
                finish(&dev)
            }));
        }
        let (x, w, b) = (x.requires_grad_()?, w.requires_grad_()?, b.requires_grad_()?);
        let g = Tensor::randn(&[BATCH, o, hw, hw], DType::F32, rng)?.to(&dev)?;
        Ok(Box::new(move || {
            for t in [&x, &w, &b] {
                t.zero_grad();
            }
            x.conv2d(&w, Some(&b), &p)?.backward_with(&g)?;
            keep(w.grad())?;
            finish(&dev)
        }))
    })
    .with_spec(spec)
}

/// Every case of this file, in report order, on the CPU.
pub fn cases() -> Vec<Case> {
    cases_on(&Device::Cpu)
}

/// Every case of this file on `dev`.
pub fn cases_on(dev: &Device) -> Vec<Case> {
    let (c, hw) = (32usize, 28usize);
    let d = *dev;
    let x_bytes = 4.0 * (BATCH * c * hw * hw) as f64;
    let windows = (BATCH * c * (hw / 2) * (hw / 2)) as f64;
    // The CNN cases: input, labels (i64), parameters.
    let (input, labels, params) =
        (4.0 * (BATCH * 3 * 28 * 28) as f64, 8.0 * BATCH as f64, 4.0 * CNN_PARAMS as f64);
    let cnn_spec = format!(
        "model=SeedCnn layers=conv{K}x{K}(3->32,pad{PAD}),relu,maxpool2x2,conv{K}x{K}(32->64,pad{PAD}),relu,maxpool2x2,linear(3136->128),relu,linear(128->10) params={CNN_PARAMS} dtype=f32 batch={BATCH} input=3x28x28"
    );
    vec![
        conv_case("conv1_fwd", 3, 32, 28, false, dev),
        conv_case("conv1_fwd_bwd", 3, 32, 28, true, dev),
        conv_case("conv2_fwd", 32, 64, 14, false, dev),
        conv_case("conv2_fwd_bwd", 32, 64, 14, true, dev),
        Case::new(
            "maxpool_fwd_bwd",
            Work::new(3.0 * windows, 2.0 * x_bytes + 2.0 * x_bytes / 4.0),
            format!("f32 max_pool2d 2×2 of ({BATCH}, {c}, {hw}, {hw}): fwd + bwd"),
            move |rng| {
                let x = Tensor::randn(&[BATCH, c, hw, hw], DType::F32, rng)?.to(&d)?.requires_grad_()?;
                let g = Tensor::randn(&[BATCH, c, hw / 2, hw / 2], DType::F32, rng)?.to(&d)?;
                let p = Pool2dParams::new([2, 2]);
                Ok(Box::new(move || {
                    x.zero_grad();
                    x.max_pool2d(&p)?.backward_with(&g)?;
                    keep(x.grad())?;
                    finish(&d)
                }))
            },
        )
        .with_spec(format!(
            "op=max_pool2d dtype=f32 batch={BATCH} channels={c} hw={hw}x{hw} kernel=2x2 stride=2 pass=fwd+bwd"
        )),
        Case::new(
            "cnn_fwd",
            Work::new(cnn_fwd_flops(), input + params + 4.0 * (BATCH * 10) as f64),
            format!("the listing's CNN, forward only (no tape), f32 batch {BATCH} of 3×28×28"),
            move |rng| {
                let model = SeedCnn::new(DType::F32, rng)?;
                model.to_device(&d)?;
                let x = Tensor::randn(&[BATCH, 3, 28, 28], DType::F32, rng)?.to(&d)?;
                Ok(Box::new(move || {
                    keep(no_grad(|| model.forward(&x))?)?;
                    finish(&d)
                }))
            },
        )
        .with_spec(format!("{cnn_spec} grad=off")),
        Case::new(
            "cnn_train_step",
            Work::new(3.0 * cnn_fwd_flops(), input + labels + 2.0 * params),
            format!(
                "the listing's CNN, one SGD step (forward, cross-entropy, backward, update), batch {BATCH}"
            ),
            move |rng| {
                let model = SeedCnn::new(DType::F32, rng)?;
                model.to_device(&d)?;
                let x = Tensor::randn(&[BATCH, 3, 28, 28], DType::F32, rng)?.to(&d)?;
                let y = Tensor::randint(&[BATCH], 0, 10, rng)?.to(&d)?;
                let mut opt = Sgd::new(model.parameters(), SgdConfig::new(LR))?;
                Ok(Box::new(move || {
                    opt.zero_grad();
                    let loss = model.forward(&x)?.cross_entropy(&y, Reduction::Mean)?;
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        )
        .with_spec(format!(
            "{cnn_spec} labels=randint(0,10) loss=cross_entropy(mean) optimizer=sgd lr={LR} momentum=0 weight_decay=0"
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnn_params_count_the_model() {
        let m = SeedCnn::new(DType::F32, &mut crate::rng::Generator::new(0)).unwrap();
        let n: usize = m.parameters().iter().map(|p| p.shape().iter().product::<usize>()).sum();
        assert_eq!(n, CNN_PARAMS);
    }
}
