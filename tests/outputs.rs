//! What `glassgrad` prints and draws, read as a user reads it (issue #17, "Outputs that read
//! well"): rounded human figures and integer counts in JSON, each credit model's own `fit_s`, the
//! headline once; the words of `eval`, of errors and of `--help` (generated from the model
//! registry); the recommender's named lines, `metrics.csv` rows and progress lines; and the
//! plain progress lines written when stderr is not a terminal.

use std::path::PathBuf;
use std::process::Command;

use glassgrad::jobs::{find_job, model_names};

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassgrad-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary with `env` set; returns (stdout, stderr, success). Its stderr is a pipe, not
/// a terminal.
fn glassgrad_env(args: &[&str], env: &[(&str, &str)]) -> (String, String, bool) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glassgrad"));
    cmd.args(args).env_remove(glassgrad::train::PROGRESS_SECS);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap(), out.status.success())
}

fn glassgrad(args: &[&str]) -> (String, String, bool) {
    glassgrad_env(args, &[])
}

#[test]
fn human_figures_are_rounded_and_the_headline_is_printed_once() {
    let dir = tmp_dir("digits");
    let (json, stdout, ok) =
        glassgrad(&["train", "digits", "--epochs", "1", "--quiet", "--json", "--out", dir.to_str().unwrap()]);
    assert!(ok, "{stdout}");
    // The human lines are on stderr with --json, the exact figures in the JSON line.
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let value = |key: &str| stdout.lines().find_map(|l| l.strip_prefix(&format!("{key}: "))).unwrap();
    // samples per s: a whole number; fit s: 2 decimals (3 significant digits below 0.1 s); a
    // count: an integer.
    let rate = value("samples per s");
    assert_eq!(rate, format!("{:.0}", v["samples_per_s"].as_f64().unwrap()));
    assert!(rate.parse::<u64>().is_ok_and(|r| r > 1000), "{rate}");
    let fit_s = v["fit_s"].as_f64().unwrap();
    let fit = value("fit s");
    if fit_s >= 0.1 {
        assert_eq!(fit, format!("{fit_s:.2}"));
    } else {
        let digits: String = fit.chars().filter(char::is_ascii_digit).skip_while(|c| *c == '0').collect();
        assert_eq!(digits.len(), 3, "{fit} for {fit_s}");
        assert!((fit.parse::<f64>().unwrap() - fit_s).abs() <= 0.01 * fit_s, "{fit} for {fit_s}");
    }
    assert_eq!(value("epochs"), "1");
    assert_eq!(v["epochs"].as_u64(), Some(1));
    assert_eq!(value("train accuracy").split('.').nth(1).map(str::len), Some(4));
    // The held-out accuracy appears once: as the headline, the last line.
    let acc: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("accuracy") || l.contains("held-out")).collect();
    assert_eq!(acc, [format!("held-out accuracy: {:.4}", v["accuracy"].as_f64().unwrap())], "{stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("held-out accuracy: 0."), "{stdout}");
}

#[test]
fn credit_models_report_their_own_fit_seconds_and_integer_counts() {
    let dir = tmp_dir("credit");
    let (stdout, stderr, ok) = glassgrad(&[
        "train",
        "credit",
        "--folds",
        "2",
        "--epochs",
        "30",
        "--json",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let v: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (mlp, logreg) = (&v[0], &v[1]);
    let (fm, fl) = (mlp["fit_s"].as_f64().unwrap(), logreg["fit_s"].as_f64().unwrap());
    assert!(fm > 0.0 && fl > 0.0 && fm != fl, "mlp {fm} s, logreg {fl} s");
    // Counts are integers: the folds and the MLP's confusion counts, which sum to the 1,000 rows.
    for k in ["folds", "good_accepted", "good_refused", "bad_accepted", "bad_refused", "cost"] {
        assert!(mlp[k].is_u64(), "{k}: {}", mlp[k]);
    }
    let rows: u64 = ["good_accepted", "good_refused", "bad_accepted", "bad_refused"]
        .iter()
        .map(|k| mlp[k].as_u64().unwrap())
        .sum();
    assert_eq!(rows, 1000);
    assert_eq!(
        mlp["cost"].as_u64().unwrap(),
        5 * mlp["bad_accepted"].as_u64().unwrap() + mlp["good_refused"].as_u64().unwrap()
    );
    // Human lines (stderr with --json): one named line per model, then the named headline.
    let lines: Vec<&str> = stderr.lines().collect();
    let n = lines.len();
    assert!(lines[n - 3].starts_with("credit-mlp: auc mean "), "{stderr}");
    assert!(lines[n - 2].starts_with("credit-logreg: auc mean "), "{stderr}");
    assert!(lines[n - 2].contains(&format!("fit s {fl:.2}")), "{stderr}");
    assert_eq!(lines[n - 1], format!("auc (credit-mlp): {:.4}", mlp["auc_mean"].as_f64().unwrap()));
}

#[test]
fn errors_name_the_command_once_and_list_models_on_one_line() {
    let (_, err, ok) = glassgrad(&["train", "no-such-model"]);
    assert!(!ok);
    let names = model_names().join(", ");
    assert_eq!(
        err.trim_end(),
        format!(
            "glassgrad train: invalid argument: unknown model \"no-such-model\"; known models: {names} (glassgrad train --help describes them)"
        )
    );
    assert!(names.contains("cnn-market"));
    let (_, err, ok) = glassgrad(&["eval", "credit", "--checkpoint", "x", "--data", "y"]);
    assert!(!ok && err.starts_with("glassgrad eval: x: cannot read"), "{err}");
}

#[test]
fn train_help_lists_every_model_with_its_defaults() {
    let (help, _, ok) = glassgrad(&["train", "--help"]);
    assert!(ok);
    assert!(help.contains("The model to train: cnn, cnn-market, digits, credit"), "{help}");
    // The table under "Models and their defaults": each model's defaults, from the registry.
    let table = help.split("Models and their defaults:").nth(1).unwrap();
    for name in model_names() {
        let job = find_job(name).unwrap();
        let row = table.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        if job.unused_options().contains(&"epochs") {
            assert_eq!(cells[1..4], ["-", "-", "-"], "{row}");
        } else {
            let d = job.defaults();
            assert_eq!(
                cells[1..4],
                [d.epochs.to_string(), d.batch_size.to_string(), d.lr.to_string()],
                "{row}"
            );
        }
        assert!(row.ends_with(job.about()), "{row}");
    }
    // Real values, as a reader checks them: the CNN trains 10 epochs of 64, digits 30 of 32.
    assert!(table.lines().any(|l| l.split_whitespace().take(3).eq(["cnn", "10", "64"])), "{table}");
    assert!(
        table.lines().any(|l| l.split_whitespace().take(4).eq(["digits", "30", "32", "0.003"])),
        "{table}"
    );
    // And each option's own line says its defaults.
    let epochs = help.lines().find(|l| l.trim_start().starts_with("--epochs")).unwrap();
    assert!(
        epochs.contains("default: cnn 10, cnn-market 6, digits 30")
            && epochs.contains("not read by recommender")
    );
}

/// No help text shows rustdoc link syntax, and the tour's promise holds: `glassgrad --help`
/// lists the commands and `glassgrad COMMAND --help` gives each one's options.
#[test]
fn help_texts_have_no_rustdoc_links_and_every_command_has_options() {
    let (tour, _, ok) = glassgrad(&[]);
    assert!(
        ok && tour.contains("`glassgrad --help` lists the commands, `glassgrad COMMAND --help`"),
        "{tour}"
    );
    let (top, _, ok) = glassgrad(&["--help"]);
    assert!(ok);
    let commands: Vec<&str> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(
        commands.len() >= 9 && commands.contains(&"train") && commands.contains(&"bench"),
        "{commands:?}"
    );
    for c in commands {
        let (help, _, ok) = glassgrad(&[c, "--help"]);
        assert!(ok && help.contains("Options:"), "{c}: {help}");
        for link in ["[`", "`]", "](", "crate::"] {
            assert!(!help.contains(link), "`glassgrad {c} --help` shows {link:?}:\n{help}");
        }
    }
}

#[test]
fn recommender_lines_csv_and_progress_name_the_algorithms() {
    let dir = tmp_dir("rec");
    let (stdout, stderr, ok) = glassgrad(&[
        "train",
        "recommender",
        "--algo",
        "baseline,mf,als-implicit",
        "--synthetic-ratings",
        "3000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let n = lines.len();
    assert!(lines[n - 4].starts_with("baseline: rmse "), "{stdout}");
    assert!(lines[n - 3].starts_with("mf: rmse "), "{stdout}");
    assert!(lines[n - 2].starts_with("als-implicit: precision at 10 "), "{stdout}");
    let rmse: f64 =
        lines[n - 4]["baseline: rmse ".len()..].split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(lines[n - 1], format!("test rmse (baseline): {rmse:.4}"));
    // metrics.csv: a row per algorithm, its name first; the checkpoint keeps the numbers.
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("algo,rmse,mae,"), "{csv}");
    let first: Vec<&str> = rows[1..].iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(first, ["baseline", "mf", "als-implicit"]);
    let baseline_rmse: f64 = rows[1].split(',').nth(1).unwrap().parse().unwrap();
    assert_eq!(format!("{baseline_rmse:.4}"), format!("{rmse:.4}"));
    // Progress (stderr): one summary line per algorithm, by name.
    for (i, a) in ["baseline", "mf", "als-implicit"].iter().enumerate() {
        assert!(stderr.lines().any(|l| l.starts_with(&format!("algo {a}  rmse "))), "{i} {a}: {stderr}");
    }
    assert!(!stderr.contains("algo_index") && !csv.contains("algo_index"));
    // curves.png is drawn (grouped bars; their layout is tested in src/train/plot.rs).
    let png = std::fs::read(dir.join("curves.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

/// stderr is a pipe here, not a terminal: instead of a bar, plain progress lines, one per step
/// with `GLASSGRAD_PROGRESS_SECS=0`, only the first of each epoch with the default 10 s (the
/// epoch takes well under that).
#[test]
fn without_a_terminal_progress_is_plain_lines_with_elapsed_and_eta() {
    let dir = tmp_dir("progress");
    let out = dir.join("every");
    let (_, err, ok) = glassgrad_env(
        &["train", "digits", "--epochs", "2", "--out", out.to_str().unwrap()],
        &[(glassgrad::train::PROGRESS_SECS, "0")],
    );
    assert!(ok, "{err}");
    // digits: 1,797 rows, 20 % held out, batches of 32: 1,438 rows in 45 steps per epoch.
    let steps: Vec<&str> = err.lines().filter(|l| l.starts_with("epoch 1/2  step ")).collect();
    assert_eq!(steps.len(), 45, "{err}");
    assert!(steps[0].starts_with("epoch 1/2  step 1/45  loss "), "{}", steps[0]);
    assert!(
        steps[44].starts_with("epoch 1/2  step 45/45  loss ") && steps[44].ends_with("eta 0s"),
        "{}",
        steps[44]
    );
    assert!(steps[0].contains(" samples/s  elapsed ") && steps[0].contains("  eta "), "{}", steps[0]);
    assert_eq!(err.lines().filter(|l| l.starts_with("epoch 2/2  step ")).count(), 45);
    // The epoch's summary line follows its steps.
    assert!(err.lines().any(|l| l.starts_with("epoch 1  train_loss ")), "{err}");
    let out = dir.join("default");
    let (_, err, ok) = glassgrad(&["train", "digits", "--epochs", "2", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let steps: Vec<&str> = err.lines().filter(|l| l.contains("  step ")).collect();
    assert_eq!(steps.len(), 2, "the first step of each epoch: {err}");
    assert!(steps[1].starts_with("epoch 2/2  step 1/45  loss "), "{err}");
    // --quiet: nothing.
    let out = dir.join("quiet");
    let (_, err, ok) = glassgrad_env(
        &["train", "digits", "--epochs", "1", "--quiet", "--out", out.to_str().unwrap()],
        &[(glassgrad::train::PROGRESS_SECS, "0")],
    );
    assert!(ok && !err.contains("step"), "{err}");
}
