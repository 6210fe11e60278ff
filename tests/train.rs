//! `glassgrad train` / `glassgrad eval` on the `digits` model: the output folder, `--resume`
//! matching an uninterrupted run bit for bit, the same final loss on 1 and 2 threads (child
//! processes of the built binary), the headline and JSON lines.

use std::path::{Path, PathBuf};
use std::process::Command;

use glassgrad::Generator;
use glassgrad::checkpoint::{load_state_dict, read_checkpoint};
use glassgrad::jobs::{EvalArgs, TrainArgs, eval, train};
use glassgrad::models::digits::DigitsMlp;

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassgrad-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn args(epochs: u64, out: &Path) -> TrainArgs {
    TrainArgs { epochs: Some(epochs), out: Some(out.to_path_buf()), quiet: true, ..Default::default() }
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    (header, rows)
}

/// Checks the PNG signature, the IHDR size and the closing IEND chunk.
fn check_png(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&b[12..16], b"IHDR");
    assert_eq!(&b[b.len() - 8..b.len() - 4], b"IEND");
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn train_digits_writes_metrics_curves_and_a_loadable_checkpoint() {
    let dir = tmp_dir("run");
    let m = train("digits", &args(3, &dir)).unwrap();
    let (header, rows) = csv_rows(&dir.join("metrics.csv"));
    assert_eq!(
        header,
        ["epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "samples_per_s"]
    );
    assert_eq!(rows.len(), 3, "one row per epoch");
    assert_eq!(rows.iter().map(|r| r[0]).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
    assert!(rows[2][1] < rows[0][1], "training loss falls: {rows:?}");
    assert_eq!(check_png(&dir.join("curves.png")), (1200, 500));
    for e in 1..=3 {
        assert!(dir.join(format!("checkpoints/epoch_{e:03}.safetensors")).exists());
    }
    // The headline is the last epoch's held-out accuracy; 3 epochs already reach > 85 %.
    let acc = m.get("accuracy").unwrap();
    assert_eq!(acc, rows[2][4]);
    assert!(acc > 0.85, "held-out accuracy {acc}");
    assert_eq!(m.get("final_loss").unwrap(), rows[2][1]);
    let lines = m.human_lines();
    assert_eq!(lines.last().unwrap(), &format!("held-out accuracy: {acc:.4}"));
    let json: serde_json::Value = serde_json::from_str(&m.json_line()).unwrap();
    assert_eq!(json["model"], "digits");
    assert_eq!(json["accuracy"].as_f64().unwrap(), acc);
    assert_eq!(json["epochs"].as_u64(), Some(3), "a count is an integer in JSON");
    assert!(m.json_line().contains(",\"epochs\":3,"), "{}", m.json_line());

    // model.safetensors loads into a fresh model; the checkpoint records the run.
    let model = DigitsMlp::new(&mut Generator::new(42)).unwrap();
    load_state_dict(dir.join("model.safetensors"), &model).unwrap();
    let st = read_checkpoint(dir.join("model.safetensors")).unwrap().train_state().unwrap();
    assert_eq!((st.epoch, st.loader_epoch, st.history.len()), (3, 3, 3));
    assert_eq!(st.meta["model"], "digits");

    // eval on another file of the same layout (plain CSV, the first 200 rows of the data set).
    let text = {
        use std::io::Read;
        let mut s = String::new();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz");
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut s).unwrap();
        s.lines().take(200).collect::<Vec<_>>().join("\n")
    };
    let csv = dir.join("some_digits.csv");
    std::fs::write(&csv, text).unwrap();
    let ev = eval(
        "digits",
        &EvalArgs { checkpoint: dir.join("model.safetensors"), data: csv.clone(), json: false },
    )
    .unwrap();
    let ev_acc = ev.get("accuracy").unwrap();
    assert_eq!(ev.get("samples"), Some(200.0));
    assert!(ev_acc > 0.8, "eval accuracy {ev_acc}");
    // The file holds training rows too: the headline says what it measured on what.
    assert_eq!(ev.human_lines().last().unwrap(), &format!("accuracy on {}: {ev_acc:.4}", csv.display()));
    assert!(ev.json_line().contains("\"samples\":200,"), "{}", ev.json_line());
    assert!(ev.json_line().starts_with("{\"model\":\"digits\",\"accuracy\":"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_from_epoch_two_matches_the_uninterrupted_run() {
    let dir = tmp_dir("resume");
    let (full, resumed) = (dir.join("full"), dir.join("resumed"));
    let a = train("digits", &args(4, &full)).unwrap();
    let mut r = args(4, &resumed);
    r.resume = Some(full.join("checkpoints/epoch_002.safetensors"));
    let b = train("digits", &r).unwrap();
    let (fa, fb) = (a.get("final_loss").unwrap(), b.get("final_loss").unwrap());
    assert_eq!(fa.to_bits(), fb.to_bits(), "final loss {fa} vs {fb}");
    assert_eq!(a.get("accuracy"), b.get("accuracy"));
    // The resumed run really started at epoch 3 (it did not redo the run from scratch).
    let mut written: Vec<String> = std::fs::read_dir(resumed.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["epoch_003.safetensors", "epoch_004.safetensors"]);
    // The resumed run's metrics.csv holds all four epochs, equal to the full run's but for speed.
    let ((_, ra), (_, rb)) = (csv_rows(&full.join("metrics.csv")), csv_rows(&resumed.join("metrics.csv")));
    assert_eq!(rb.len(), 4);
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x[..5], y[..5]);
    }
    // Both final checkpoints hold the same parameters, bit for bit.
    let (ca, cb) = (
        read_checkpoint(full.join("model.safetensors")).unwrap(),
        read_checkpoint(resumed.join("model.safetensors")).unwrap(),
    );
    for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "optim.state.0.exp_avg_sq"] {
        assert_eq!(
            ca.tensors[name].to_vec::<f32>().unwrap(),
            cb.tensors[name].to_vec::<f32>().unwrap(),
            "{name}"
        );
    }
    // Resuming with another seed would not continue the same run: refused, naming the file.
    let mut bad = args(4, &dir.join("bad"));
    bad.resume = r.resume.clone();
    bad.seed = 1;
    let e = train("digits", &bad).unwrap_err().to_string();
    assert!(e.contains("epoch_002.safetensors") && e.contains("seed"), "{e}");
    assert!(train("no-such-model", &args(1, &dir)).unwrap_err().to_string().contains("digits"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the built binary; returns (stdout, stderr).
fn run(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassgrad")).args(args).output().unwrap();
    let (so, se) =
        (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    assert!(out.status.success(), "glassgrad {args:?} failed:\n{se}");
    (so, se)
}

#[test]
fn same_final_loss_on_one_and_two_threads() {
    let dir = tmp_dir("threads");
    let (d1, d2) = (dir.join("t1"), dir.join("t2"));
    let (json1, human) = run(&[
        "train",
        "digits",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--quiet",
        "--json",
        "--out",
        d1.to_str().unwrap(),
    ]);
    let (json, stderr) =
        run(&["train", "digits", "--epochs", "2", "--threads", "2", "--json", "--out", d2.to_str().unwrap()]);
    // Human output (on stderr with --json): the last line is the headline; `final loss` rounded.
    let last = human.lines().last().unwrap();
    assert!(last.starts_with("held-out accuracy: 0."), "{human}");
    let v1: serde_json::Value = serde_json::from_str(json1.trim()).unwrap();
    let loss1 = v1["final_loss"].as_f64().unwrap();
    let shown = human.lines().find_map(|l| l.strip_prefix("final loss: ")).unwrap();
    assert_eq!(shown, format!("{loss1:.4}"), "{human}");
    // JSON: one object per line on stdout, nothing else; progress and human lines on stderr.
    assert_eq!(json.lines().count(), 1, "{json}");
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["model"], "digits");
    let loss2 = v["final_loss"].as_f64().unwrap();
    assert_eq!(loss1.to_bits(), loss2.to_bits(), "1 thread {loss1}, 2 threads {loss2}");
    assert!(stderr.lines().last().unwrap().starts_with("held-out accuracy: "), "{stderr}");
    assert!(stderr.contains("epoch 2  train_loss"), "per-epoch lines on stderr: {stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
