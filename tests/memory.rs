//! A long training loop must not grow memory: the tape is freed after each backward, gradients
//! are replaced not accumulated across `zero_grad`, and optimizer state stays one buffer per
//! parameter.

use glassgrad::nn::{Linear, Module, ReLU, Sequential};
use glassgrad::optim::{Optimizer, Sgd, SgdConfig};
use glassgrad::{DType, Generator, Tensor};

/// Resident set size in bytes, from /proc/self/statm (pages × 4096 on Linux).
fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn ten_thousand_steps_do_not_grow_memory() {
    if rss_bytes().is_none() {
        eprintln!("skipped: /proc/self/statm is not available on this system");
        return;
    }
    let mut rng = Generator::new(0);
    let model = Sequential::new()
        .add(Linear::new(8, 16, true, DType::F32, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Linear::new(16, 1, true, DType::F32, &mut rng).unwrap());
    let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.01).momentum(0.9)).unwrap();
    let x = Tensor::randn(&[32, 8], DType::F32, &mut rng).unwrap();
    let y = x.sum_dim(1, true).unwrap().tanh().unwrap(); // a target the model can learn

    let step = |opt: &mut Sgd| -> f64 {
        opt.zero_grad();
        let loss = model.forward(&x).unwrap().sub(&y).unwrap().pow(2.0).unwrap().mean().unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
        loss.item().unwrap()
    };
    let first = step(&mut opt);
    for _ in 1..500 {
        step(&mut opt);
    }
    let before = rss_bytes().unwrap();
    let mut last = 0.0;
    for _ in 500..10_000 {
        last = step(&mut opt);
    }
    let after = rss_bytes().unwrap();
    let growth = after.saturating_sub(before);
    eprintln!("RSS before {} KiB, after {} KiB", before >> 10, after >> 10);
    assert!(growth < 4 << 20, "RSS grew by {} KiB over 9,500 steps", growth >> 10);
    assert!(last < first, "training did not reduce the loss: {first} -> {last}");
}
