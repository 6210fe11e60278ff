//! The `glassgrad train` jobs beyond the classifiers of `tests/train.rs`, fast: `train credit`
//! with 2 folds and 15 epochs (JSON keys, metrics.csv per fold, the headline, the fold models under
//! checkpoints/ and the refit model in model.safetensors), `train recommender
//! --algo mf,baseline` on small synthetic data (JSON key order, finite values), `train rnn` for
//! one epoch (validation-selected test accuracy), the lstm corpus' missing-file error, and the
//! refusal of options a job does not read.

use std::path::{Path, PathBuf};
use std::process::Command;

use glassgrad::jobs::{TrainArgs, train, train_all};
use glassgrad::train::human_lines_all;

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassgrad-jobs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn glassgrad(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassgrad")).args(args).output().unwrap();
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap(), out.status.success())
}

/// The keys of a JSON object line, in the order written.
fn keys_in_order(line: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let mut keys: Vec<(usize, String)> = v
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (line.find(&format!("\"{k}\":")).unwrap(), k.clone()))
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

#[test]
fn train_credit_json_prints_both_models_aucs() {
    let dir = tmp_dir("credit");
    let out = dir.to_str().unwrap();
    let (stdout, stderr, ok) =
        glassgrad(&["train", "credit", "--folds", "2", "--epochs", "15", "--json", "--quiet", "--out", out]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (line, model) in lines.iter().zip(["credit-mlp", "credit-logreg"]) {
        assert_eq!(&keys_in_order(line)[..3], ["model", "auc_mean", "auc_std"], "{line}");
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["model"], model);
        let (mean, std) = (v["auc_mean"].as_f64().unwrap(), v["auc_std"].as_f64().unwrap());
        assert!(mean > 0.7 && mean < 0.95, "{model} auc {mean}");
        assert!((0.0..0.1).contains(&std), "{model} std {std}");
        assert_eq!(v["folds"].as_u64(), Some(2));
        assert!(line.contains("\"folds\":2,"), "a count is an integer: {line}");
    }
    // Human lines on stderr with --json, ending with the MLP's headline, named.
    let mlp: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let headline = format!("auc (credit-mlp): {:.4}", mlp["auc_mean"].as_f64().unwrap());
    assert_eq!(stderr.lines().last(), Some(headline.as_str()), "{stderr}");
    // One metrics row per fold; the AUC columns are the folds' AUCs, whose mean is the headline.
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some("fold,mlp_train_loss,mlp_auc,logreg_auc"));
    let rows: Vec<Vec<f64>> = rows.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 2);
    let mean = (rows[0][2] + rows[1][2]) / 2.0;
    assert!((mean - mlp["auc_mean"].as_f64().unwrap()).abs() < 1e-12);
    assert!(dir.join("curves.png").exists());
    // The fold models are kept under checkpoints/; model.safetensors is the refit model.
    let ck = glassgrad::checkpoint::read_checkpoint(dir.join("checkpoints/folds.safetensors")).unwrap();
    for n in ["fold1_mlp.0.weight", "fold2_mlp.2.bias", "fold1_logreg.weight", "fold2_logreg.bias"] {
        assert!(ck.tensors.contains_key(n), "{n} missing from {:?}", ck.tensors.keys());
    }
    let model = glassgrad::checkpoint::read_checkpoint(dir.join("model.safetensors")).unwrap();
    assert!(model.tensors.contains_key("0.weight") && model.tensors.contains_key("glassgrad.encoder.mean"));
    assert!(!model.tensors.keys().any(|k| k.starts_with("fold")), "{:?}", model.tensors.keys());
}

#[test]
fn train_recommender_json_puts_algo_first_and_values_are_finite() {
    let dir = tmp_dir("rec");
    let (stdout, stderr, ok) = glassgrad(&[
        "train",
        "recommender",
        "--algo",
        "mf,baseline",
        "--synthetic-ratings",
        "4000",
        "--json",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (line, algo) in lines.iter().zip(["mf", "baseline"]) {
        assert!(
            line.starts_with(&format!("{{\"algo\":\"{algo}\",\"model\":\"recommender\",\"rmse\":")),
            "{line}"
        );
        let keys = keys_in_order(line);
        assert_eq!(
            &keys[..7],
            ["algo", "model", "rmse", "mae", "precision_at_10", "recall_at_10", "ndcg_at_10"]
        );
        assert!(keys.contains(&"fit_s".to_string()) && keys.contains(&"predict_s".to_string()));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for k in &keys[2..] {
            let x = v[k].as_f64().unwrap_or(f64::NAN);
            assert!(x.is_finite() && x >= 0.0, "{algo} {k} = {x}");
        }
        let rmse = v["rmse"].as_f64().unwrap();
        assert!(rmse > 0.3 && rmse < 2.0, "{algo} rmse {rmse}");
    }
    // metrics.csv: one row per algorithm; model.safetensors holds MF's tables.
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    let ck = glassgrad::checkpoint::read_checkpoint(dir.join("model.safetensors")).unwrap();
    assert_eq!(ck.tensors["mf.p"].shape()[1], 100, "K = 100 factors");
}

#[test]
fn train_rnn_reports_the_test_accuracy_of_the_best_validation_epoch() {
    let dir = tmp_dir("rnn");
    let args = TrainArgs { epochs: Some(2), out: Some(dir.clone()), quiet: true, ..Default::default() };
    let m = train("rnn", &args).unwrap();
    let acc = m.get("accuracy").unwrap();
    let best = m.get("best_epoch").unwrap();
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"val_accuracy"));
    let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    let row = &rows[best as usize - 1];
    assert_eq!(row[4], acc, "the reported test accuracy is the best validation epoch's");
    assert!(rows.iter().all(|r| r[7] <= row[7]));
    assert!((0.4..0.65).contains(&acc), "test accuracy {acc}");
    let majority = m.get("majority_accuracy").unwrap();
    assert!((0.5..0.6).contains(&majority), "majority {majority}");
    assert_eq!(m.human_lines().last().unwrap(), &format!("test accuracy: {acc:.4}"));
}

#[test]
fn lstm_without_the_corpus_says_how_to_get_it() {
    let dir = tmp_dir("lstm");
    let args = TrainArgs {
        data: Some(Path::new("/nonexistent/sentiment_tweets.csv.gz").to_path_buf()),
        out: Some(dir),
        quiet: true,
        ..Default::default()
    };
    let e = train("lstm", &args).err().unwrap().to_string();
    assert!(e.contains("/nonexistent/sentiment_tweets.csv.gz") && e.contains("not redistributed"), "{e}");
}

#[test]
fn options_a_job_does_not_read_are_refused() {
    let dir = tmp_dir("opts");
    let mut args = TrainArgs { out: Some(dir.clone()), quiet: true, ..Default::default() };
    args.job.recommender.algo = Some("mf".into());
    let e = train_all("digits", &args).err().unwrap().to_string();
    assert!(e.contains("recommender options"), "{e}");
    let args = TrainArgs { epochs: Some(3), out: Some(dir.clone()), quiet: true, ..Default::default() };
    let e = train_all("recommender", &args).err().unwrap().to_string();
    assert!(e.contains("--epochs"), "{e}");
    let args = TrainArgs { resume: Some(dir.join("x")), out: Some(dir), quiet: true, ..Default::default() };
    assert!(train_all("credit", &args).err().unwrap().to_string().contains("--resume"));
    // The old subcommand is gone.
    let (_, _, ok) = glassgrad(&["recommender", "--algo", "mf"]);
    assert!(!ok);
    assert!(human_lines_all(&[]).is_empty());
}

/// Arguments that used to be misread: a negative learning rate reaches the optimizer (which names
/// it) instead of clap's "unexpected argument"; a filter that matches nothing is an error, not an
/// empty table that exits 0.
#[test]
fn negative_numbers_and_empty_filters_are_named_errors() {
    let dir = tmp_dir("negative_lr");
    let out = dir.join("run");
    let (_, err, ok) =
        glassgrad(&["train", "digits", "--lr", "-1", "--epochs", "1", "--out", out.to_str().unwrap()]);
    assert!(!ok && err.contains("learning rate") && err.contains("-1"), "{err}");
    let (_, err, ok) = glassgrad(&["gradcheck", "--filter", "no_such_op"]);
    assert!(!ok && err.contains("no op matches") && err.contains("matmul"), "{err}");
    let (_, err, ok) = glassgrad(&["selftest", "--device", "cpu", "--filter", "no_such_check"]);
    assert!(!ok && err.contains("no check matches"), "{err}");
}
