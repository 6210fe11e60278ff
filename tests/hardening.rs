//! Bad input, one test per class (issue #17): non-finite numbers in any reader, values outside
//! their domain, arguments no run can use, a diverging run, and run folders that a run must not
//! damage. Each bad input must give an error naming what is wrong and where, and write nothing.
//! The fuzz-style test at the end feeds random mutations of valid files to every reader.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use glassgrad::checkpoint::read_checkpoint;
use glassgrad::data::csv::read_numeric_csv;
use glassgrad::data::market::load_sp500;
use glassgrad::data::text::load_sentiment_csv_classes;
use glassgrad::models::cnn::load_mnist;
use glassgrad::models::cnn_market::load_bars;
use glassgrad::models::credit;
use glassgrad::models::digits::load_digits;
use glassgrad::recsys::RatingScale;
use glassgrad::recsys::data::{RatingsLayout, load_ratings};
use glassgrad::rng::Generator;

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassgrad-hardening-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassgrad")).current_dir(cwd).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name)
}

/// The bundled file `name` (gzip) as text lines.
fn lines_of(name: &str) -> Vec<String> {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(bundled(name)).unwrap()).read_to_string(&mut s).unwrap();
    s.lines().map(str::to_string).collect()
}

/// `lines` with field `col` (0-based, split on plain commas) of line `line` (1-based) replaced.
fn with_field(lines: &[String], line: usize, col: usize, value: &str) -> String {
    let mut out = lines.to_vec();
    let mut fields: Vec<&str> = out[line - 1].split(',').collect();
    fields[col] = value;
    out[line - 1] = fields.join(",");
    out.join("\n") + "\n"
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn err<T>(r: glassgrad::error::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn non_finite_numbers_are_refused_by_every_reader_with_file_line_and_column() {
    let dir = tmp_dir("nonfinite");
    let digits = lines_of("digits.csv.gz")[..60].to_vec();
    let mnist = lines_of("mnist_5k.csv.gz")[..30].to_vec();
    let sp = lines_of("sp500_daily_1950_2018.csv.gz")[..400].to_vec();
    for (value, why) in
        [("nan", "is NaN"), ("inf", "is infinite"), ("-Infinity", "is infinite"), ("1e400", "overflows f64")]
    {
        let f = write(&dir, "digits.csv", &with_field(&digits, 5, 3, value));
        let e = err(load_digits(&f));
        assert!(e.contains("digits.csv: line 5, column 4:") && e.contains(why), "{e}");
        let f = write(&dir, "mnist.csv", &with_field(&mnist, 7, 100, value));
        let e = err(load_mnist(&f, 1));
        assert!(e.contains("mnist.csv: line 7, column 101:") && e.contains(why), "{e}");
        let f = write(&dir, "sp.csv", &with_field(&sp, 300, 5, value));
        let e = err(load_sp500(&f));
        assert!(e.contains("sp.csv: line 300, column 6 (Adj.Close):") && e.contains(why), "{e}");
        let f = write(&dir, "sp.csv", &with_field(&sp, 300, 6, value));
        let e = err(load_bars(&f));
        assert!(e.contains("sp.csv: line 300, column 7 (Volume):") && e.contains(why), "{e}");
        let f =
            write(&dir, "ratings.csv", &format!("userId,movieId,rating,timestamp\n1,2,4,9\n3,4,{value},9\n"));
        let e = err(load_ratings(&f, &RatingsLayout::default(), RatingScale::new(0.5, 5.0).unwrap()));
        assert!(e.contains("ratings.csv: line 3, column 3 (rating): rating") && e.contains(why), "{e}");
        let f = write(
            &dir,
            "tweets.csv",
            &format!("sentiment,confidence,text\nneutral,1,hi\npositive,{value},yes\n"),
        );
        let e = err(load_sentiment_csv_classes(&f, &["negative", "neutral", "positive"]));
        assert!(e.contains("tweets.csv: line 3, column 2 (confidence):") && e.contains(why), "{e}");
    }
    // The credit file has CRLF line ends: the line is still the one the file shows.
    let credit_lines = lines_of("german_credit.csv.gz");
    let mut rows: Vec<String> = credit_lines.iter().map(|l| l.trim_end_matches('\r').to_string()).collect();
    let mut f: Vec<&str> = rows[8].splitn(3, ',').collect();
    f[1] = "nan";
    rows[8] = f.join(",");
    let p = write(&dir, "credit.csv", &(rows.join("\r\n") + "\r\n"));
    let e = err(credit::load(&p));
    assert!(e.contains("credit.csv: line 9, column 2 (duration_in_month): \"nan\" is NaN"), "{e}");
    // Through the command: exit status 2, the message, and no run folder.
    let f = write(&dir, "digits.csv", &with_field(&digits, 5, 3, "nan"));
    let o = run_in(&dir, &["train", "digits", "--data", f.to_str().unwrap(), "--quiet", "--out", "o"]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 5, column 4"), "{}", stderr(&o));
    assert!(!dir.join("o").exists() && !dir.join("runs").exists());
    // `eval` reads through the same loaders.
    let o =
        run_in(&dir, &["eval", "digits", "--checkpoint", "none.safetensors", "--data", f.to_str().unwrap()]);
    assert!(!o.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn values_outside_their_domain_are_named_errors() {
    let dir = tmp_dir("domain");
    let digits = lines_of("digits.csv.gz")[..60].to_vec();
    let e = err(load_digits(&write(&dir, "d.csv", &with_field(&digits, 4, 64, "11"))));
    assert!(e.contains("line 4, column 65: label 11 is not a digit"), "{e}");
    let e = err(load_digits(&write(&dir, "d.csv", &with_field(&digits, 4, 10, "17"))));
    assert!(e.contains("line 4, column 11: pixel 17 is outside 0–16"), "{e}");
    let mnist = lines_of("mnist_5k.csv.gz")[..30].to_vec();
    let e = err(load_mnist(write(&dir, "m.csv", &with_field(&mnist, 3, 200, "-1")), 1));
    assert!(e.contains("line 3, column 201: pixel -1 is outside 0–255"), "{e}");
    // Credit: the label, a category code and a numeric column.
    let rows: Vec<String> =
        lines_of("german_credit.csv.gz").iter().map(|l| l.trim_end_matches('\r').to_string()).collect();
    let credit_with = |line: usize, from: &str, to: &str| {
        let mut r = rows.clone();
        r[line - 1] = r[line - 1].replacen(from, to, 1);
        assert_ne!(r[line - 1], rows[line - 1]);
        write(&dir, "c.csv", &(r.join("\n") + "\n"))
    };
    let last = |l: &str| l.rsplit(',').next().unwrap().to_string();
    let label = last(&rows[5]);
    let e = err(credit::load(credit_with(6, &format!(",{label}"), ",gud")));
    assert!(e.contains("line 6, column 21 (creditability): \"gud\" is neither"), "{e}");
    let e = err(credit::load(credit_with(3, ",radio/television,", ",banana,")));
    assert!(e.contains("line 3, column 4 (purpose): \"banana\" is not one of the column's codes"), "{e}");
    let e = err(credit::load(credit_with(3, ",48,", ",banana,")));
    assert!(e.contains("line 3, column 2 (duration_in_month): \"banana\" is not a number"), "{e}");
    let e = err(credit::load(credit_with(3, ",48,", ",-48,")));
    assert!(e.contains("line 3, column 2 (duration_in_month): -48 is negative"), "{e}");
    // Ratings: outside the scale, a negative id, an empty test file.
    let scale = RatingScale::new(0.5, 5.0).unwrap();
    let layout = RatingsLayout::default();
    let e =
        err(load_ratings(write(&dir, "r.csv", "userId,movieId,rating,timestamp\n1,2,7,0\n"), &layout, scale));
    assert!(e.contains("line 2, column 3 (rating): rating 7 is outside the declared scale [0.5, 5]"), "{e}");
    let e = err(load_ratings(
        write(&dir, "r.csv", "userId,movieId,rating,timestamp\n1,2,3,0\n-4,2,3,0\n"),
        &layout,
        scale,
    ));
    assert!(e.contains("line 3, column 1 (userId): user id -4 is negative"), "{e}");
    let mut good = String::from("userId,movieId,rating,timestamp\n");
    for u in 1..=20 {
        for i in 1..=5 {
            good.push_str(&format!("{u},{i},{},0\n", 1 + (u * i) % 5));
        }
    }
    let train = write(&dir, "train.csv", &good);
    let empty = write(&dir, "empty.csv", "userId,movieId,rating,timestamp\n");
    let o = run_in(
        &dir,
        &[
            "train",
            "recommender",
            "--train",
            train.to_str().unwrap(),
            "--test",
            empty.to_str().unwrap(),
            "--algo",
            "baseline",
            "--quiet",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("empty.csv: the test file holds no ratings"), "{}", stderr(&o));
    for (args, says) in [
        (&["--k", "0"][..], "--k must be at least 1"),
        (&["--threshold", "9"][..], "--threshold 9 is not a rating on the scale"),
        (
            &["--synthetic-ratings", "30"][..],
            "the split leaves 6 test rows of 30 in all; each side needs at least 10 (at this split, at least 50 rows in all)",
        ),
    ] {
        let mut a = vec!["train", "recommender", "--algo", "baseline", "--quiet"];
        a.extend_from_slice(args);
        let o = run_in(&dir, &a);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    // A file too small to split: 5 images.
    let small = write(&dir, "small.csv", &(digits[..5].join("\n") + "\n"));
    let o = run_in(&dir, &["train", "digits", "--data", small.to_str().unwrap(), "--quiet"]);
    assert!(
        stderr(&o).contains("the split leaves 4 training rows of 5 in all; each side needs at least 10"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("runs").exists(), "a refused run left a folder");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_diverging_run_stops_at_the_step_and_writes_no_nan_checkpoint() {
    let dir = tmp_dir("diverge");
    let o = run_in(&dir, &["train", "digits", "--epochs", "2", "--lr", "1e30", "--quiet", "--out", "o"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("the training loss is NaN at epoch 1, step ") && e.contains("learning rate 1e30"),
        "{e}"
    );
    assert!(
        !dir.join("o/model.safetensors").exists()
            && !dir.join("o/checkpoints/epoch_001.safetensors").exists()
    );
    assert!(!dir.join("o").exists(), "nothing was written, so no folder stays: {e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_folders_are_never_overwritten_unasked() {
    let dir = tmp_dir("folders");
    let train = |extra: &[&str]| {
        let mut a = vec!["train", "digits"];
        a.extend_from_slice(extra);
        if !extra.contains(&"--epochs") {
            a.extend(["--epochs", "1"]);
        }
        run_in(&dir, &a)
    };
    // Without --out: runs/digits, then runs/digits-2, each printed at the start.
    let o = train(&[]);
    assert!(o.status.success() && stderr(&o).starts_with("run folder: runs/digits\n"), "{}", stderr(&o));
    let first = std::fs::read(dir.join("runs/digits/model.safetensors")).unwrap();
    let o = train(&[]);
    assert!(stderr(&o).starts_with("run folder: runs/digits-2\n"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.join("runs/digits/model.safetensors")).unwrap(),
        first,
        "the first run changed"
    );
    // An explicit --out holding a run: an error naming the files and the ways out.
    let o = train(&["--out", "runs/digits", "--quiet"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("holds another run's files (metrics.csv, curves.png, model.safetensors, checkpoints); give --force"), "{}", stderr(&o));
    // --force replaces the run's files and keeps the others.
    std::fs::write(dir.join("runs/digits/notes.txt"), "mine").unwrap();
    std::fs::write(dir.join("runs/digits/checkpoints/epoch_009.safetensors"), "old").unwrap();
    let o = train(&["--out", "runs/digits", "--force", "--quiet", "--seed", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.join("runs/digits/checkpoints/epoch_009.safetensors").exists());
    assert_eq!(std::fs::read_to_string(dir.join("runs/digits/notes.txt")).unwrap(), "mine");
    // --epochs 0 and a resume with nothing left: errors that write nothing.
    let before = std::fs::read(dir.join("runs/digits/model.safetensors")).unwrap();
    let o = train(&["--epochs", "0", "--quiet"]);
    assert!(stderr(&o).contains("--epochs must be at least 1"), "{}", stderr(&o));
    assert!(!dir.join("runs/digits-3").exists());
    let ckpt = "runs/digits/checkpoints/epoch_001.safetensors";
    let o = train(&["--resume", ckpt, "--quiet"]);
    assert!(
        stderr(&o).contains("the checkpoint is at epoch 1, so --epochs 1 leaves nothing to run"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dir.join("runs/digits/model.safetensors")).unwrap(), before);
    // A resume continues in the checkpoint's folder and cleans what a killed write left there;
    // metrics.csv and model.safetensors then describe the same epochs.
    let stale = dir.join("runs/digits/checkpoints/.epoch_002.safetensors.tmp-4194999");
    std::fs::write(&stale, "partial").unwrap();
    let o = train(&["--resume", ckpt, "--epochs", "2", "--seed", "3"]);
    assert!(o.status.success() && stderr(&o).starts_with("run folder: runs/digits\n"), "{}", stderr(&o));
    assert!(!stale.exists());
    let history =
        read_checkpoint(dir.join("runs/digits/model.safetensors")).unwrap().train_state().unwrap().history;
    let csv = std::fs::read_to_string(dir.join("runs/digits/metrics.csv")).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(csv.lines().count(), 1 + history.len(), "{csv}");
    for (row, line) in history.iter().zip(csv.lines().skip(1)) {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        assert_eq!(&cells, row);
    }
    // A run refused before its first epoch leaves no empty folders behind.
    let o = train(&["--out", "fresh/a/b", "--data", "missing.csv", "--quiet"]);
    assert!(!o.status.success());
    assert!(!dir.join("fresh").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn options_of_other_models_are_refused_by_group() {
    let dir = tmp_dir("groups");
    for (model, flag, value, says) in [
        ("digits", "--folds", "3", "the credit options apply to `train credit` only"),
        ("cnn", "--k", "5", "the recommender options apply to `train recommender` only"),
        ("credit", "--train", "x.csv", "the recommender options apply to `train recommender` only"),
        ("recommender", "--folds", "3", "the credit options apply to `train credit` only"),
        ("credit", "--resume", "x.safetensors", "`train credit` has no use for --resume"),
        ("recommender", "--epochs", "3", "`train recommender` has no use for --epochs"),
    ] {
        let o = run_in(&dir, &["train", model, flag, value, "--quiet"]);
        assert!(!o.status.success(), "{model} {flag}");
        assert!(stderr(&o).contains(says), "{model} {flag}: {}", stderr(&o));
    }
    assert!(!dir.join("runs").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One random edit of `text`: a byte replaced, deleted or duplicated, a field replaced by a
/// troublesome token, or a line dropped or repeated.
fn mutate(text: &str, rng: &mut Generator) -> String {
    const TOKENS: &[&str] = &[
        "nan",
        "inf",
        "-inf",
        "1e400",
        "-1",
        "",
        "\"",
        ",",
        "\r",
        "\n",
        "banana",
        "1e-400",
        "9999999999999999999999",
        " ",
    ];
    let mut b = text.as_bytes().to_vec();
    let pick = |rng: &mut Generator, n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    match pick(rng, 5) {
        0 if !b.is_empty() => {
            let i = pick(rng, b.len());
            b[i] = b" ,.-e0123456789\"\n\rnai"[pick(rng, 21)];
        }
        1 if !b.is_empty() => {
            b.remove(pick(rng, b.len()));
        }
        2 if !b.is_empty() => {
            let i = pick(rng, b.len());
            b.insert(i, b[i]);
        }
        3 => {
            let commas: Vec<usize> =
                b.iter().enumerate().filter(|(_, c)| **c == b',').map(|(i, _)| i).collect();
            if let Some(&at) = commas.get(pick(rng, commas.len())) {
                let end = b[at + 1..]
                    .iter()
                    .position(|c| *c == b',' || *c == b'\n')
                    .map_or(b.len(), |e| at + 1 + e);
                let tok = TOKENS[pick(rng, TOKENS.len())].as_bytes();
                b.splice(at + 1..end, tok.iter().copied());
            }
        }
        _ => {
            let mut lines: Vec<&[u8]> = b.split(|c| *c == b'\n').collect();
            let i = pick(rng, lines.len());
            if pick(rng, 2) == 0 {
                lines.remove(i);
            } else {
                lines.insert(i, lines[i]);
            }
            b = lines.join(&b'\n');
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

#[test]
fn readers_survive_random_mutations_of_valid_files() {
    let dir = tmp_dir("fuzz");
    let digits = lines_of("digits.csv.gz")[..20].join("\n") + "\n";
    let mnist = lines_of("mnist_5k.csv.gz")[..3].join("\n") + "\n";
    let sp = lines_of("sp500_daily_1950_2018.csv.gz")[..40].join("\n") + "\n";
    let credit_text = lines_of("german_credit.csv.gz")[..30].join("\n") + "\n";
    let ratings = "userId,movieId,rating,timestamp\n1,10,4,100\n1,11,3.5,101\n2,10,5,102\n3,12,0.5,103\n";
    let tweets =
        "sentiment,confidence,text\nneutral,1,\"hello, world\"\npositive,0.6,good\nnegative,0.3,bad day\n";
    let scale = RatingScale::new(0.5, 5.0).unwrap();
    let mut rng = Generator::new(17);
    let (mut ok, mut refused) = (0, 0);
    for round in 0..150 {
        // Up to three edits in a row.
        let edits = 1 + round % 3;
        let mut m = |t: &str| (0..edits).fold(t.to_string(), |acc, _| mutate(&acc, &mut rng));
        let cases: Vec<(String, String)> = vec![
            ("digits.csv".into(), m(&digits)),
            ("mnist.csv".into(), m(&mnist)),
            ("sp.csv".into(), m(&sp)),
            ("credit.csv".into(), m(&credit_text)),
            ("ratings.csv".into(), m(ratings)),
            ("tweets.csv".into(), m(tweets)),
        ];
        for (name, text) in cases {
            let p = write(&dir, &name, &text);
            let finite = std::panic::catch_unwind(|| -> Option<bool> {
                match name.as_str() {
                    "digits.csv" => load_digits(&p).ok().map(|(x, _)| all_finite(&x.to_f64_vec())),
                    "mnist.csv" => load_mnist(&p, 1).ok().map(|m| all_finite(&m.images.to_f64_vec())),
                    "sp.csv" => {
                        let a = load_sp500(&p)
                            .ok()
                            .map(|d| d.iter().all(|d| d.adj_close.is_finite() && d.adj_close > 0.0));
                        let b = load_bars(&p)
                            .ok()
                            .map(|b| b.iter().all(|b| all_finite(&[b.close, b.high, b.low, b.volume])));
                        a.or(b)
                    }
                    "credit.csv" => credit::load(&p).ok().map(|c| {
                        c.numeric.iter().all(|n| {
                            let col = c.table.headers.as_ref().unwrap().iter().position(|h| h == n).unwrap();
                            c.table
                                .rows
                                .iter()
                                .all(|r| r[col].trim().parse::<f64>().is_ok_and(f64::is_finite))
                        })
                    }),
                    "ratings.csv" => load_ratings(&p, &RatingsLayout::default(), scale)
                        .ok()
                        .map(|d| d.ratings.iter().all(|r| r.value.is_finite() && scale.contains(r.value))),
                    _ => load_sentiment_csv_classes(&p, &["negative", "neutral", "positive"])
                        .ok()
                        .map(|t| t.labels.iter().all(|&l| (0..3).contains(&l))),
                }
            });
            match finite {
                Err(_) => panic!("a reader panicked on a mutated {name}:\n{text}"),
                Ok(Some(true)) => ok += 1,
                Ok(Some(false)) => {
                    panic!("a reader accepted non-finite or out-of-domain values from {name}:\n{text}")
                }
                Ok(None) => refused += 1,
            }
        }
    }
    // Both outcomes must occur, or the mutations test nothing.
    assert!(ok > 50 && refused > 50, "{ok} accepted, {refused} refused");
    let _ = read_numeric_csv(write(&dir, "x.csv", "1,2\n"), false).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
