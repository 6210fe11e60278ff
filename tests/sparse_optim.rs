//! Row-sparse optimizers against torch.optim on recorded steps
//! (`tests/fixtures/optim/make_sparse.py` wrote `sparse.safetensors`: `F.embedding(...,
//! sparse=True)` lookups with repeated ids, then `torch.optim.SparseAdam` / `torch.optim.SGD`),
//! plus hand-computed steps, laziness, state round trips and errors.

use std::collections::HashMap;

use glassgrad::optim::{Optimizer, Sgd, SgdConfig, SparseAdam, SparseAdamConfig, SparseSgd, sgd_sparse_step};
use glassgrad::{DType, SparseGrad, Tensor};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

struct Fixture {
    tensors: HashMap<String, Tensor>,
    meta: HashMap<String, String>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/optim/sparse.safetensors");
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let b = view.data();
        let t = match view.dtype() {
            Dtype::F32 => Tensor::from_vec::<f32>(
                b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
                &shape,
            ),
            Dtype::F64 => Tensor::from_vec::<f64>(
                b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
                &shape,
            ),
            Dtype::I64 => Tensor::from_vec::<i64>(
                b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect(),
                &shape,
            ),
            other => panic!("unexpected dtype {other:?}"),
        };
        tensors.insert(name, t.unwrap());
    }
    Fixture { tensors, meta }
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: got {g}, want {w}");
    }
}

fn make(kind: &str, kw: &Value, w: &Tensor) -> Box<dyn Optimizer> {
    let lr = kw["lr"].as_f64().unwrap();
    let maximize = kw.get("maximize").and_then(Value::as_bool).unwrap_or(false);
    match kind {
        "SparseAdam" => {
            let (b1, b2) =
                kw.get("betas").map_or((0.9, 0.999), |b| (b[0].as_f64().unwrap(), b[1].as_f64().unwrap()));
            let eps = kw.get("eps").and_then(Value::as_f64).unwrap_or(1e-8);
            let c = SparseAdamConfig::new(lr).betas(b1, b2).eps(eps).maximize(maximize);
            Box::new(SparseAdam::new(vec![w.clone()], c).unwrap())
        }
        "SGD" => Box::new(SparseSgd::new(vec![w.clone()], lr).unwrap().maximize(maximize)),
        other => panic!("unknown optimizer {other}"),
    }
}

#[test]
fn matches_torch_on_recorded_sparse_steps() {
    let fx = fixture();
    let cases: serde_json::Map<String, Value> = serde_json::from_str(&fx.meta["cases"]).unwrap();
    let steps: usize = fx.meta["steps"].parse().unwrap();
    let skip: usize = fx.meta["skip"].parse().unwrap();
    assert_eq!(cases.len(), 5);
    for (dtype, tol) in [("f32", 1e-6), ("f64", 1e-13)] {
        for (case, spec) in &cases {
            let w = fx.tensors[&format!("init.{dtype}")].detach().requires_grad_().unwrap();
            let kind = spec[0].as_str().unwrap();
            let mut opt = make(kind, &spec[1], &w);
            for t in 0..steps {
                opt.zero_grad();
                if t != skip {
                    let ids = &fx.tensors[&format!("ids.{t}")];
                    let up = &fx.tensors[&format!("up.{dtype}.{t}")];
                    let y = Tensor::embedding_sparse_grad(ids, &w, None).unwrap();
                    y.mul(up).unwrap().sum().unwrap().backward().unwrap();
                    assert!(w.grad().is_none() && w.sparse_grad().is_some());
                }
                opt.step().unwrap();
                assert!(w.sparse_grad().is_none(), "the step consumes the sparse gradient");
                let want = &fx.tensors[&format!("{case}.{dtype}.{t}")];
                assert_close(&w, want, tol, &format!("{case} {dtype} step {t}"));
            }
            if kind == "SparseAdam" {
                let state: HashMap<String, Tensor> = opt.state_tensors().into_iter().collect();
                assert_eq!(
                    state["state.0.step"].item().unwrap(),
                    (steps - 1) as f64,
                    "skipped step not counted"
                );
                for name in ["exp_avg", "exp_avg_sq"] {
                    let want = &fx.tensors[&format!("{case}.{dtype}.{name}")];
                    assert_close(
                        &state[&format!("state.0.{name}")],
                        want,
                        tol,
                        &format!("{case} {dtype} {name}"),
                    );
                }
            }
        }
    }
}

fn table(v: &[f64], d: usize) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len() / d, d]).unwrap().requires_grad_().unwrap()
}

fn sparse(rows: Vec<i64>, values: Vec<f64>, d: usize) -> SparseGrad {
    let n = rows.len();
    SparseGrad { rows, values: Tensor::from_vec(values, &[n, d]).unwrap() }
}

#[test]
fn sgd_sparse_step_by_hand() {
    // W (3, 2); rows 0 and 2 get g = [1, 2] and [-4, 0.5]; lr 0.5: row 1 untouched.
    let w = table(&[1.0, 1.0, 2.0, 2.0, 3.0, 3.0], 2);
    sgd_sparse_step(&w, &sparse(vec![0, 2], vec![1.0, 2.0, -4.0, 0.5], 2), 0.5).unwrap();
    assert_eq!(w.to_vec::<f64>().unwrap(), vec![0.5, 0.0, 2.0, 2.0, 5.0, 2.75]);
}

#[test]
fn sparse_adam_first_step_by_hand_and_lazy_rows() {
    // Step 1, row 1, g = [2, -0.5]: m = 0.1 g, v = 0.001 g², α = 0.1·√0.001 / 0.1,
    // so Δ = -α · 0.1 g / (√0.001 |g| + ε) = -0.1 · g / (|g| + ε/√0.001) ≈ -0.1 sign(g).
    let w = table(&[0.0; 6], 2);
    let mut opt = SparseAdam::new(vec![w.clone()], SparseAdamConfig::new(0.1)).unwrap();
    let g = [2.0, -0.5];
    w.zero_sparse_grad();
    let set = |rows: Vec<i64>, vals: Vec<f64>| {
        let ids = Tensor::from_vec(rows, &[vals.len() / 2]).unwrap();
        let up = Tensor::from_vec(vals, &[ids.numel(), 2]).unwrap();
        Tensor::embedding_sparse_grad(&ids, &w, None)
            .unwrap()
            .mul(&up)
            .unwrap()
            .sum()
            .unwrap()
            .backward()
            .unwrap();
    };
    set(vec![1], g.to_vec());
    opt.step().unwrap();
    let v = w.to_vec::<f64>().unwrap();
    for (j, &gj) in g.iter().enumerate() {
        let want = -0.1 * gj / (gj.abs() + 1e-8 / 0.001f64.sqrt());
        assert!((v[2 + j] - want).abs() < 1e-15, "{v:?}");
    }
    assert_eq!([v[0], v[1], v[4], v[5]], [0.0; 4], "unused rows do not move");
    // Step 2 touches row 2 only: row 1's moments and values stay as they were (lazy).
    let before: HashMap<String, Tensor> = opt.state_tensors().into_iter().collect();
    set(vec![2], vec![1.0, 1.0]);
    opt.step().unwrap();
    let after: HashMap<String, Tensor> = opt.state_tensors().into_iter().collect();
    let row = |t: &Tensor, r: usize| t.to_vec::<f64>().unwrap()[2 * r..2 * r + 2].to_vec();
    for name in ["state.0.exp_avg", "state.0.exp_avg_sq"] {
        assert_eq!(row(&before[name], 1), row(&after[name], 1), "{name}");
    }
    assert_eq!(row(&w, 1), v[2..4].to_vec());
    assert_eq!(after["state.0.step"].item().unwrap(), 2.0);
}

#[test]
fn sparse_adam_state_round_trip_resumes_exactly() {
    let run = |split: bool| -> Vec<f64> {
        let w = table(&[0.5, -1.0, 2.0, 0.0, 1.0, 1.5], 3);
        let cfg = SparseAdamConfig::new(0.05).betas(0.8, 0.9);
        let mut opt = SparseAdam::new(vec![w.clone()], cfg).unwrap();
        for t in 0..6 {
            if split && t == 3 {
                let state = opt.state_tensors();
                let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names, ["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"]);
                opt = SparseAdam::new(vec![w.clone()], cfg).unwrap();
                opt.load_state_tensors(&state).unwrap();
            }
            let g = (t as f64 - 2.5) * 0.7;
            let ids = Tensor::from_vec(vec![(t % 2) as i64, 1], &[2]).unwrap();
            let y = Tensor::embedding_sparse_grad(&ids, &w, None).unwrap();
            y.mul_scalar(g).unwrap().sum().unwrap().backward().unwrap();
            opt.step().unwrap();
        }
        w.to_vec::<f64>().unwrap()
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn sparse_sgd_on_dense_gradient_is_plain_sgd() {
    let a = table(&[1.0, -2.0, 0.5, 3.0], 2);
    let b = table(&[1.0, -2.0, 0.5, 3.0], 2);
    let g = Tensor::from_vec(vec![0.3, -0.1, 2.0, 1.0], &[2, 2]).unwrap();
    a.set_grad(Some(g.clone()));
    b.set_grad(Some(g));
    SparseSgd::new(vec![a.clone()], 0.2).unwrap().step().unwrap();
    Sgd::new(vec![b.clone()], SgdConfig::new(0.2)).unwrap().step().unwrap();
    assert_eq!(a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
}

#[test]
fn zero_grad_clears_the_sparse_gradient() {
    let w = table(&[1.0; 4], 2);
    let opt = SparseAdam::new(vec![w.clone()], SparseAdamConfig::default()).unwrap();
    let ids = Tensor::from_vec(vec![1i64], &[1]).unwrap();
    Tensor::embedding_sparse_grad(&ids, &w, None).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(w.sparse_grad().unwrap().rows, vec![1]);
    opt.zero_grad();
    assert!(w.sparse_grad().is_none());
}

#[test]
fn errors() {
    let w = table(&[1.0; 6], 2);
    // SparseAdam rejects a dense gradient, as torch does.
    let mut opt = SparseAdam::new(vec![w.clone()], SparseAdamConfig::default()).unwrap();
    w.set_grad(Some(Tensor::ones(&[3, 2], DType::F64).unwrap()));
    let e = opt.step().unwrap_err().to_string();
    assert!(e.contains("dense gradient"), "{e}");
    w.zero_grad();
    // Tables must be 2-D; betas in [0, 1).
    let v = Tensor::zeros(&[4], DType::F64).unwrap().requires_grad_().unwrap();
    assert!(SparseAdam::new(vec![v], SparseAdamConfig::default()).is_err());
    assert!(SparseAdam::new(vec![w.clone()], SparseAdamConfig::new(0.1).betas(1.0, 0.9)).is_err());
    assert!(SparseAdam::new(vec![w.clone()], SparseAdamConfig::new(-0.1)).is_err());
    assert!(SparseSgd::new(vec![w.clone()], f64::NAN).is_err());
    // A gradient whose width differs from the table's, a row outside it, unsorted rows, a dtype.
    let e = sgd_sparse_step(&w, &sparse(vec![0], vec![1.0, 2.0, 3.0], 3), 0.1).unwrap_err().to_string();
    assert!(e.contains("[3, 2]") && e.contains("[1, 3]"), "{e}");
    let e = sgd_sparse_step(&w, &sparse(vec![3], vec![1.0, 2.0], 2), 0.1).unwrap_err().to_string();
    assert!(e.contains("outside the table"), "{e}");
    assert!(sgd_sparse_step(&w, &sparse(vec![2, 1], vec![1.0; 4], 2), 0.1).is_err());
    let g32 = SparseGrad { rows: vec![0], values: Tensor::from_vec(vec![1f32, 2.0], &[1, 2]).unwrap() };
    assert!(sgd_sparse_step(&w, &g32, 0.1).is_err());
    assert_eq!(w.to_vec::<f64>().unwrap(), vec![1.0; 6], "failed steps leave the table alone");
    // Unknown state keys.
    let bad = vec![("state.0.momentum".to_string(), Tensor::scalar(1.0f64))];
    assert!(opt.load_state_tensors(&bad).is_err());
}
