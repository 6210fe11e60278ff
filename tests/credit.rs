//! Credit scoring (`models::credit`), fast: 2 folds, few epochs. The AUC must be well above
//! chance, the preprocessing must come from the training fold alone, and the cost threshold must
//! be the cost minimiser. The refit model on disk: `train credit` then `eval credit` on the same
//! file gives the figures a direct computation gives; with `--holdout 0.3`, eval on the held-out
//! rows gives train's `holdout_auc`; the run folder's only top-level `.safetensors` is the model;
//! the encoder round-trips; other checkpoints and bad `--holdout` values are clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use glassgrad::models::credit::{
    CreditConfig, CreditModel, HOLDOUT_ROWS, cost_threshold, cross_validate, load, mlp,
};

fn path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/german_credit.csv.gz").to_string()
}

#[test]
fn data_has_the_documented_columns() {
    let d = load(path()).unwrap();
    assert_eq!(d.bad.len(), 1000);
    assert_eq!(d.bad.iter().filter(|&&b| b).count(), 300);
    assert_eq!(d.numeric.len(), 7);
    assert_eq!(d.categorical.len(), 13);
    assert!(d.numeric.contains(&"credit_amount".to_string()));
}

#[test]
fn preprocessing_uses_the_training_fold_only() {
    let d = load(path()).unwrap();
    let train: Vec<usize> = (0..500).collect();
    let enc = d.encoder(&train).unwrap();
    let col = d.numeric.iter().position(|n| n == "credit_amount").unwrap();
    let c = enc.numeric[col].0;
    let mean_of = |rows: &[usize]| {
        rows.iter().map(|&r| d.table.rows[r][c].parse::<f64>().unwrap()).sum::<f64>() / rows.len() as f64
    };
    let all: Vec<usize> = (0..1000).collect();
    assert!((enc.numeric[col].2.mean - mean_of(&train)).abs() < 1e-9);
    assert!((enc.numeric[col].2.mean - mean_of(&all)).abs() > 1.0, "the full-data mean differs");
    // Refitting on other rows changes nothing about an encoder already fitted.
    let enc2 = d.encoder(&all[500..]).unwrap();
    assert_ne!(enc.numeric[col].2, enc2.numeric[col].2);
}

#[test]
fn two_fold_auc_well_above_chance() {
    let mut cfg = CreditConfig::new(path());
    cfg.folds = 2;
    cfg.mlp_epochs = 5;
    cfg.logreg_steps = 150;
    let mut calls = 0;
    let r = cross_validate(&cfg, |_, _, _| calls += 1).unwrap();
    assert_eq!(calls, 2);
    assert_eq!(r.mlp.fold_aucs.len(), 2);
    assert!(r.mlp.auc_mean > 0.7, "mlp {}", r.mlp.auc_mean);
    assert!(r.logreg.auc_mean > 0.7, "logreg {}", r.logreg.auc_mean);
    assert!(r.mlp.oof_prob.iter().all(|p| (0.0..=1.0).contains(p)));
    let total: usize = r.confusion.iter().flatten().sum();
    assert_eq!(total, 1000);
    // The cost at the reported threshold, recomputed.
    let cost: f64 = r
        .mlp
        .oof_prob
        .iter()
        .zip(&r.bad)
        .map(|(&p, &b)| match (p >= r.threshold, b) {
            (false, true) => 5.0,
            (true, false) => 1.0,
            _ => 0.0,
        })
        .sum();
    assert_eq!(cost, r.cost);
    assert_eq!(r.cost, 5.0 * r.confusion[1][0] as f64 + r.confusion[0][1] as f64);
}

#[test]
fn cost_threshold_by_hand() {
    // p: 0.1 0.2 0.3 0.4 0.9, bad: F T F F T. Cost of deciding "bad" when p >= τ:
    // τ = 0.9: the bad at 0.2 accepted → 5; τ = 0.4: 5 + 1 = 6; τ = 0.3: 5 + 2 = 7;
    // τ = 0.2: goods at 0.3, 0.4 refused → 2; τ = 0.1: three goods refused → 3; τ above all: 10.
    let (t, c) = cost_threshold(&[0.1, 0.2, 0.3, 0.4, 0.9], &[false, true, false, false, true]);
    assert_eq!((t, c), (0.2, 2.0));
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassgrad-credit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary; returns (stdout, stderr, success).
fn glassgrad(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassgrad")).args(args).output().unwrap();
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap(), out.status.success())
}

/// `train credit --folds 2 --epochs 5` (plus `extra`) into `dir`: the JSON of credit-mlp.
fn train_small(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["train", "credit", "--folds", "2", "--epochs", "5", "--json", "--quiet", "--force"];
    args.extend_from_slice(extra);
    args.extend(["--out", dir.to_str().unwrap()]);
    let (stdout, stderr, ok) = glassgrad(&args);
    assert!(ok, "{stderr}");
    serde_json::from_str(stdout.lines().next().unwrap()).unwrap()
}

/// `eval credit --json` of `ckpt` on `data`: the JSON object, checked to hold exactly the four keys.
fn eval_json(ckpt: &Path, data: &Path) -> serde_json::Value {
    let (stdout, stderr, ok) = glassgrad(&[
        "eval",
        "credit",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["accuracy", "auc", "model", "samples"], "{stdout}");
    assert_eq!(v["model"], "credit");
    assert!(v["samples"].is_u64(), "samples is a count: {stdout}");
    v
}

#[test]
fn train_then_eval_scores_the_refit_model_with_its_stored_encoder() {
    let dir = tmp_dir("refit");
    train_small(&dir, &[]);
    // Exactly one top-level .safetensors file: the refit model; the folds' go under checkpoints/.
    let top: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".safetensors"))
        .collect();
    assert_eq!(top, ["model.safetensors"]);
    assert!(dir.join("checkpoints/folds.safetensors").exists());

    let ckpt = dir.join("model.safetensors");
    let data = PathBuf::from(path());
    let v = eval_json(&ckpt, &data);
    let (auc, acc) = (v["auc"].as_f64().unwrap(), v["accuracy"].as_f64().unwrap());
    assert_eq!(v["samples"].as_u64(), Some(1000));
    assert!(auc > 0.75, "the refit model's AUC on its own training rows: {auc}");
    assert!(acc > 0.7, "accuracy {acc}");

    // The same figures computed directly: an encoder fitted on all rows (what the refit did), the
    // MLP's parameters loaded from the file, p = σ(logit), AUC, accuracy at 0.5.
    let d = load(path()).unwrap();
    let all: Vec<usize> = (0..1000).collect();
    let enc = d.encoder(&all).unwrap();
    let x = enc.one_hot_matrix(&d.table, &all, glassgrad::tensor::DType::F32).unwrap();
    let net = mlp(x.shape()[1], 16, &mut glassgrad::rng::Generator::new(7)).unwrap();
    glassgrad::checkpoint::load_state_dict(&ckpt, &net).unwrap();
    use glassgrad::nn::Module;
    let p = net.forward(&x).unwrap().sigmoid().unwrap().to_f64_vec();
    let direct_auc = glassgrad::metrics::roc_auc(&p, &d.bad).unwrap();
    let pred: Vec<bool> = p.iter().map(|&p| p >= 0.5).collect();
    let direct_acc = glassgrad::metrics::accuracy(&pred, &d.bad).unwrap();
    assert!((auc - direct_auc).abs() < 1e-12, "eval {auc}, direct {direct_auc}");
    assert!((acc - direct_acc).abs() < 1e-12, "eval {acc}, direct {direct_acc}");

    // The encoder round-trips: the stored statistics and categories are the fitted ones, and
    // encoding rows with the loaded encoder gives the fitted encoder's matrix.
    let model = CreditModel::read(&ckpt).unwrap();
    let fitted = CreditModel::new(net, &enc);
    assert_eq!(model.numeric, fitted.numeric);
    assert_eq!(model.categorical, fitted.categorical);
    let loaded = model.encoder(&d.table).unwrap();
    let again = loaded.one_hot_matrix(&d.table, &all, glassgrad::tensor::DType::F64).unwrap();
    let first = enc.one_hot_matrix(&d.table, &all, glassgrad::tensor::DType::F64).unwrap();
    assert_eq!(again.to_vec::<f64>().unwrap(), first.to_vec::<f64>().unwrap());

    // The human lines end with the headline on the file.
    let (stdout, stderr, ok) = glassgrad(&[
        "eval",
        "credit",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("p(bad) >= 0.5"), "{stdout}");
    assert!(stdout.contains("samples: 1000"), "{stdout}");
    assert_eq!(stdout.lines().last().unwrap(), format!("auc on {}: {auc:.4}", data.display()));
}

/// The bundled file's header and data lines (CR removed).
fn bundled_lines() -> Vec<String> {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path()).unwrap()).read_to_string(&mut s).unwrap();
    s.lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
}

#[test]
fn holdout_rows_are_recorded_and_eval_on_them_gives_the_holdout_auc() {
    let dir = tmp_dir("holdout");
    let plain = tmp_dir("holdout-plain");
    let mlp_json = train_small(&dir, &["--holdout", "0.3"]);
    let plain_json = train_small(&plain, &[]);
    // The cross-validation is the same with or without a holdout.
    assert_eq!(mlp_json["auc_mean"], plain_json["auc_mean"]);
    assert!(plain_json.get("holdout_auc").is_none());
    let holdout_auc = mlp_json["holdout_auc"].as_f64().unwrap();
    assert_eq!(mlp_json["holdout_samples"].as_u64(), Some(300));
    assert!(holdout_auc > 0.65, "holdout auc {holdout_auc}");

    // The checkpoint records the held-out rows (stratified: 90 of the 300 bad loans) and how.
    let ckpt = dir.join("model.safetensors");
    let ck = glassgrad::checkpoint::read_checkpoint(&ckpt).unwrap();
    let held: Vec<usize> =
        ck.tensors[HOLDOUT_ROWS].to_vec::<i64>().unwrap().iter().map(|&r| r as usize).collect();
    assert_eq!(held.len(), 300);
    assert!(held.windows(2).all(|w| w[0] < w[1]));
    let d = load(path()).unwrap();
    assert_eq!(held.iter().filter(|&&r| d.bad[r]).count(), 90);
    let meta = ck.train_state().unwrap().meta;
    assert_eq!(meta["holdout_fraction"], "0.3");
    assert_eq!(meta["holdout_seed"], "0");
    assert_eq!(meta["refit_rows"], "700");

    // A file of only the held-out rows: eval gives train's holdout AUC.
    let lines = bundled_lines();
    let mut out = vec![lines[0].clone()];
    out.extend(held.iter().map(|&r| lines[r + 1].clone()));
    let file = dir.join("held_out.csv");
    std::fs::write(&file, out.join("\n") + "\n").unwrap();
    let v = eval_json(&ckpt, &file);
    assert_eq!(v["samples"].as_u64(), Some(300));
    let auc = v["auc"].as_f64().unwrap();
    assert!((auc - holdout_auc).abs() < 1e-12, "eval {auc}, train {holdout_auc}");
}

#[test]
fn other_checkpoints_and_bad_holdouts_are_clear_errors() {
    use glassgrad::jobs::{TrainArgs, train_all};
    let dir = tmp_dir("errors");
    let data = PathBuf::from(path());
    // A digits checkpoint.
    let digits = dir.join("digits");
    let args = TrainArgs { epochs: Some(1), out: Some(digits.clone()), quiet: true, ..Default::default() };
    train_all("digits", &args).unwrap();
    let e = CreditModel::read(&digits.join("model.safetensors")).err().unwrap().to_string();
    assert!(e.contains("a checkpoint of `train digits`, not of `train credit`"), "{e}");
    let (_, err, ok) = glassgrad(&[
        "eval",
        "credit",
        "--checkpoint",
        digits.join("model.safetensors").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not of `train credit`"), "{err}");
    // A credit checkpoint of the old layout (fold models, no encoder).
    let old = dir.join("old.safetensors");
    let t = glassgrad::tensor::Tensor::from_vec(vec![0.0f32; 4], &[2, 2]).unwrap();
    let state = glassgrad::checkpoint::TrainState {
        meta: [("model".to_string(), "credit".to_string())].into_iter().collect(),
        ..Default::default()
    };
    let bag = glassgrad::train::TensorBag::new(vec![("fold1_mlp.0.weight".into(), t)]);
    glassgrad::checkpoint::save_checkpoint(&old, &bag, None, &state).unwrap();
    let e = CreditModel::read(&old).err().unwrap().to_string();
    assert!(e.contains("holds no encoder"), "{e}");
    // A bare state_dict (no glassgrad metadata).
    let bare = dir.join("bare.safetensors");
    glassgrad::checkpoint::save_checkpoint(&bare, &bag, None, &Default::default()).unwrap();
    let e = CreditModel::read(&bare).err().unwrap().to_string();
    assert!(e.contains("not a checkpoint of `glassgrad train credit`"), "{e}");

    // --holdout outside (0, 1), or leaving fewer than 10 rows on a side; other models refuse it.
    for (f, words) in [
        (0.0, "strictly between 0 and 1"),
        (1.0, "strictly between 0 and 1"),
        (-0.2, "strictly between 0 and 1"),
        (f64::NAN, "strictly between 0 and 1"),
        (0.005, "held-out rows of 1000 in all; each side needs at least 10"),
        (0.995, "training rows of 1000 in all; each side needs at least 10"),
    ] {
        let mut args = TrainArgs { out: Some(dir.join("bad")), quiet: true, ..Default::default() };
        args.job.credit.holdout = Some(f);
        let e = train_all("credit", &args).err().unwrap().to_string();
        assert!(e.contains(words), "--holdout {f}: {e}");
        assert!(!dir.join("bad/model.safetensors").exists());
    }
    let mut args = TrainArgs { out: Some(dir.join("bad")), quiet: true, ..Default::default() };
    args.job.credit.holdout = Some(0.3);
    let e = train_all("digits", &args).err().unwrap().to_string();
    assert!(e.contains("the credit options apply to `train credit` only"), "{e}");
}
