//! `Tensor::lstm` against its literal f64 transcription, PyTorch's `nn.LSTM` (case files from
//! `tests/cases/make_cases_seq.py`), finite differences, and bad input.

mod seq_support;

use glassgrad::reference::rnn as reference;
use glassgrad::{DType, Generator, RnnWeights, Tensor, gradcheck};
use seq_support::{check_recurrent_cases, layer, randn, rows, sequence, uniform};

fn close(what: &str, got: &[f64], want: &[f64]) {
    for (a, e) in got.iter().zip(want) {
        assert!((a - e).abs() < 1e-12, "{what}: {a} vs {e}");
    }
}

#[test]
fn agrees_with_the_literal_formula_over_two_layers() {
    let (n, t, i, h) = (3, 6, 3, 4);
    let x = randn(&[n, t, i], 1);
    let (h0, c0) = (uniform(&[2, n, h], 0.5, 2), uniform(&[2, n, h], 0.5, 3));
    let layers = [layer(4, i, h, 10), layer(4, h, h, 20)];
    let (y, h_n, c_n) = Tensor::lstm(&x, Some(&h0), Some(&c0), &layers).unwrap();
    assert_eq!((y.shape(), h_n.shape(), c_n.shape()), (vec![n, t, h], vec![2, n, h], vec![2, n, h]));
    let (h0r, c0r, h_nr, c_nr) = (rows(&h0), rows(&c0), rows(&h_n), rows(&c_n));
    for b in 0..n {
        let mut input = sequence(&x, b);
        for (k, w) in layers.iter().enumerate() {
            let (hs, cs) = reference::lstm(
                &input,
                &h0r[k * n + b],
                &c0r[k * n + b],
                &rows(&w.weight_ih),
                &rows(&w.weight_hh),
                &w.bias_ih.as_ref().unwrap().to_f64_vec(),
                &w.bias_hh.as_ref().unwrap().to_f64_vec(),
            );
            close(&format!("h_n layer {k} batch {b}"), &h_nr[k * n + b], &hs[t - 1]);
            close(&format!("c_n layer {k} batch {b}"), &c_nr[k * n + b], &cs[t - 1]);
            input = hs;
        }
        for (step, (got, want)) in sequence(&y, b).iter().zip(&input).enumerate() {
            close(&format!("output batch {b} step {step}"), got, want);
        }
    }
}

#[test]
fn hand_computed_values() {
    // H = 1, I = 1, every weight 0, biases (i, f, g, o) = (0, 0, 1, 0), c0 = 2:
    // i = f = o = σ(0) = 0.5, g = tanh(1); c1 = 0.5·2 + 0.5·tanh(1), h1 = 0.5·tanh(c1).
    let zeros = |s: &[usize]| Tensor::zeros(s, DType::F64).unwrap();
    let w = RnnWeights::new(
        zeros(&[4, 1]),
        zeros(&[4, 1]),
        Tensor::from_vec(vec![0.0f64, 0.0, 1.0, 0.0], &[4]).unwrap(),
        zeros(&[4]),
    );
    let c0 = Tensor::from_vec(vec![2.0f64], &[1, 1, 1]).unwrap();
    let (y, _, c_n) = Tensor::lstm(&zeros(&[1, 1, 1]), None, Some(&c0), &[w]).unwrap();
    let c1 = 1.0 + 0.5 * 1.0f64.tanh();
    assert_eq!(c_n.to_vec::<f64>().unwrap(), vec![c1]);
    assert_eq!(y.to_vec::<f64>().unwrap(), vec![0.5 * c1.tanh()]);
}

#[test]
fn matches_pytorch_cases() {
    assert!(check_recurrent_cases("lstm") >= 4);
}

#[test]
fn gradcheck_every_input_two_layers_five_steps() {
    let (n, t, i, h) = (2, 5, 3, 2);
    let (a, bb, cc) = (randn(&[n, t, h], 100), randn(&[2, n, h], 101), randn(&[2, n, h], 102));
    let mut inputs = vec![randn(&[n, t, i], 1), uniform(&[2, n, h], 0.5, 2), uniform(&[2, n, h], 0.5, 3)];
    for (k, seed) in [(0usize, 10u64), (1, 20)] {
        inputs.extend(layer(4, if k == 0 { i } else { h }, h, seed).tensors().into_iter().cloned());
    }
    let inputs: Vec<Tensor> = inputs.into_iter().map(|t| t.requires_grad_().unwrap()).collect();
    let r = gradcheck(
        |xs: &[Tensor]| {
            let layers = [
                RnnWeights::new(xs[3].clone(), xs[4].clone(), xs[5].clone(), xs[6].clone()),
                RnnWeights::new(xs[7].clone(), xs[8].clone(), xs[9].clone(), xs[10].clone()),
            ];
            let (y, h_n, c_n) = Tensor::lstm(&xs[0], Some(&xs[1]), Some(&xs[2]), &layers)?;
            y.mul(&a)?.sum()?.add(&h_n.mul(&bb)?.sum()?)?.add(&c_n.mul(&cc)?.sum()?)
        },
        &inputs,
    )
    .unwrap();
    assert!(r.passed, "{r}");
    assert_eq!(r.checked, n * t * i + 2 * 2 * n * h + (8 * 3 + 8 * 2 + 16) + (8 * 2 + 8 * 2 + 16));
}

#[test]
fn gradcheck_zero_state_without_bias() {
    let x = randn(&[2, 5, 2], 3).requires_grad_().unwrap();
    let w = layer(4, 2, 3, 30);
    let (wi, wh) = (w.weight_ih.requires_grad_().unwrap(), w.weight_hh.requires_grad_().unwrap());
    let r = gradcheck(
        |xs: &[Tensor]| {
            let (_, _, c_n) =
                Tensor::lstm(&xs[0], None, None, &[RnnWeights::without_bias(xs[1].clone(), xs[2].clone())])?;
            c_n.tanh()?.sum()
        },
        &[x, wi, wh],
    )
    .unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn bad_input_names_the_op_and_the_shapes() {
    let w = || vec![layer(4, 3, 4, 1)];
    let x = randn(&[2, 5, 3], 1);
    let err = |r: glassgrad::Result<(Tensor, Tensor, Tensor)>| r.expect_err("expected an error").to_string();
    let m = err(Tensor::lstm(&x, None, Some(&randn(&[1, 3, 4], 2)), &w()));
    assert!(
        m.contains("lstm") && m.contains("c0") && m.contains("[1, 3, 4]") && m.contains("[1, 2, 4]"),
        "{m}"
    );
    let m = err(Tensor::lstm(&x, Some(&randn(&[1, 2, 5], 2)), None, &w()));
    assert!(m.contains("lstm") && m.contains("h0") && m.contains("[1, 2, 5]"), "{m}");
    // RNN-sized weights (H rows instead of 4H).
    let m = err(Tensor::lstm(&x, None, None, &[layer(1, 3, 4, 1)]));
    assert!(
        m.contains("lstm") && m.contains("weight_hh_l0") && m.contains("[4, 4]") && m.contains("4·H"),
        "{m}"
    );
    let m = err(Tensor::lstm(&randn(&[2, 5, 3, 1], 1), None, None, &w()));
    assert!(m.contains("lstm") && m.contains("[2, 5, 3, 1]"), "{m}");
}

/// Rough timing of the document's LSTM size: `cargo test --release --test lstm -- --ignored --nocapture`.
#[test]
#[ignore]
fn time_lstm_64_128_two_layers() {
    let mut g = Generator::new(0);
    let p = |s: &[usize], g: &mut Generator| {
        Tensor::uniform(s, -0.088, 0.088, DType::F32, g).unwrap().requires_grad_().unwrap()
    };
    let layers = [
        RnnWeights::new(p(&[512, 64], &mut g), p(&[512, 128], &mut g), p(&[512], &mut g), p(&[512], &mut g)),
        RnnWeights::new(p(&[512, 128], &mut g), p(&[512, 128], &mut g), p(&[512], &mut g), p(&[512], &mut g)),
    ];
    let x = Tensor::randn(&[64, 50, 64], DType::F32, &mut g).unwrap();
    let mut times = Vec::new();
    for _ in 0..6 {
        let t0 = std::time::Instant::now();
        let (y, _, _) = Tensor::lstm(&x, None, None, &layers).unwrap();
        let t1 = std::time::Instant::now();
        y.sum().unwrap().backward().unwrap();
        let t2 = std::time::Instant::now();
        times.push(((t1 - t0).as_secs_f64() * 1e3, (t2 - t1).as_secs_f64() * 1e3));
    }
    times.sort_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)));
    let (f, b) = times[times.len() / 2];
    println!(
        "lstm 64→128 ×2 on (64, 50, 64) f32, {} threads: forward {f:.1} ms, backward {b:.1} ms, total {:.1} ms",
        rayon_threads(),
        f + b
    );
}

fn rayon_threads() -> usize {
    glassgrad::device::cpu::num_threads()
}
