//! `Tensor::gru` against its literal f64 transcription, PyTorch's `nn.GRU` (case files from
//! `tests/cases/make_cases_seq.py`), finite differences, and bad input.

mod seq_support;

use glassgrad::reference::rnn as reference;
use glassgrad::{DType, RnnWeights, Tensor, gradcheck};
use seq_support::{check_recurrent_cases, layer, randn, rows, sequence, uniform};

#[test]
fn agrees_with_the_literal_formula_over_two_layers() {
    let (n, t, i, h) = (3, 6, 3, 4);
    let x = randn(&[n, t, i], 1);
    let h0 = uniform(&[2, n, h], 0.5, 2);
    let layers = [layer(3, i, h, 10), layer(3, h, h, 20)];
    let (y, h_n) = Tensor::gru(&x, Some(&h0), &layers).unwrap();
    assert_eq!((y.shape(), h_n.shape()), (vec![n, t, h], vec![2, n, h]));
    let (h0r, h_nr) = (rows(&h0), rows(&h_n));
    for b in 0..n {
        let mut input = sequence(&x, b);
        for (k, w) in layers.iter().enumerate() {
            let hs = reference::gru(
                &input,
                &h0r[k * n + b],
                &rows(&w.weight_ih),
                &rows(&w.weight_hh),
                &w.bias_ih.as_ref().unwrap().to_f64_vec(),
                &w.bias_hh.as_ref().unwrap().to_f64_vec(),
            );
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
fn reset_gate_multiplies_the_hidden_bias() {
    // H = 1, I = 1, weights 0, b_ih = 0, b_hh = (r, z, n) = (−∞-ish, 0, 3), h0 = 0:
    // r = σ(−40) ≈ 0 removes b_hn, so n = tanh(0) = 0 and h1 = (1 − ½)·0 + ½·0 = 0.
    // With r = σ(40) ≈ 1 instead, n = tanh(3) and h1 = ½·tanh(3).
    let zeros = |s: &[usize]| Tensor::zeros(s, DType::F64).unwrap();
    let run = |br: f64| {
        let w = RnnWeights::new(
            zeros(&[3, 1]),
            zeros(&[3, 1]),
            zeros(&[3]),
            Tensor::from_vec(vec![br, 0.0, 3.0], &[3]).unwrap(),
        );
        Tensor::gru(&zeros(&[1, 1, 1]), None, &[w]).unwrap().0.to_vec::<f64>().unwrap()[0]
    };
    assert!(run(-40.0).abs() < 1e-15);
    assert!((run(40.0) - 0.5 * 3.0f64.tanh()).abs() < 1e-15);
}

#[test]
fn matches_pytorch_cases() {
    assert!(check_recurrent_cases("gru") >= 4);
}

#[test]
fn gradcheck_every_input_two_layers_five_steps() {
    let (n, t, i, h) = (2, 5, 3, 3);
    let (a, c) = (randn(&[n, t, h], 100), randn(&[2, n, h], 101));
    let mut inputs = vec![randn(&[n, t, i], 1), uniform(&[2, n, h], 0.5, 2)];
    for (k, seed) in [(0usize, 10u64), (1, 20)] {
        inputs.extend(layer(3, if k == 0 { i } else { h }, h, seed).tensors().into_iter().cloned());
    }
    let inputs: Vec<Tensor> = inputs.into_iter().map(|t| t.requires_grad_().unwrap()).collect();
    let r = gradcheck(
        |xs: &[Tensor]| {
            let layers = [
                RnnWeights::new(xs[2].clone(), xs[3].clone(), xs[4].clone(), xs[5].clone()),
                RnnWeights::new(xs[6].clone(), xs[7].clone(), xs[8].clone(), xs[9].clone()),
            ];
            let (y, h_n) = Tensor::gru(&xs[0], Some(&xs[1]), &layers)?;
            y.mul(&a)?.sum()?.add(&h_n.mul(&c)?.sum()?)
        },
        &inputs,
    )
    .unwrap();
    assert!(r.passed, "{r}");
    assert_eq!(r.checked, n * t * i + 2 * n * h + (9 * 3 + 9 * 3 + 18) * 2);
}

#[test]
fn gradcheck_zero_state_without_bias() {
    let x = randn(&[2, 5, 2], 3).requires_grad_().unwrap();
    let w = layer(3, 2, 3, 30);
    let (wi, wh) = (w.weight_ih.requires_grad_().unwrap(), w.weight_hh.requires_grad_().unwrap());
    let r = gradcheck(
        |xs: &[Tensor]| {
            let (y, _) =
                Tensor::gru(&xs[0], None, &[RnnWeights::without_bias(xs[1].clone(), xs[2].clone())])?;
            y.tanh()?.sum()
        },
        &[x, wi, wh],
    )
    .unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn bad_input_names_the_op_and_the_shapes() {
    let x = randn(&[2, 5, 3], 1);
    let err = |r: glassgrad::Result<(Tensor, Tensor)>| r.expect_err("expected an error").to_string();
    // LSTM-sized weights (4H rows) for a GRU.
    let m = err(Tensor::gru(&x, None, &[layer(4, 3, 4, 1)]));
    assert!(
        m.contains("gru") && m.contains("weight_hh_l0") && m.contains("[16, 4]") && m.contains("3·H"),
        "{m}"
    );
    let m = err(Tensor::gru(&x, Some(&randn(&[2, 2, 4], 2)), &[layer(3, 3, 4, 1)]));
    assert!(
        m.contains("gru") && m.contains("h0") && m.contains("[2, 2, 4]") && m.contains("[1, 2, 4]"),
        "{m}"
    );
    let m = err(Tensor::gru(&randn(&[5, 3], 1), None, &[layer(3, 3, 4, 1)]));
    assert!(m.contains("gru") && m.contains("[5, 3]"), "{m}");
}
