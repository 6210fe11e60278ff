//! AdamW and parameter groups against torch.optim on recorded steps
//! (`tests/fixtures/optim/make_toolkit.py` wrote `toolkit.json`), plus state round trips and errors.

use glassgrad::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, ParamGroups, Sgd, SgdConfig};
use glassgrad::{DType, Tensor};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/optim/toolkit.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn tensor(values: &[f64], shape: &[usize], dtype: DType) -> Tensor {
    match dtype {
        DType::F32 => Tensor::from_vec(values.iter().map(|&v| v as f32).collect(), shape).unwrap(),
        _ => Tensor::from_vec(values.to_vec(), shape).unwrap(),
    }
}

/// Runs the fixture's 5 steps with `make(params)` and compares every parameter after every step.
fn replay(
    fx: &Value,
    want: &Value,
    dtype: DType,
    what: &str,
    make: &dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>,
) {
    let d = if dtype == DType::F32 { "f32" } else { "f64" };
    let shapes: Vec<Vec<usize>> = fx["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect())
        .collect();
    let params: Vec<Tensor> = shapes
        .iter()
        .enumerate()
        .map(|(j, s)| tensor(&floats(&fx["init"][d][j]), s, dtype).requires_grad_().unwrap())
        .collect();
    let mut opt = make(params.clone());
    let tol = if dtype == DType::F32 { 2e-6 } else { 1e-12 };
    for (t, step) in want.as_array().unwrap().iter().enumerate() {
        for (j, p) in params.iter().enumerate() {
            let g = &fx["grads"][d][t][j];
            if g.is_null() {
                p.zero_grad();
            } else {
                p.set_grad(Some(tensor(&floats(g), &shapes[j], dtype)));
            }
        }
        opt.step().unwrap();
        for (j, p) in params.iter().enumerate() {
            let (got, w) = (p.to_f64_vec(), floats(&step[j]));
            for (i, (g, w)) in got.iter().zip(&w).enumerate() {
                assert!(
                    (g - w).abs() <= tol * (1.0 + w.abs()),
                    "{what} {d} step {t} param {j}[{i}]: got {g}, want {w}"
                );
            }
        }
    }
}

fn adamw_config(kw: &Value) -> AdamWConfig {
    let f = |k: &str, default: f64| kw.get(k).and_then(Value::as_f64).unwrap_or(default);
    let b = |k: &str| kw.get(k).and_then(Value::as_bool).unwrap_or(false);
    let betas =
        kw.get("betas").map(|v| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())).unwrap_or((0.9, 0.999));
    AdamWConfig::new(f("lr", f64::NAN))
        .betas(betas.0, betas.1)
        .eps(f("eps", 1e-8))
        .weight_decay(f("weight_decay", 0.01))
        .amsgrad(b("amsgrad"))
        .maximize(b("maximize"))
}

#[test]
fn adamw_matches_torch_on_recorded_steps() {
    let fx = fixture();
    let cases = fx["adamw"].as_object().unwrap();
    assert_eq!(cases.len(), 4);
    for (name, case) in cases {
        let c = adamw_config(&case["kwargs"]);
        for dtype in [DType::F32, DType::F64] {
            let d = if dtype == DType::F32 { "f32" } else { "f64" };
            replay(&fx, &case[d], dtype, name, &|ps| Box::new(AdamW::new(ps, c).unwrap()));
        }
    }
}

#[test]
fn param_groups_match_torch_on_recorded_steps() {
    let fx = fixture();
    for (name, case) in fx["groups"].as_object().unwrap() {
        let groups = case["groups"].as_array().unwrap().clone();
        let kind = case["kind"].as_str().unwrap().to_string();
        for dtype in [DType::F32, DType::F64] {
            let d = if dtype == DType::F32 { "f32" } else { "f64" };
            let make = |ps: Vec<Tensor>| -> Box<dyn Optimizer> {
                let opts: Vec<Box<dyn Optimizer>> = ps
                    .into_iter()
                    .zip(&groups)
                    .map(|(p, g)| -> Box<dyn Optimizer> {
                        let lr = g["lr"].as_f64().unwrap();
                        let wd = g.get("weight_decay").and_then(Value::as_f64).unwrap_or(0.0);
                        if kind == "SGD" {
                            Box::new(
                                Sgd::new(vec![p], SgdConfig::new(lr).momentum(0.9).weight_decay(wd)).unwrap(),
                            )
                        } else {
                            Box::new(Adam::new(vec![p], AdamConfig::new(lr).weight_decay(wd)).unwrap())
                        }
                    })
                    .collect();
                Box::new(ParamGroups::new(opts).unwrap())
            };
            replay(&fx, &case[d], dtype, name, &make);
        }
    }
}

#[test]
fn adamw_decay_is_decoupled_by_hand() {
    // One step, g = 0.5, w = 2, lr = 0.1, λ = 0.5: w ← 2·(1 − 0.05) = 1.9, then Adam's first step
    // moves by lr·m̂/(√v̂ + ε) = 0.1·0.5/(0.5 + 1e-8) ≈ 0.1: w = 1.8 (to 1e-8).
    let w = Tensor::from_vec(vec![2.0f64], &[1]).unwrap().requires_grad_().unwrap();
    let mut opt = AdamW::new(vec![w.clone()], AdamWConfig::new(0.1).weight_decay(0.5)).unwrap();
    w.set_grad(Some(Tensor::from_vec(vec![0.5f64], &[1]).unwrap()));
    opt.step().unwrap();
    assert!((w.to_f64_vec()[0] - 1.8).abs() < 1e-7, "{:?}", w.to_f64_vec());
    assert_eq!(opt.config().weight_decay, 0.5);
    let names: Vec<String> = opt.state_tensors().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"]);
}

#[test]
fn groups_number_state_across_groups_and_round_trip() {
    let mk = |v: f64| Tensor::from_vec(vec![v, v], &[2]).unwrap().requires_grad_().unwrap();
    let (a, b, c) = (mk(1.0), mk(2.0), mk(3.0));
    let g0: Box<dyn Optimizer> =
        Box::new(Sgd::new(vec![a.clone()], SgdConfig::new(0.1).momentum(0.9)).unwrap());
    let g1: Box<dyn Optimizer> =
        Box::new(Sgd::new(vec![b.clone(), c.clone()], SgdConfig::new(0.01).momentum(0.5)).unwrap());
    let mut opt = ParamGroups::new(vec![g0, g1]).unwrap();
    assert_eq!(opt.params().len(), 3);
    assert_eq!(opt.group_lrs(), vec![0.1, 0.01]);
    for p in [&a, &b, &c] {
        p.set_grad(Some(Tensor::from_vec(vec![1.0f64, -1.0], &[2]).unwrap()));
    }
    opt.step().unwrap();
    assert_eq!(a.to_f64_vec(), vec![0.9, 1.1]);
    assert_eq!(b.to_f64_vec(), vec![1.99, 2.01]);
    let state = opt.state_tensors();
    let keys: Vec<&str> = state.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["state.0.momentum_buffer", "state.1.momentum_buffer", "state.2.momentum_buffer"]);
    opt.load_state_tensors(&state).unwrap();
    assert_eq!(opt.state_tensors().len(), 3);
    // set_lr keeps the ratio between groups.
    opt.set_lr(0.05);
    assert_eq!(opt.group_lrs(), vec![0.05, 0.005]);
    assert!(opt.set_group_lrs(&[0.1]).is_err());
}

#[test]
fn errors() {
    let p = Tensor::from_vec(vec![1.0f64], &[1]).unwrap().requires_grad_().unwrap();
    assert!(AdamW::new(vec![p.clone()], AdamWConfig::new(0.1).weight_decay(-1.0)).is_err());
    assert!(AdamW::new(vec![p.clone()], AdamWConfig::new(0.1).betas(1.5, 0.9)).is_err());
    assert!(ParamGroups::new(vec![]).is_err());
    let g0: Box<dyn Optimizer> = Box::new(Sgd::new(vec![p.clone()], SgdConfig::new(0.1)).unwrap());
    let g1: Box<dyn Optimizer> = Box::new(Sgd::new(vec![p.clone()], SgdConfig::new(0.1)).unwrap());
    let e = ParamGroups::new(vec![g0, g1]).err().unwrap();
    assert!(e.to_string().contains("more than one group"), "{e}");
    let mut sgd = Sgd::new(vec![p], SgdConfig::new(0.1)).unwrap();
    assert!(sgd.set_group_lrs(&[0.1, 0.2]).is_err());
    sgd.set_group_lrs(&[0.3]).unwrap();
    assert_eq!(sgd.lr(), 0.3);
}
