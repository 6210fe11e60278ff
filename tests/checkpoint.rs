//! Checkpoints: exact round trips (parameters, Adam state, generator, loader position, history),
//! atomic writes, errors that name the file, the tensor and both shapes and load nothing, a fuzz
//! loop, and a PyTorch-made `state_dict` loading into its Rust twin.

use std::path::{Path, PathBuf};

use glassgrad::checkpoint::{
    TrainState, load_checkpoint, load_state_dict, parse_checkpoint, read_checkpoint, save_checkpoint,
    write_atomic, write_atomic_then,
};
use glassgrad::models::digits::DigitsMlp;
use glassgrad::nn::{Linear, Mode, Module, ReLU};
use glassgrad::optim::{Adam, AdamConfig, Optimizer};
use glassgrad::{DType, Error, Generator, Tensor};

/// A two-layer MLP with free sizes and dtype, to make mismatching files.
struct Mlp {
    fc1: Option<Linear>,
    act: ReLU,
    fc2: Linear,
    mode: Mode,
}

impl Mlp {
    fn new(i: usize, h: usize, o: usize, dtype: DType, seed: u64) -> Mlp {
        let mut g = Generator::new(seed);
        Mlp {
            fc1: Some(Linear::new(i, h, true, dtype, &mut g).unwrap()),
            act: ReLU::new(),
            fc2: Linear::new(h, o, true, dtype, &mut g).unwrap(),
            mode: Mode::default(),
        }
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> glassgrad::Result<Tensor> {
        let h = match &self.fc1 {
            Some(fc1) => self.act.forward(&fc1.forward(x)?)?,
            None => x.clone(),
        };
        self.fc2.forward(&h)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        let mut c: Vec<(String, &dyn Module)> = Vec::new();
        if let Some(fc1) = &self.fc1 {
            c.push(("fc1".into(), fc1));
        }
        c.push(("act".into(), &self.act));
        c.push(("fc2".into(), &self.fc2));
        c
    }
    fn mode(&self) -> &Mode {
        &self.mode
    }
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassgrad-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bits(ts: &[(String, Tensor)]) -> Vec<(String, Vec<u64>)> {
    ts.iter().map(|(n, t)| (n.clone(), t.to_f64_vec().into_iter().map(f64::to_bits).collect())).collect()
}

/// A few Adam steps on a fixed batch, so the optimizer has state.
fn train_steps(model: &dyn Module, opt: &mut Adam, steps: usize) {
    let mut g = Generator::new(99);
    let x = Tensor::rand(&[8, model.named_parameters()[0].1.shape()[1]], DType::F32, &mut g).unwrap();
    let y = Tensor::from_vec((0..8).map(|i| i % 2).collect::<Vec<i64>>(), &[8]).unwrap();
    for _ in 0..steps {
        opt.zero_grad();
        let loss = model.forward(&x).unwrap().cross_entropy(&y, Default::default()).unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
}

#[test]
fn generator_state_round_trips_and_matches_splitmix() {
    // xoshiro256++ seeded through SplitMix64: the first SplitMix64 output from 0 is
    // 0xe220a8397b1dcdaf (Vigna's reference splitmix64.c).
    let (w, seed) = Generator::new(0).state();
    assert_eq!((w[0], seed), (0xe220a8397b1dcdaf, 0));
    let mut g = Generator::new(17);
    for _ in 0..5 {
        g.normal();
    }
    let (w, s) = g.state();
    let mut h = Generator::from_state(w, s).unwrap();
    assert_eq!(h.initial_seed(), 17);
    for _ in 0..100 {
        assert_eq!(g.next_u64(), h.next_u64());
    }
    assert!(Generator::from_state([0; 4], 0).is_err());
}

#[test]
fn round_trip_parameters_adam_rng_loader_history() {
    let dir = tmp_dir("roundtrip");
    let path = dir.join("a.safetensors");
    let model = Mlp::new(4, 5, 2, DType::F32, 1);
    let mut opt = Adam::new(model.parameters(), AdamConfig::new(0.01)).unwrap();
    train_steps(&model, &mut opt, 3);
    let mut rng = Generator::new(5);
    rng.uniform();
    let state = TrainState {
        epoch: 3,
        rng: Some(rng.clone()),
        loader_epoch: 3,
        loader_batch: 7,
        history_columns: vec!["epoch".into(), "train_loss".into()],
        history: vec![vec![1.0, 0.5], vec![2.0, 0.25], vec![3.0, 0.1 + 0.2]],
        meta: [("model".to_string(), "mlp".to_string())].into(),
    };
    save_checkpoint(&path, &model, Some(&opt), &state).unwrap();

    // A differently initialised twin with a fresh optimizer.
    let twin = Mlp::new(4, 5, 2, DType::F32, 2);
    let mut twin_opt = Adam::new(twin.parameters(), AdamConfig::new(0.01)).unwrap();
    assert_ne!(bits(&twin.state_dict()), bits(&model.state_dict()));
    let got = load_checkpoint(&path, &twin, Some(&mut twin_opt)).unwrap();
    assert_eq!(bits(&twin.state_dict()), bits(&model.state_dict()));
    assert_eq!(bits(&twin_opt.state_tensors()), bits(&opt.state_tensors()));
    assert_eq!(twin_opt.state_tensors().len(), 4 * 3, "step, exp_avg, exp_avg_sq per parameter");
    assert_eq!((got.epoch, got.loader_epoch, got.loader_batch), (3, 3, 7));
    assert_eq!(got.history_columns, state.history_columns);
    assert_eq!(got.history, state.history);
    assert_eq!(got.meta, state.meta);
    let (mut a, mut b) = (rng, got.rng.unwrap());
    assert_eq!(a.initial_seed(), b.initial_seed());
    assert_eq!((a.next_u64(), a.normal()), (b.next_u64(), b.normal()));

    // Continuing both gives the same bits: the whole optimizer state came back.
    train_steps(&model, &mut opt, 2);
    train_steps(&twin, &mut twin_opt, 2);
    assert_eq!(bits(&twin.state_dict()), bits(&model.state_dict()));

    // The names in the file: state_dict names, `optim.` and `glassgrad.` prefixes.
    let file = read_checkpoint(&path).unwrap();
    let names: Vec<&str> = file.tensors.keys().map(String::as_str).collect();
    for n in ["fc1.weight", "fc2.bias", "optim.state.0.exp_avg", "optim.state.3.step", "glassgrad.rng"] {
        assert!(names.contains(&n), "{n} not in {names:?}");
    }
    assert_eq!(file.metadata["format"], "glassgrad-checkpoint-1");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn atomic_write_keeps_the_old_checkpoint_when_interrupted() {
    let dir = tmp_dir("atomic");
    let path = dir.join("model.safetensors");
    let model = Mlp::new(3, 4, 2, DType::F32, 1);
    save_checkpoint(&path, &model, None, &TrainState { epoch: 1, ..Default::default() }).unwrap();
    let before = std::fs::read(&path).unwrap();

    // A second save that "crashes" after the temporary file is complete, before the rename.
    let other = Mlp::new(3, 4, 2, DType::F32, 2);
    save_checkpoint(dir.join("other.safetensors"), &other, None, &TrainState::default()).unwrap();
    let new_bytes = std::fs::read(dir.join("other.safetensors")).unwrap();
    let mut tmp_seen = None;
    let r = write_atomic_then(&path, &new_bytes, |tmp| {
        assert_eq!(std::fs::read(tmp).unwrap(), new_bytes, "the temporary file is complete");
        tmp_seen = Some(tmp.to_path_buf());
        Err(Error::file(tmp, "simulated crash"))
    });
    assert!(r.unwrap_err().to_string().contains("simulated crash"));
    assert_eq!(std::fs::read(&path).unwrap(), before, "the old checkpoint is untouched");
    assert!(!tmp_seen.unwrap().exists(), "the abandoned temporary file is removed");
    let probe = Mlp::new(3, 4, 2, DType::F32, 3);
    assert_eq!(load_checkpoint(&path, &probe, None).unwrap().epoch, 1);
    assert_eq!(bits(&probe.state_dict()), bits(&model.state_dict()));

    // An uninterrupted write replaces it, and leaves no temporary file behind.
    write_atomic(&path, &new_bytes).unwrap();
    load_state_dict(&path, &probe).unwrap();
    assert_eq!(bits(&probe.state_dict()), bits(&other.state_dict()));
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Loads `path` into a fresh `Mlp(4, 5, 2)` with an Adam that has state, expecting an error that
/// contains every `needle`; checks that neither the model nor the optimizer changed.
fn expect_load_error(path: &Path, needles: &[&str]) {
    let model = Mlp::new(4, 5, 2, DType::F32, 7);
    let mut opt = Adam::new(model.parameters(), AdamConfig::new(0.01)).unwrap();
    train_steps(&model, &mut opt, 1);
    let (params, state) = (bits(&model.state_dict()), bits(&opt.state_tensors()));
    let e = load_checkpoint(path, &model, Some(&mut opt)).unwrap_err().to_string();
    let file = path.file_name().unwrap().to_string_lossy();
    assert!(e.contains(&*file), "error does not name the file: {e}");
    for n in needles {
        assert!(e.contains(n), "error lacks {n:?}: {e}");
    }
    assert_eq!(bits(&model.state_dict()), params, "parameters changed by a failed load");
    assert_eq!(bits(&opt.state_tensors()), state, "optimizer changed by a failed load");
}

#[test]
fn bad_files_name_file_tensor_and_shapes_and_load_nothing() {
    let dir = tmp_dir("bad");
    let good = dir.join("good.safetensors");
    let model = Mlp::new(4, 5, 2, DType::F32, 1);
    let mut opt = Adam::new(model.parameters(), AdamConfig::new(0.01)).unwrap();
    train_steps(&model, &mut opt, 1);
    save_checkpoint(&good, &model, Some(&opt), &TrainState::default()).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    expect_load_error(&truncated, &["not a valid safetensors file"]);

    let corrupted = dir.join("corrupted.safetensors");
    let mut c = bytes.clone();
    c[12] = b'#'; // inside the JSON header
    std::fs::write(&corrupted, &c).unwrap();
    expect_load_error(&corrupted, &["not a valid safetensors file"]);

    let empty = dir.join("empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    expect_load_error(&empty, &[]);
    expect_load_error(&dir.join("absent.safetensors"), &["cannot read"]);

    // A wrong shape: fc2 is 5 -> 3 in the file, 5 -> 2 in the model.
    let wide = dir.join("wrong_shape.safetensors");
    save_checkpoint(&wide, &Mlp::new(4, 5, 3, DType::F32, 1), None, &TrainState::default()).unwrap();
    expect_load_error(&wide, &["fc2.weight", "[3, 5]", "[2, 5]"]);

    // A missing tensor: no fc1 in the file.
    let mut no_fc1 = Mlp::new(5, 5, 2, DType::F32, 1);
    no_fc1.fc1 = None;
    let missing = dir.join("missing.safetensors");
    save_checkpoint(&missing, &no_fc1, None, &TrainState::default()).unwrap();
    expect_load_error(&missing, &["fc1.weight", "[5, 4]", "missing"]);

    // A wrong dtype: f64 in the file.
    let f64_file = dir.join("wrong_dtype.safetensors");
    save_checkpoint(&f64_file, &Mlp::new(4, 5, 2, DType::F64, 1), None, &TrainState::default()).unwrap();
    expect_load_error(&f64_file, &["fc1.weight", "float64", "float32", "[5, 4]"]);

    // An unknown tensor besides the right ones.
    let extra = dir.join("extra.safetensors");
    let mut tensors: Vec<(String, Tensor)> = model.state_dict();
    tensors.push(("fc3.weight".into(), Tensor::zeros(&[2, 2], DType::F32).unwrap()));
    let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    glassgrad::cases::file::write(&extra, &[], &refs).unwrap();
    expect_load_error(&extra, &["fc3.weight", "[2, 2]", "unexpected"]);

    // Right parameters, but optimizer state of the wrong shape: nothing is loaded either.
    let bad_optim = dir.join("bad_optim.safetensors");
    let mut tensors: Vec<(String, Tensor)> = model.state_dict();
    tensors.push(("optim.state.0.exp_avg".into(), Tensor::zeros(&[3, 3], DType::F32).unwrap()));
    tensors.push(("optim.state.0.step".into(), Tensor::scalar(1.0f32)));
    let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    glassgrad::cases::file::write(&bad_optim, &[], &refs).unwrap();
    expect_load_error(&bad_optim, &["optimizer state", "[5, 4]", "[3, 3]"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fuzzed_bytes_never_panic() {
    let dir = tmp_dir("fuzz");
    let good = dir.join("good.safetensors");
    let model = Mlp::new(3, 2, 2, DType::F32, 1);
    let mut opt = Adam::new(model.parameters(), AdamConfig::new(0.01)).unwrap();
    train_steps(&model, &mut opt, 1);
    let state = TrainState {
        rng: Some(Generator::new(3)),
        history_columns: vec!["epoch".into()],
        history: vec![vec![1.0]],
        ..Default::default()
    };
    save_checkpoint(&good, &model, Some(&opt), &state).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let target = Mlp::new(3, 2, 2, DType::F32, 2);
    let mut target_opt = Adam::new(target.parameters(), AdamConfig::new(0.01)).unwrap();
    let mut g = Generator::new(2024);
    let (mut parsed, mut loaded) = (0, 0);
    for i in 0..3000 {
        let mut b = match i % 3 {
            // Random bytes, sometimes behind a plausible header length.
            0 => {
                let n = g.below(300);
                let mut v: Vec<u8> = (0..n).map(|_| g.below(256) as u8).collect();
                if n >= 8 && g.below(2) == 0 {
                    v[..8].copy_from_slice(&((n - 8) as u64).to_le_bytes());
                }
                v
            }
            // The valid file with a few bytes changed, mostly in the JSON header.
            1 => {
                let mut v = bytes.clone();
                for _ in 0..1 + g.below(4) {
                    let at = if g.below(4) > 0 { 8 + g.below(header_len) } else { g.below(v.len()) };
                    v[at] =
                        if g.below(2) == 0 { g.below(256) as u8 } else { b"{}[]\":,0123456789"[g.below(17)] };
                }
                v
            }
            // Truncated or extended.
            _ => {
                let mut v = bytes.clone();
                if g.below(2) == 0 {
                    v.truncate(g.below(v.len()));
                } else {
                    v.extend((0..1 + g.below(16)).map(|_| g.below(256) as u8));
                }
                v
            }
        };
        if i % 97 == 0 {
            let n = b.len().min(8);
            b[..n].fill(0xff); // absurd header length
        }
        if let Ok(f) = parse_checkpoint(Path::new("fuzz.safetensors"), &b) {
            parsed += 1;
            if f.load_into(&target, Some(&mut target_opt)).is_ok() {
                loaded += 1;
            }
        }
    }
    // The loop reached the loading code, not only the parser's first check.
    assert!(parsed > 30 && loaded > 10, "parsed {parsed}, loaded {loaded}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoint").join(name)
}

#[test]
fn pytorch_state_dict_loads_into_the_rust_twin() {
    // tests/fixtures/checkpoint/make_torch_checkpoint.py:
    //   torch.manual_seed(1234); model = DigitsMlp().eval(); x = torch.rand(5, 64); y = model(x)
    //   save_file(model.state_dict(), "digits_mlp.safetensors")
    //   print(y[0, :3]) -> [-0.2903611660003662, -0.14944113790988922, 0.17081862688064575]
    let model = DigitsMlp::new(&mut Generator::new(0)).unwrap();
    load_state_dict(fixture("digits_mlp.safetensors"), &model).unwrap();
    let io = read_checkpoint(fixture("digits_mlp_io.safetensors")).unwrap();
    let (x, y) = (&io.tensors["x"], &io.tensors["y"]);
    let out = model.forward(x).unwrap();
    assert_eq!(out.shape(), vec![5, 10]);
    let (got, want) = (out.to_vec::<f32>().unwrap(), y.to_vec::<f32>().unwrap());
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!((a - b).abs() <= 1e-5, "output {i}: glassgrad {a}, PyTorch {b}");
    }
    assert!((got[0] - -0.290_361_17).abs() < 1e-5);
    // A PyTorch file has no training state: the defaults come back.
    let st = read_checkpoint(fixture("digits_mlp.safetensors")).unwrap().train_state().unwrap();
    assert_eq!((st.epoch, st.rng.is_none(), st.history.len()), (0, true, 0));
    // And it does not fit a model of another shape.
    let e =
        load_state_dict(fixture("digits_mlp.safetensors"), &Mlp::new(64, 32, 10, DType::F32, 0)).unwrap_err();
    assert!(e.to_string().contains("digits_mlp.safetensors") && e.to_string().contains("[64, 64]"), "{e}");
}
