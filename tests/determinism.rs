//! The same seed gives bit-identical results with 1 and with 2 threads.
//!
//! rayon's global pool (which the GEMMs use too) is sized once per process, so the workload runs
//! in child processes (this test binary re-invoked on `child_workload` with `GLASSGRAD_CHILD=1`),
//! one per thread count, and the parent compares what they print.

use glassgrad::nn::{Gru, Lstm, Module, RecurrentConfig, Rnn};
use glassgrad::{DType, Generator, Tensor};
use std::process::Command;

/// A workload touching every parallel path: a GEMM large enough to be cut into rayon blocks,
/// batched GEMM (rayon over batches), big elementwise maps and a big full sum (chunked reduction),
/// a backward pass, and the three recurrent layers at a batch (40) that the time loop cuts into
/// row chunks on two threads. Prints the bit patterns of the results.
fn workload() -> Vec<String> {
    let mut g = Generator::new(42);
    let a = Tensor::randn(&[384, 320], DType::F32, &mut g).unwrap().requires_grad_().unwrap();
    let b = Tensor::randn(&[320, 352], DType::F32, &mut g).unwrap().requires_grad_().unwrap();
    let c = a.matmul(&b).unwrap().tanh().unwrap();
    let bat = Tensor::randn(&[16, 48, 40], DType::F32, &mut g).unwrap();
    let d = bat.matmul(&bat.transpose(1, 2).unwrap()).unwrap().sigmoid().unwrap();
    let loss = c.mul(&c).unwrap().mean().unwrap().add(&d.sum().unwrap().mul_scalar(1e-6).unwrap()).unwrap();
    loss.backward().unwrap();
    let bits = |t: &Tensor| -> String {
        let v = t.to_f64_vec();
        let mut h: u64 = 0xcbf29ce484222325;
        for x in v {
            h = (h ^ x.to_bits()).wrapping_mul(0x100000001b3);
            h ^= h >> 29;
        }
        format!("{h:016x}")
    };
    let mut out = vec![bits(&c), bits(&d), bits(&loss), bits(&a.grad().unwrap()), bits(&b.grad().unwrap())];
    let cfg = RecurrentConfig::new().num_layers(2);
    let layers: [Box<dyn Module>; 3] = [
        Box::new(Lstm::new(6, 24, cfg, &mut g).unwrap()),
        Box::new(Gru::new(6, 24, cfg, &mut g).unwrap()),
        Box::new(Rnn::new(6, 24, cfg, &mut g).unwrap()),
    ];
    for m in layers {
        let x = Tensor::randn(&[40, 5, 6], DType::F32, &mut g).unwrap().requires_grad_().unwrap();
        let y = m.forward(&x).unwrap();
        y.mul(&y).unwrap().sum().unwrap().backward().unwrap();
        out.push(format!("{}{}", bits(&y), bits(&x.grad().unwrap())));
    }
    out
}

#[test]
fn child_workload() {
    // Also a plain test: the workload must run and produce finite numbers.
    let lines = workload();
    assert_eq!(lines.len(), 8);
    assert!(lines.iter().all(|l| l.len() == 16 || l.len() == 32));
    if std::env::var("GLASSGRAD_CHILD").is_ok() {
        for l in lines {
            println!("DIGEST {l}");
        }
    }
}

fn run_child(threads: usize) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "child_workload", "--nocapture", "--test-threads", "1"])
        .env("GLASSGRAD_CHILD", "1")
        .env("MATMUL_NUM_THREADS", threads.to_string())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let digests: Vec<String> = stdout
        .split("DIGEST ")
        .skip(1)
        .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(digests.len(), 8, "child printed {:?}", String::from_utf8_lossy(&out.stdout));
    digests
}

#[test]
fn same_seed_same_bits_on_one_and_two_threads() {
    let one = run_child(1);
    let two = run_child(2);
    assert_eq!(one, two);
}
