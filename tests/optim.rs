//! Optimizers and gradient clipping against torch.optim on recorded steps
//! (`tests/fixtures/optim/make_optim.py` wrote `optim.safetensors`), plus hand-computed steps,
//! skipped parameters, state round trips and errors.

use std::collections::HashMap;

use glassgrad::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig, clip_grad_norm};
use glassgrad::{DType, Tensor};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

struct Fixture {
    tensors: HashMap<String, Tensor>,
    meta: HashMap<String, String>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/optim/optim.safetensors");
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let t = match view.dtype() {
            Dtype::F32 => {
                let v =
                    view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
                Tensor::from_vec::<f32>(v, &shape).unwrap()
            }
            Dtype::F64 => {
                let v =
                    view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect();
                Tensor::from_vec::<f64>(v, &shape).unwrap()
            }
            other => panic!("unexpected dtype {other:?}"),
        };
        tensors.insert(name, t);
    }
    Fixture { tensors, meta }
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: got {g}, want {w}");
    }
}

fn make_optimizer(kind: &str, kw: &Value, params: Vec<Tensor>) -> Box<dyn Optimizer> {
    let f = |k: &str, default: f64| kw.get(k).and_then(Value::as_f64).unwrap_or(default);
    let b = |k: &str| kw.get(k).and_then(Value::as_bool).unwrap_or(false);
    match kind {
        "SGD" => {
            let c = SgdConfig::new(f("lr", f64::NAN))
                .momentum(f("momentum", 0.0))
                .dampening(f("dampening", 0.0))
                .weight_decay(f("weight_decay", 0.0))
                .nesterov(b("nesterov"))
                .maximize(b("maximize"));
            Box::new(Sgd::new(params, c).unwrap())
        }
        "Adam" => {
            let betas = kw.get("betas").map(|v| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap()));
            let (b1, b2) = betas.unwrap_or((0.9, 0.999));
            let c = AdamConfig::new(f("lr", f64::NAN))
                .betas(b1, b2)
                .eps(f("eps", 1e-8))
                .weight_decay(f("weight_decay", 0.0))
                .amsgrad(b("amsgrad"))
                .maximize(b("maximize"));
            Box::new(Adam::new(params, c).unwrap())
        }
        other => panic!("unknown optimizer {other}"),
    }
}

#[test]
fn matches_torch_optim_on_recorded_steps() {
    let fx = fixture();
    let cases: serde_json::Map<String, Value> = serde_json::from_str(&fx.meta["cases"]).unwrap();
    let steps: usize = fx.meta["steps"].parse().unwrap();
    assert!(cases.len() >= 11);
    for (dtype, tol) in [("f32", 1e-6), ("f64", 1e-12)] {
        for (case, spec) in &cases {
            // detach() shares the fixture's buffer; the first in-place step copies it (copy-on-write)
            let params: Vec<Tensor> = (0..3)
                .map(|j| fx.tensors[&format!("init.{dtype}.{j}")].detach().requires_grad_().unwrap())
                .collect();
            let mut opt = make_optimizer(spec[0].as_str().unwrap(), &spec[1], params.clone());
            for t in 0..steps {
                for (j, p) in params.iter().enumerate() {
                    p.set_grad(fx.tensors.get(&format!("grad.{dtype}.{t}.{j}")).cloned());
                }
                opt.step().unwrap();
                for (j, p) in params.iter().enumerate() {
                    let want = &fx.tensors[&format!("{case}.{dtype}.{t}.{j}")];
                    assert_close(p, want, tol, &format!("{case} {dtype} step {t} param {j}"));
                }
            }
        }
    }
}

#[test]
fn clip_grad_norm_matches_torch() {
    let fx = fixture();
    let cases: serde_json::Map<String, Value> = serde_json::from_str(&fx.meta["clip_cases"]).unwrap();
    for (dtype, tol) in [("f32", 1e-6), ("f64", 1e-12)] {
        for (case, spec) in &cases {
            let max_norm = spec[0].as_f64().unwrap();
            let norm_type = spec[1].as_f64().unwrap_or(f64::INFINITY); // "inf" is a string
            let params: Vec<Tensor> = (0..3)
                .map(|j| {
                    let p = fx.tensors[&format!("init.{dtype}.{j}")].detach();
                    p.set_grad((j != 1).then(|| fx.tensors[&format!("grad.{dtype}.0.{j}")].clone()));
                    p
                })
                .collect();
            let total = clip_grad_norm(&params, max_norm, norm_type).unwrap();
            let want = fx.tensors[&format!("clip.{case}.{dtype}.total_norm")].item().unwrap();
            assert!((total - want).abs() <= tol * want, "{case} {dtype}: norm {total} vs {want}");
            for j in [0, 2] {
                let want = &fx.tensors[&format!("clip.{case}.{dtype}.{j}")];
                assert_close(&params[j].grad().unwrap(), want, tol, &format!("clip {case} {dtype} grad {j}"));
            }
            assert!(params[1].grad().is_none());
        }
    }
}

fn leaf(v: &[f64]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap().requires_grad_().unwrap()
}

#[test]
fn sgd_momentum_by_hand() {
    // w0 = 1, g = 2 each step, lr 0.1, momentum 0.5, dampening 0.5:
    // b1 = 2 (first step: b = d), w1 = 1 - 0.2 = 0.8
    // b2 = 0.5*2 + 0.5*2 = 2, w2 = 0.6
    let w = leaf(&[1.0]);
    let mut opt = Sgd::new(vec![w.clone()], SgdConfig::new(0.1).momentum(0.5).dampening(0.5)).unwrap();
    for want in [0.8, 0.6] {
        w.set_grad(Some(Tensor::from_vec(vec![2.0], &[1]).unwrap()));
        opt.step().unwrap();
        assert!((w.item().unwrap() - want).abs() < 1e-15);
    }
    let state = opt.state_tensors();
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].0, "state.0.momentum_buffer");
    assert_eq!(state[0].1.to_vec::<f64>().unwrap(), vec![2.0]);
}

#[test]
fn adam_first_step_moves_by_lr() {
    // After one step m̂ = g and v̂ = g², so w moves by lr·g/(|g| + eps) ≈ lr·sign(g).
    let w = leaf(&[0.0, 0.0]);
    let mut opt = Adam::new(vec![w.clone()], AdamConfig::new(0.1)).unwrap();
    w.set_grad(Some(Tensor::from_vec(vec![3.0, -0.5], &[2]).unwrap()));
    opt.step().unwrap();
    let v = w.to_vec::<f64>().unwrap();
    assert!((v[0] + 0.1).abs() < 1e-8 && (v[1] - 0.1).abs() < 1e-8, "{v:?}");
}

#[test]
fn adam_state_round_trip_resumes_exactly() {
    let run = |split: bool| -> Vec<f64> {
        let w = leaf(&[0.5, -1.0, 2.0]);
        let cfg = AdamConfig::new(0.05).amsgrad(true).weight_decay(0.01);
        let mut opt = Adam::new(vec![w.clone()], cfg).unwrap();
        for t in 0..6 {
            if split && t == 3 {
                let state = opt.state_tensors();
                let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(
                    names,
                    ["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq"]
                );
                opt = Adam::new(vec![w.clone()], cfg).unwrap();
                opt.load_state_tensors(&state).unwrap();
            }
            let g = (t as f64 - 2.5) * 0.7;
            w.set_grad(Some(Tensor::from_vec(vec![g, -g, g * g], &[3]).unwrap()));
            opt.step().unwrap();
        }
        w.to_vec::<f64>().unwrap()
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn parameters_without_gradient_are_skipped() {
    let (a, b) = (leaf(&[1.0]), leaf(&[1.0]));
    let mut opt = Adam::new(vec![a.clone(), b.clone()], AdamConfig::new(0.1)).unwrap();
    a.set_grad(Some(Tensor::from_vec(vec![1.0], &[1]).unwrap()));
    opt.step().unwrap();
    assert_eq!(b.item().unwrap(), 1.0);
    assert!(opt.state_tensors().iter().all(|(n, _)| n.starts_with("state.0.")));
    opt.zero_grad();
    assert!(a.grad().is_none());
}

#[test]
fn clip_replaces_shared_gradients_once() {
    // Backward of a + b hands both leaves the same gradient tensor; clipping must scale it once.
    let (a, b) = (leaf(&[0.0, 0.0]), leaf(&[0.0, 0.0]));
    a.add(&b).unwrap().mul_scalar(3.0).unwrap().sum().unwrap().backward().unwrap();
    let total = clip_grad_norm(&[a.clone(), b.clone()], 1.0, 2.0).unwrap();
    assert!((total - 6.0).abs() < 1e-12); // sqrt(4 · 9)
    for p in [&a, &b] {
        for v in p.grad().unwrap().to_vec::<f64>().unwrap() {
            assert!((v - 3.0 / (6.0 + 1e-6)).abs() < 1e-12, "{v}");
        }
    }
    assert_eq!(clip_grad_norm(&[leaf(&[1.0])], 1.0, 2.0).unwrap(), 0.0); // no gradients
}

#[test]
fn lr_get_set() {
    let mut opt: Box<dyn Optimizer> = Box::new(Sgd::new(vec![leaf(&[1.0])], SgdConfig::new(0.1)).unwrap());
    assert_eq!(opt.lr(), 0.1);
    opt.set_lr(0.01);
    assert_eq!(opt.lr(), 0.01);
}

#[test]
fn f32_large_tensor_runs_in_parallel_path() {
    // Above the parallel threshold: same result as element-by-element arithmetic.
    let n = 100_000;
    let w = Tensor::full(&[n], 1.0, DType::F32).unwrap().requires_grad_().unwrap();
    let mut opt = Sgd::new(vec![w.clone()], SgdConfig::new(0.5).momentum(0.9)).unwrap();
    for _ in 0..2 {
        w.set_grad(Some(Tensor::full(&[n], 0.25, DType::F32).unwrap()));
        opt.step().unwrap();
    }
    // b1 = 0.25, w1 = 0.875; b2 = 0.9·0.25 + 0.25 = 0.475, w2 = 0.875 − 0.2375 = 0.6375
    let want = 0.875f32 - 0.5f32 * (0.25f32 * 0.9f32 + 0.25f32);
    assert!(w.to_vec::<f32>().unwrap().iter().all(|&v| v == want));
}

#[test]
fn errors() {
    let w = leaf(&[1.0]);
    assert!(Sgd::new(vec![w.clone()], SgdConfig::new(-0.1)).is_err());
    assert!(Sgd::new(vec![w.clone()], SgdConfig::new(0.1).nesterov(true)).is_err());
    assert!(
        Sgd::new(vec![w.clone()], SgdConfig::new(0.1).momentum(0.9).dampening(0.1).nesterov(true)).is_err()
    );
    assert!(Sgd::new(vec![w.clone(), w.clone()], SgdConfig::new(0.1)).is_err());
    assert!(Adam::new(vec![w.clone()], AdamConfig::new(0.1).betas(1.0, 0.999)).is_err());
    assert!(Adam::new(vec![w.clone()], AdamConfig::new(0.1).eps(-1.0)).is_err());
    let int = Tensor::from_vec(vec![1i64], &[1]).unwrap();
    assert!(Sgd::new(vec![int], SgdConfig::new(0.1)).is_err());
    let non_leaf = w.mul_scalar(2.0).unwrap();
    assert!(Adam::new(vec![non_leaf], AdamConfig::default()).is_err());
    // a gradient of the wrong shape or dtype is an error naming the op
    let mut opt = Sgd::new(vec![w.clone()], SgdConfig::new(0.1)).unwrap();
    w.set_grad(Some(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap()));
    assert!(opt.step().unwrap_err().to_string().contains("SGD"));
    w.set_grad(Some(Tensor::from_vec(vec![1.0f32], &[1]).unwrap()));
    assert!(opt.step().is_err());
    // clip: bad norm type
    assert!(clip_grad_norm(std::slice::from_ref(&w), 1.0, 0.0).is_err());
    // state of the wrong shape
    let mut adam = Adam::new(vec![w.clone()], AdamConfig::default()).unwrap();
    let bad = vec![("state.0.exp_avg".to_string(), Tensor::zeros(&[2], DType::F64).unwrap())];
    assert!(adam.load_state_tensors(&bad).is_err());
    let bad = vec![("state.5.exp_avg".to_string(), Tensor::zeros(&[1], DType::F64).unwrap())];
    assert!(adam.load_state_tensors(&bad).is_err());
}
