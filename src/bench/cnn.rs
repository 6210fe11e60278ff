//! Benchmark cases of the document's CNN (listing 1.4.1) and its layers, f32, batch 64.
//!
//! | id | what one iteration does | work |
//! |---|---|---|
//! | `conv1_fwd` | conv 3→32 on 28×28, 3×3, padding 1 | $2 N O\,OH\,OW\,C k_H k_W$ flops |
//! | `conv1_fwd_bwd` | the same, then backward computing $\partial X$, $\partial W$, $\partial b$ | 3× the forward's flops |
//! | `conv2_fwd`, `conv2_fwd_bwd` | conv 32→64 on 14×14 | as above |
//! | `maxpool_fwd_bwd` | 2×2 max-pool of (64, 32, 28, 28), forward and backward | bytes: $x$, $\bar y$ read, $y$, $\partial x$ written |
//! | `cnn_fwd` | the listing's forward (no tape) | flops of the two convs and two linears |
//! | `cnn_train_step` | forward, cross-entropy, backward, SGD step | 3× `cnn_fwd`'s flops |
//!
//! The fwd+bwd cases count the backward as twice the forward (the $\partial X$ and $\partial W$
//! GEMMs each have the forward's size); the bias gradient and col2im are not counted.
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

/// Flops of a 3×3, padding-1 convolution from `c` to `o` channels on `hw`×`hw` (output the same size).
fn conv_flops(c: usize, o: usize, hw: usize) -> f64 {
    2.0 * (BATCH * o * hw * hw * c * 9) as f64
}

/// Flops of one forward pass of the listing's CNN at batch [`BATCH`].
pub fn cnn_fwd_flops() -> f64 {
    conv_flops(3, 32, 28) + conv_flops(32, 64, 14) + 2.0 * (BATCH * (3136 * 128 + 128 * 10)) as f64
}

fn conv_case(id: &'static str, c: usize, o: usize, hw: usize, backward: bool, dev: &Device) -> Case {
    let dev = *dev;
    let fwd = conv_flops(c, o, hw);
    let (work, about) = if backward {
        (
            Work::Flops(3.0 * fwd),
            format!("f32 conv2d {c}→{o} on {hw}×{hw}, 3×3, pad 1, batch {BATCH}: fwd + bwd (dX, dW, db)"),
        )
    } else {
        (Work::Flops(fwd), format!("f32 conv2d {c}→{o} on {hw}×{hw}, 3×3, pad 1, batch {BATCH}: forward"))
    };
    Case::new(id, work, about, move |rng| {
        let p = Conv2dParams { padding: [1, 1], ..Conv2dParams::default() };
        let x = Tensor::randn(&[BATCH, c, hw, hw], DType::F32, rng)?.to(&dev)?;
        let w = Tensor::randn(&[o, c, 3, 3], DType::F32, rng)?.to(&dev)?;
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
    vec![
        conv_case("conv1_fwd", 3, 32, 28, false, dev),
        conv_case("conv1_fwd_bwd", 3, 32, 28, true, dev),
        conv_case("conv2_fwd", 32, 64, 14, false, dev),
        conv_case("conv2_fwd_bwd", 32, 64, 14, true, dev),
        Case::new(
            "maxpool_fwd_bwd",
            Work::Bytes(2.0 * x_bytes + 2.0 * x_bytes / 4.0),
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
        ),
        Case::new(
            "cnn_fwd",
            Work::Flops(cnn_fwd_flops()),
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
        ),
        Case::new(
            "cnn_train_step",
            Work::Flops(3.0 * cnn_fwd_flops()),
            format!(
                "the listing's CNN, one SGD step (forward, cross-entropy, backward, update), batch {BATCH}"
            ),
            move |rng| {
                let model = SeedCnn::new(DType::F32, rng)?;
                model.to_device(&d)?;
                let x = Tensor::randn(&[BATCH, 3, 28, 28], DType::F32, rng)?.to(&d)?;
                let y = Tensor::randint(&[BATCH], 0, 10, rng)?.to(&d)?;
                let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.01))?;
                Ok(Box::new(move || {
                    opt.zero_grad();
                    let loss = model.forward(&x)?.cross_entropy(&y, Reduction::Mean)?;
                    loss.backward()?;
                    opt.step()?;
                    finish(&d)
                }))
            },
        ),
    ]
}
