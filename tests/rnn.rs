//! `Tensor::rnn_tanh`: the document's $h_t = \tanh(W h_{t-1} + U x_t + b)$ against its literal
//! f64 transcription, PyTorch's `nn.RNN` (case files from `tests/cases/make_cases_seq.py`),
//! finite differences, and bad input.

mod seq_support;

use glassgrad::reference::rnn as reference;
use glassgrad::{DType, RnnWeights, Tensor, gradcheck};
use seq_support::{check_recurrent_cases, layer, randn, rows, sequence, uniform};

// ------------------------------------------------------------------ tests

#[test]
fn agrees_with_the_literal_formula_over_two_layers() {
    let (n, t, i, h) = (3, 6, 3, 4);
    let x = randn(&[n, t, i], 1);
    let h0 = uniform(&[2, n, h], 0.5, 2);
    let layers = [layer(1, i, h, 10), layer(1, h, h, 20)];
    let (y, h_n) = Tensor::rnn_tanh(&x, Some(&h0), &layers).unwrap();
    assert_eq!(y.shape(), vec![n, t, h]);
    assert_eq!(h_n.shape(), vec![2, n, h]);
    let h0r = rows(&h0);
    let h_nr = rows(&h_n);
    for b in 0..n {
        let mut input = sequence(&x, b);
        for (k, w) in layers.iter().enumerate() {
            // The document's letters: W = W_hh, U = W_ih, b = b_ih + b_hh.
            let bias: Vec<f64> = w
                .bias_ih
                .as_ref()
                .unwrap()
                .to_f64_vec()
                .iter()
                .zip(w.bias_hh.as_ref().unwrap().to_f64_vec())
                .map(|(a, c)| a + c)
                .collect();
            let hs =
                reference::rnn_tanh(&input, &h0r[k * n + b], &rows(&w.weight_hh), &rows(&w.weight_ih), &bias);
            for (a, e) in h_nr[k * n + b].iter().zip(&hs[t - 1]) {
                assert!((a - e).abs() < 1e-12, "h_n layer {k} batch {b}: {a} vs {e}");
            }
            input = hs;
        }
        for (step, (got, want)) in sequence(&y, b).iter().zip(&input).enumerate() {
            for (a, e) in got.iter().zip(want) {
                assert!((a - e).abs() < 1e-12, "output batch {b} step {step}: {a} vs {e}");
            }
        }
    }
}

#[test]
fn hand_computed_values() {
    // One unit, no bias, W = 0.5, U = 1, h0 = 0, x = (1, 2):
    // h1 = tanh(1) = 0.7615941559557649, h2 = tanh(0.5·h1 + 2) = tanh(2.3807970779778824).
    let x = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2, 1]).unwrap();
    let w = RnnWeights::without_bias(
        Tensor::from_vec(vec![1.0f64], &[1, 1]).unwrap(),
        Tensor::from_vec(vec![0.5f64], &[1, 1]).unwrap(),
    );
    let (y, h_n) = Tensor::rnn_tanh(&x, None, &[w]).unwrap();
    let want = [1.0f64.tanh(), (0.5 * 1.0f64.tanh() + 2.0).tanh()];
    assert_eq!(y.to_vec::<f64>().unwrap(), want.to_vec());
    assert_eq!(h_n.to_vec::<f64>().unwrap(), vec![want[1]]);
    assert!((want[1] - 0.9830_f64).abs() < 1e-4);
}

#[test]
fn matches_pytorch_cases() {
    assert!(check_recurrent_cases("rnn_tanh") >= 4);
}

#[test]
fn gradcheck_every_input_two_layers_five_steps() {
    let (n, t, i, h) = (2, 5, 3, 3);
    let a = randn(&[n, t, h], 100);
    let c = randn(&[2, n, h], 101);
    let mut inputs = vec![randn(&[n, t, i], 1), uniform(&[2, n, h], 0.5, 2)];
    for (k, seed) in [(0usize, 10u64), (1, 20)] {
        inputs.extend(layer(1, if k == 0 { i } else { h }, h, seed).tensors().into_iter().cloned());
    }
    let inputs: Vec<Tensor> = inputs.into_iter().map(|t| t.requires_grad_().unwrap()).collect();
    let r = gradcheck(
        |xs: &[Tensor]| {
            let layers = [
                RnnWeights::new(xs[2].clone(), xs[3].clone(), xs[4].clone(), xs[5].clone()),
                RnnWeights::new(xs[6].clone(), xs[7].clone(), xs[8].clone(), xs[9].clone()),
            ];
            let (y, h_n) = Tensor::rnn_tanh(&xs[0], Some(&xs[1]), &layers)?;
            y.mul(&a)?.sum()?.add(&h_n.mul(&c)?.sum()?)
        },
        &inputs,
    )
    .unwrap();
    assert!(r.passed, "{r}");
    assert_eq!(r.checked, 2 * 5 * 3 + 2 * 2 * 3 + (9 + 9 + 3 + 3) * 2);
}

#[test]
fn gradcheck_without_bias_and_zero_state() {
    let x = randn(&[2, 5, 2], 3).requires_grad_().unwrap();
    let w = layer(1, 2, 3, 30);
    let (wi, wh) = (w.weight_ih.requires_grad_().unwrap(), w.weight_hh.requires_grad_().unwrap());
    let r = gradcheck(
        |xs: &[Tensor]| {
            let (y, _) =
                Tensor::rnn_tanh(&xs[0], None, &[RnnWeights::without_bias(xs[1].clone(), xs[2].clone())])?;
            y.tanh()?.sum()
        },
        &[x, wi, wh],
    )
    .unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn f32_agrees_with_f64_and_is_deterministic() {
    let x = randn(&[4, 7, 3], 5);
    let layers = [layer(1, 3, 6, 40), layer(1, 6, 6, 50)];
    let (y64, _) = Tensor::rnn_tanh(&x, None, &layers).unwrap();
    let to32 = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let layers32: Vec<RnnWeights> = layers
        .iter()
        .map(|w| {
            RnnWeights::new(
                to32(&w.weight_ih),
                to32(&w.weight_hh),
                to32(w.bias_ih.as_ref().unwrap()),
                to32(w.bias_hh.as_ref().unwrap()),
            )
        })
        .collect();
    let (y32, _) = Tensor::rnn_tanh(&to32(&x), None, &layers32).unwrap();
    let (y32b, _) = Tensor::rnn_tanh(&to32(&x), None, &layers32).unwrap();
    assert_eq!(y32.dtype(), DType::F32);
    assert_eq!(y32.to_vec::<f32>().unwrap(), y32b.to_vec::<f32>().unwrap());
    for (a, b) in y32.to_f64_vec().iter().zip(y64.to_f64_vec()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn one_recorded_node_and_gradients_flow_to_upstream_ops() {
    // x comes from another op: the gradient must reach its leaf through rnn_tanh.
    let leaf = randn(&[2, 3, 2], 7).requires_grad_().unwrap();
    let x = leaf.mul_scalar(2.0).unwrap();
    let w = layer(1, 2, 2, 60);
    let (y, h_n) = Tensor::rnn_tanh(&x, None, &[w]).unwrap();
    assert_eq!(y.grad_fn_name(), Some("rnn_tanh"));
    assert_eq!(h_n.grad_fn_name(), Some("rnn_tanh"));
    h_n.sum().unwrap().backward().unwrap();
    let g = leaf.grad().unwrap();
    assert_eq!(g.shape(), vec![2, 3, 2]);
    assert!(g.to_f64_vec().iter().any(|v| v.abs() > 1e-6));
}

#[test]
fn bad_input_names_the_op_and_the_shapes() {
    let w = || vec![layer(1, 3, 4, 1)];
    let err = |r: glassgrad::Result<(Tensor, Tensor)>| r.expect_err("expected an error").to_string();
    let m = err(Tensor::rnn_tanh(&randn(&[5, 3], 1), None, &w()));
    assert!(m.contains("rnn_tanh") && m.contains("[5, 3]") && m.contains("rank 3"), "{m}");
    let m = err(Tensor::rnn_tanh(&randn(&[2, 5, 3], 1), Some(&randn(&[2, 2, 4], 2)), &w()));
    assert!(
        m.contains("rnn_tanh") && m.contains("h0") && m.contains("[2, 2, 4]") && m.contains("[1, 2, 4]"),
        "{m}"
    );
    let m = err(Tensor::rnn_tanh(&randn(&[2, 5, 2], 1), None, &w()));
    assert!(
        m.contains("rnn_tanh") && m.contains("weight_ih_l0") && m.contains("[4, 3]") && m.contains("[4, 2]"),
        "{m}"
    );
    let bad = vec![RnnWeights::new(randn(&[4, 3], 1), randn(&[3, 4], 2), randn(&[4], 3), randn(&[4], 4))];
    let m = err(Tensor::rnn_tanh(&randn(&[2, 5, 3], 1), None, &bad));
    assert!(m.contains("rnn_tanh") && m.contains("weight_hh_l0") && m.contains("[3, 4]"), "{m}");
    let bad = vec![layer(1, 3, 4, 1), layer(1, 3, 4, 2)];
    let m = err(Tensor::rnn_tanh(&randn(&[2, 5, 3], 1), None, &bad));
    assert!(m.contains("weight_ih_l1") && m.contains("[4, 3]") && m.contains("[4, 4]"), "{m}");
    let bad = vec![RnnWeights::new(randn(&[4, 3], 1), randn(&[4, 4], 2), randn(&[5], 3), randn(&[4], 4))];
    let m = err(Tensor::rnn_tanh(&randn(&[2, 5, 3], 1), None, &bad));
    assert!(m.contains("bias_ih_l0") && m.contains("[5]"), "{m}");
    let m = err(Tensor::rnn_tanh(&randn(&[2, 5, 3], 1).to_dtype(DType::F32).unwrap(), None, &w()));
    assert!(m.contains("rnn_tanh") && m.contains("float64") && m.contains("float32"), "{m}");
    let m = err(Tensor::rnn_tanh(&randn(&[2, 5, 3], 1), None, &[]));
    assert!(m.contains("rnn_tanh") && m.contains("layer"), "{m}");
    let m = err(Tensor::rnn_tanh(&randn(&[2, 0, 3], 1), None, &w()));
    assert!(m.contains("rnn_tanh") && m.contains("[2, 0, 3]"), "{m}");
}
