//! Shared by the sequence-op tests (`tests/embedding.rs`, `rnn.rs`, `lstm.rs`, `gru.rs`): a reader
//! for the PyTorch case files of `tests/cases/make_cases_seq.py` (the format of CASES.md), the
//! comparison rule, and small seeded inputs. Each test file uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glassgrad::{DType, Generator, RnnWeights, Tensor};

// ------------------------------------------------------------------ PyTorch case files

/// One case file: its metadata and tensors (I64 or float, as stored).
pub struct Case {
    pub meta: HashMap<String, String>,
    pub tensors: HashMap<String, Tensor>,
}

pub fn load_case(path: &Path) -> Case {
    use safetensors::{Dtype, SafeTensors};
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let (shape, raw) = (view.shape().to_vec(), view.data());
        let t = match view.dtype() {
            Dtype::F32 => Tensor::from_vec(
                raw.chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect(),
                &shape,
            ),
            Dtype::F64 => Tensor::from_vec(
                raw.chunks(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect(),
                &shape,
            ),
            Dtype::I64 => Tensor::from_vec(
                raw.chunks(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect(),
                &shape,
            ),
            other => panic!("{name}: unexpected dtype {other:?}"),
        };
        tensors.insert(name, t.unwrap());
    }
    Case { meta, tensors }
}

pub fn case_files(op: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(op);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.retain(|p| p.extension().is_some_and(|e| e == "safetensors"));
    v.sort();
    v
}

/// CASES.md's rule: |got − want| ≤ atol + rtol·|want| (defaults by dtype).
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    let (atol, rtol) = if want.dtype() == DType::F32 { (1e-5, 1e-4) } else { (1e-10, 1e-8) };
    for (k, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}[{k}]: got {g}, want {w}");
    }
}

/// Runs every case of a recurrent op (`rnn_tanh`, `lstm`, `gru`) forward and backward.
pub fn check_recurrent_cases(op: &str) -> usize {
    let files = case_files(op);
    for path in &files {
        let case = load_case(path);
        let what = |s: &str| format!("{}: {s}", path.display());
        let get = |k: &str| case.tensors.get(k).map(|t| t.detach().requires_grad_().unwrap());
        assert_eq!(case.meta["op"], op);
        let layers: usize = case.meta["num_layers"].parse().unwrap();
        let x = get("input.x").unwrap();
        let (h0, c0) = (get("input.h0"), get("input.c0"));
        let weights: Vec<RnnWeights> = (0..layers)
            .map(|k| RnnWeights {
                weight_ih: get(&format!("input.weight_ih_l{k}")).unwrap(),
                weight_hh: get(&format!("input.weight_hh_l{k}")).unwrap(),
                bias_ih: get(&format!("input.bias_ih_l{k}")),
                bias_hh: get(&format!("input.bias_hh_l{k}")),
            })
            .collect();
        let outs: Vec<Tensor> = match op {
            "rnn_tanh" => {
                let (y, h) = Tensor::rnn_tanh(&x, h0.as_ref(), &weights).unwrap();
                vec![y, h]
            }
            "lstm" => {
                let (y, h, c) = Tensor::lstm(&x, h0.as_ref(), c0.as_ref(), &weights).unwrap();
                vec![y, h, c]
            }
            _ => {
                let (y, h) = Tensor::gru(&x, h0.as_ref(), &weights).unwrap();
                vec![y, h]
            }
        };
        let mut loss: Option<Tensor> = None;
        for (k, o) in outs.iter().enumerate() {
            assert_close(&what(&format!("output {k}")), o, &case.tensors[&format!("expected.output.{k}")]);
            let term = o.mul(&case.tensors[&format!("grad_output.{k}")]).unwrap().sum().unwrap();
            loss = Some(match loss {
                None => term,
                Some(l) => l.add(&term).unwrap(),
            });
        }
        loss.unwrap().backward().unwrap();
        let mut inputs: Vec<(String, Tensor)> = vec![("x".into(), x)];
        inputs.extend(h0.map(|t| ("h0".into(), t)));
        inputs.extend(c0.map(|t| ("c0".into(), t)));
        for (k, w) in weights.iter().enumerate() {
            inputs.push((format!("weight_ih_l{k}"), w.weight_ih.clone()));
            inputs.push((format!("weight_hh_l{k}"), w.weight_hh.clone()));
            inputs.extend(w.bias_ih.clone().map(|t| (format!("bias_ih_l{k}"), t)));
            inputs.extend(w.bias_hh.clone().map(|t| (format!("bias_hh_l{k}"), t)));
        }
        for (name, t) in inputs {
            let want = &case.tensors[&format!("expected.grad.{name}")];
            assert_close(&what(&format!("grad {name}")), &t.grad().unwrap(), want);
        }
    }
    files.len()
}

// ------------------------------------------------------------------ helpers

pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Generator::new(seed)).unwrap()
}

pub fn uniform(shape: &[usize], bound: f64, seed: u64) -> Tensor {
    Tensor::uniform(shape, -bound, bound, DType::F64, &mut Generator::new(seed)).unwrap()
}

/// PyTorch's init: U(−1/√H, 1/√H) for every weight and bias, G gate blocks.
pub fn layer(g: usize, i: usize, h: usize, seed: u64) -> RnnWeights {
    let b = 1.0 / (h as f64).sqrt();
    RnnWeights::new(
        uniform(&[g * h, i], b, seed),
        uniform(&[g * h, h], b, seed + 1),
        uniform(&[g * h], b, seed + 2),
        uniform(&[g * h], b, seed + 3),
    )
}

/// `t` as rows of plain vectors: `(R, C)` → `Vec<Vec<f64>>`.
pub fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    let s = t.shape();
    let v = t.to_f64_vec();
    v.chunks(s[s.len() - 1]).map(|r| r.to_vec()).collect()
}

/// Sequence `b` of an `(N, T, W)` tensor as `T` rows.
pub fn sequence(t: &Tensor, b: usize) -> Vec<Vec<f64>> {
    let s = t.shape();
    rows(t)[b * s[1]..(b + 1) * s[1]].to_vec()
}
