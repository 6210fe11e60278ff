//! nn recurrent modules (Rnn, Lstm, Gru: stacked, bidirectional, inter-layer dropout), Embedding,
//! RnnOutput, the listings' models SeedRnn / SeedLstm, and their errors.

mod seq_support;

use std::path::Path;

use glassgrad::models::{SeedLstm, SeedRnn};
use glassgrad::nn::{Embedding, Gru, Lstm, Module, RecurrentConfig, Rnn, RnnOutput};
use glassgrad::{DType, Generator, RnnWeights, Tensor, gradcheck};
use seq_support::{assert_close, layer, load_case, randn};

/// The 2-layer bidirectional modules of tests/fixtures/seqnn_bidirectional.safetensors, made by
/// tests/cases/make_cases_seqnn.py (`bidirectional_fixture`):
/// ```text
/// torch.manual_seed(10)
/// m = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
/// y, h_n = m(x, h0)         # LSTM: y, (h_n, c_n) = m(x, (h0, c0))
/// ((y * gy).sum() + (h_n * gh).sum()).backward()
/// ```
#[test]
fn bidirectional_two_layers_match_pytorch() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seqnn_bidirectional.safetensors");
    let case = load_case(&path);
    let t = |k: &str| case.tensors[k].clone();
    for kind in ["rnn", "lstm", "gru"] {
        let leaf = |k: &str| t(&format!("{kind}.{k}")).detach().requires_grad_().unwrap();
        let mut weights = Vec::new();
        for l in 0..2 {
            for suffix in ["", "_reverse"] {
                weights.push(RnnWeights::new(
                    leaf(&format!("weight_ih_l{l}{suffix}")),
                    leaf(&format!("weight_hh_l{l}{suffix}")),
                    leaf(&format!("bias_ih_l{l}{suffix}")),
                    leaf(&format!("bias_hh_l{l}{suffix}")),
                ));
            }
        }
        let (x, h0) = (leaf("x"), leaf("h0"));
        let (y, h_n, names) = match kind {
            "rnn" => {
                let m = Rnn::from_weights(weights.clone(), true, 0.0).unwrap();
                let (y, h) = m.forward_with(&x, Some(&h0)).unwrap();
                (y, h, m.named_parameters())
            }
            "gru" => {
                let m = Gru::from_weights(weights.clone(), true, 0.0).unwrap();
                let (y, h) = m.forward_with(&x, Some(&h0)).unwrap();
                (y, h, m.named_parameters())
            }
            _ => {
                let m = Lstm::from_weights(weights.clone(), true, 0.0).unwrap();
                let c0 = t("lstm.c0");
                let (y, (h, c)) = m.forward_with(&x, Some((&h0, &c0))).unwrap();
                assert_close("lstm c_n", &c, &t("lstm.c_n"));
                (y, h, m.named_parameters())
            }
        };
        assert_eq!(y.shape(), [2, 5, 8]);
        assert_close(&format!("{kind} output"), &y, &t(&format!("{kind}.output")));
        assert_close(&format!("{kind} h_n"), &h_n, &t(&format!("{kind}.h_n")));
        let loss = y
            .mul(&t(&format!("{kind}.gy")))
            .unwrap()
            .sum()
            .unwrap()
            .add(&h_n.mul(&t(&format!("{kind}.gh"))).unwrap().sum().unwrap())
            .unwrap();
        loss.backward().unwrap();
        assert_close(&format!("{kind} grad x"), &x.grad().unwrap(), &t(&format!("{kind}.grad.x")));
        assert_close(&format!("{kind} grad h0"), &h0.grad().unwrap(), &t(&format!("{kind}.grad.h0")));
        assert_eq!(names.len(), 16);
        for (name, p) in names {
            assert_close(
                &format!("{kind} grad {name}"),
                &p.grad().unwrap(),
                &t(&format!("{kind}.grad.{name}")),
            );
        }
    }
}

#[test]
fn state_dict_names_shapes_and_init_follow_pytorch() {
    let mut rng = Generator::new(0);
    let cfg = RecurrentConfig::new().num_layers(2).bidirectional(true);
    let m = Lstm::new(3, 5, cfg, &mut rng).unwrap();
    let got: Vec<(String, Vec<usize>)> =
        m.named_parameters().into_iter().map(|(n, t)| (n, t.shape())).collect();
    let want = [
        ("weight_ih_l0", vec![20, 3]),
        ("weight_hh_l0", vec![20, 5]),
        ("bias_ih_l0", vec![20]),
        ("bias_hh_l0", vec![20]),
        ("weight_ih_l0_reverse", vec![20, 3]),
        ("weight_hh_l0_reverse", vec![20, 5]),
        ("bias_ih_l0_reverse", vec![20]),
        ("bias_hh_l0_reverse", vec![20]),
        ("weight_ih_l1", vec![20, 10]),
        ("weight_hh_l1", vec![20, 5]),
        ("bias_ih_l1", vec![20]),
        ("bias_hh_l1", vec![20]),
        ("weight_ih_l1_reverse", vec![20, 10]),
        ("weight_hh_l1_reverse", vec![20, 5]),
        ("bias_ih_l1_reverse", vec![20]),
        ("bias_hh_l1_reverse", vec![20]),
    ];
    assert_eq!(got, want.iter().map(|(n, s)| (n.to_string(), s.clone())).collect::<Vec<_>>());
    // U(−1/√H, 1/√H), H = 5: every value inside, and they spread over the interval.
    let bound = 1.0 / 5f64.sqrt();
    let all: Vec<f64> = m.parameters().iter().flat_map(|p| p.to_f64_vec()).collect();
    assert!(all.iter().all(|v| v.abs() <= bound));
    let (lo, hi) = all.iter().fold((1.0f64, -1.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(lo < -0.9 * bound && hi > 0.9 * bound, "{lo} {hi}");
    assert!(m.parameters().iter().all(|p| p.requires_grad()));
    // Without bias: weights only; a GRU has 3 gate blocks.
    let g = Gru::new(4, 6, RecurrentConfig::new().bias(false), &mut rng).unwrap();
    let names: Vec<String> = g.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight_ih_l0", "weight_hh_l0"]);
    assert_eq!(g.weights()[0].weight_ih.shape(), [18, 4]);
}

#[test]
fn unidirectional_stack_is_the_fused_op() {
    let weights = vec![layer(1, 3, 4, 1), layer(1, 4, 4, 5)];
    let x = randn(&[2, 6, 3], 9);
    let m = Rnn::from_weights(weights.clone(), false, 0.0).unwrap();
    let (y, h) = m.forward_with(&x, None).unwrap();
    let (y2, h2) = Tensor::rnn_tanh(&x, None, &weights).unwrap();
    assert_eq!(y.to_f64_vec(), y2.to_f64_vec());
    assert_eq!(h.to_f64_vec(), h2.to_f64_vec());
    assert_eq!(m.forward(&x).unwrap().to_f64_vec(), y2.to_f64_vec());
}

#[test]
fn bidirectional_gradcheck_f64() {
    // A 1-layer bidirectional GRU: every weight of both directions, x and h0, by finite differences.
    let inputs: Vec<Tensor> = [
        randn(&[2, 4, 3], 1),
        randn(&[2, 2, 2], 2),
        randn(&[6, 3], 3),
        randn(&[6, 2], 4),
        randn(&[6], 5),
        randn(&[6], 6),
        randn(&[6, 3], 7),
        randn(&[6, 2], 8),
        randn(&[6], 9),
        randn(&[6], 10),
    ]
    .into_iter()
    .map(|t| t.mul_scalar(0.5).unwrap().requires_grad_().unwrap())
    .collect();
    let report = gradcheck(
        |x| {
            let w = |k: usize| {
                RnnWeights::new(x[k].clone(), x[k + 1].clone(), x[k + 2].clone(), x[k + 3].clone())
            };
            let m = Gru::from_weights(vec![w(2), w(6)], true, 0.0)?;
            let (y, h) = m.forward_with(&x[0], Some(&x[1]))?;
            y.mul(&y)?.sum()?.add(&h.sum()?)
        },
        &inputs,
    )
    .unwrap();
    assert!(report.passed, "{report:?}");
}

#[test]
fn dropout_between_layers_only_in_training() {
    let mut rng = Generator::new(3);
    let cfg = RecurrentConfig::new().num_layers(3).dropout(0.5).dtype(DType::F64);
    let mut m = Lstm::new(4, 6, cfg, &mut rng).unwrap();
    let x = randn(&[3, 5, 4], 4);
    // Reference: the same weights without dropout.
    let plain = Lstm::from_weights(m.weights().to_vec(), false, 0.0).unwrap();
    let want = plain.forward(&x).unwrap().to_f64_vec();
    m.eval();
    assert_eq!(m.forward(&x).unwrap().to_f64_vec(), want, "eval: no dropout");
    m.train();
    m.set_dropout_seed(1);
    let a = m.forward(&x).unwrap().to_f64_vec();
    assert_ne!(a, want, "train: dropout between layers changes the output");
    m.set_dropout_seed(1);
    assert_eq!(m.forward(&x).unwrap().to_f64_vec(), a, "same seed, same masks");
    // One layer: PyTorch applies no dropout after the last layer, so none at all.
    let one = Rnn::new(4, 6, RecurrentConfig::new().dropout(0.5).dtype(DType::F64), &mut rng).unwrap();
    let plain = Rnn::from_weights(one.weights().to_vec(), false, 0.0).unwrap();
    assert_eq!(one.forward(&x).unwrap().to_f64_vec(), plain.forward(&x).unwrap().to_f64_vec());
}

#[test]
fn bad_input_names_the_module_and_shapes() {
    let mut rng = Generator::new(0);
    let rnn = Rnn::new(3, 4, RecurrentConfig::new().num_layers(2), &mut rng).unwrap();
    let err = rnn.forward(&Tensor::zeros(&[2, 3], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(err.contains("Rnn") && err.contains("[2, 3]") && err.contains("rank 3"), "{err}");
    let err = rnn.forward(&Tensor::zeros(&[2, 5, 7], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(err.contains("Rnn") && err.contains("[2, 5, 7]") && err.contains("input_size"), "{err}");
    let x = Tensor::zeros(&[2, 5, 3], DType::F32).unwrap();
    let bad_h0 = Tensor::zeros(&[1, 2, 4], DType::F32).unwrap();
    let err = rnn.forward_with(&x, Some(&bad_h0)).unwrap_err().to_string();
    assert!(
        err.contains("Rnn") && err.contains("h0") && err.contains("[1, 2, 4]") && err.contains("[2, 2, 4]"),
        "{err}"
    );
    let lstm = Lstm::new(3, 4, RecurrentConfig::new(), &mut rng).unwrap();
    let h0 = Tensor::zeros(&[1, 2, 4], DType::F32).unwrap();
    let bad_c0 = Tensor::zeros(&[1, 3, 4], DType::F32).unwrap();
    let err = lstm.forward_with(&x, Some((&h0, &bad_c0))).unwrap_err().to_string();
    assert!(err.contains("Lstm") && err.contains("c0") && err.contains("[1, 3, 4]"), "{err}");
    // A token id ≥ the vocabulary size, through the listing's model.
    let model = SeedRnn::listing(DType::F32, &mut rng).unwrap();
    let tokens = Tensor::from_vec(vec![1i64, 2, 10, 3], &[2, 2]).unwrap();
    let err = model.forward(&tokens).unwrap_err().to_string();
    assert!(err.contains("embedding") && err.contains("10"), "{err}");
    let err = model.forward(&Tensor::from_vec(vec![1i64, 2], &[2]).unwrap()).unwrap_err().to_string();
    assert!(err.contains("SeedRnn") && err.contains("[2]"), "{err}");
    assert!(Rnn::new(0, 4, RecurrentConfig::new(), &mut rng).is_err());
    assert!(Rnn::new(3, 4, RecurrentConfig::new().dropout(1.0), &mut rng).is_err());
}

#[test]
fn embedding_module_init_and_padding() {
    let mut rng = Generator::new(0);
    let e = Embedding::new(6, 3, Some(2), DType::F64, &mut rng).unwrap();
    assert_eq!(e.named_parameters()[0].0, "weight");
    let w = e.weight.to_f64_vec();
    assert_eq!(&w[6..9], &[0.0, 0.0, 0.0]);
    let y = e.forward(&Tensor::from_vec(vec![5i64, 2, 0], &[3]).unwrap()).unwrap();
    assert_eq!(y.shape(), [3, 3]);
    assert_eq!(y.to_f64_vec(), [&w[15..18], &w[6..9], &w[0..3]].concat());
    y.sum().unwrap().backward().unwrap();
    let g = e.weight.grad().unwrap().to_f64_vec();
    assert_eq!(&g[6..9], &[0.0, 0.0, 0.0], "the padding row gets no gradient");
    assert_eq!(&g[15..18], &[1.0, 1.0, 1.0]);
    assert!(Embedding::new(6, 3, Some(6), DType::F64, &mut rng).is_err());
}

#[test]
fn rnn_output_is_a_softmax_per_step() {
    // y_t = softmax(V h_t + c), hand-checked for one step: V = [[1, 0], [0, 2], [1, 1]], c = 0.
    let v = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 2.0, 1.0, 1.0], &[3, 2]).unwrap();
    let c = Tensor::from_vec(vec![0.0f64, 0.0, 0.0], &[3]).unwrap();
    let out = RnnOutput::from_tensors(v, c).unwrap();
    let h = Tensor::from_vec(vec![1.0f64, 0.5, 0.0, 0.0], &[1, 2, 2]).unwrap();
    let y = out.forward(&h).unwrap();
    assert_eq!(y.shape(), [1, 2, 3]);
    let y = y.to_f64_vec();
    // step 1: o = (1, 1, 1.5): softmax = e^o / (2e + e^1.5)
    let z = 2.0 * 1f64.exp() + 1.5f64.exp();
    let want = [1f64.exp() / z, 1f64.exp() / z, 1.5f64.exp() / z, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
    for (a, b) in y.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} {b}");
    }
    let names: Vec<String> = out.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["v.weight", "v.bias"]);
    assert!(out.forward(&Tensor::zeros(&[2, 2], DType::F64).unwrap()).is_err());
}

#[test]
fn listing_models_have_pytorch_names_and_shapes() {
    let mut rng = Generator::new(0);
    let m = SeedLstm::listing(10, DType::F32, &mut rng).unwrap();
    let shapes: Vec<(String, Vec<usize>)> =
        m.named_parameters().into_iter().map(|(n, t)| (n, t.shape())).collect();
    assert_eq!(shapes[0], ("embedding.weight".to_string(), vec![1000, 64]));
    assert_eq!(shapes[1], ("rnn.weight_ih_l0".to_string(), vec![512, 64]));
    assert_eq!(shapes[5], ("rnn.weight_ih_l1".to_string(), vec![512, 128]));
    assert_eq!(shapes[9], ("fc.weight".to_string(), vec![10, 128]));
    let logits = m.forward(&Tensor::randint(&[3, 7], 0, 1000, &mut rng).unwrap()).unwrap();
    assert_eq!(logits.shape(), [3, 10]);
    let r = SeedRnn::listing(DType::F32, &mut rng).unwrap();
    let names: Vec<String> = r.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "embedding.weight",
            "rnn.weight_ih_l0",
            "rnn.weight_hh_l0",
            "rnn.bias_ih_l0",
            "rnn.bias_hh_l0",
            "fc.weight",
            "fc.bias"
        ]
    );
}

#[test]
fn listing_cases_pass_through_the_models() {
    // The same files `glassgrad check` reads (tests/cases/seed_rnn, seed_lstm), through the API.
    for op in ["seed_rnn", "seed_lstm"] {
        for path in seq_support::case_files(op) {
            let case = load_case(&path);
            let leaf = |k: &str| case.tensors[&format!("input.{k}")].detach().requires_grad_().unwrap();
            let layers = if op == "seed_rnn" { 1 } else { 2 };
            let weights: Vec<RnnWeights> = (0..layers)
                .map(|k| {
                    RnnWeights::new(
                        leaf(&format!("rnn.weight_ih_l{k}")),
                        leaf(&format!("rnn.weight_hh_l{k}")),
                        leaf(&format!("rnn.bias_ih_l{k}")),
                        leaf(&format!("rnn.bias_hh_l{k}")),
                    )
                })
                .collect();
            let (emb, fw, fb) = (leaf("embedding.weight"), leaf("fc.weight"), leaf("fc.bias"));
            let tokens = &case.tensors["input.tokens"];
            let y = if op == "seed_rnn" {
                SeedRnn::from_tensors(emb.clone(), weights[0].clone(), fw.clone(), fb.clone())
                    .unwrap()
                    .forward(tokens)
            } else {
                SeedLstm::from_tensors(emb.clone(), weights.clone(), fw.clone(), fb.clone())
                    .unwrap()
                    .forward(tokens)
            }
            .unwrap();
            assert_close(&format!("{op} logits"), &y, &case.tensors["expected.output.0"]);
            y.mul(&case.tensors["grad_output.0"]).unwrap().sum().unwrap().backward().unwrap();
            assert_close(
                &format!("{op} grad embedding"),
                &emb.grad().unwrap(),
                &case.tensors["expected.grad.embedding.weight"],
            );
            assert_close(
                &format!("{op} grad fc.weight"),
                &fw.grad().unwrap(),
                &case.tensors["expected.grad.fc.weight"],
            );
            assert_close(
                &format!("{op} grad w_hh_l0"),
                &weights[0].weight_hh.grad().unwrap(),
                &case.tensors["expected.grad.rnn.weight_hh_l0"],
            );
        }
    }
}
