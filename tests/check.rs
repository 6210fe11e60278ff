//! `glassgrad check`: the PyTorch cases in tests/cases pass, and the runner itself reports what
//! the case format (CASES.md) asks: PASS/FAIL lines that say what and where, the summary line,
//! exit status 0 / 1 / 2, failures (never skips) for unknown ops and attributes, no panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use glassgrad::Tensor;
use glassgrad::cases::{self, Attrs, Failure, file};
use glassgrad::device::Device;

/// Ops that have cases in tests/cases but no dispatch entry yet: their cases must fail as
/// "unknown op". Once an op is dispatched, its name comes out of this list; with the list empty
/// the whole folder must pass.
const PENDING_OPS: &[&str] = &[];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("cases")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn glassgrad_check(args: &[&Path], extra: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_glassgrad"))
        .arg("check")
        .args(args)
        .args(extra)
        .output()
        .expect("run glassgrad");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh, empty folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("glassgrad-check-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn f64s(v: &[f64]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

/// An `add` case on f64 vectors: a + b, with grad_output g; the expected values as given.
fn write_add(path: &Path, meta: &[(&str, &str)], extra: &[(&str, &Tensor)], want: &[f64], grad_a: &[f64]) {
    let (a, b) = (f64s(&[1.0, 2.0, 3.0]), f64s(&[1.0, 1.0, 1.0]));
    let g = f64s(&[0.5, -1.0, 2.0]);
    let (want, grad_a, grad_b) = (f64s(want), f64s(grad_a), f64s(&[0.5, -1.0, 2.0]));
    let mut tensors: Vec<(&str, &Tensor)> = vec![
        ("input.a", &a),
        ("input.b", &b),
        ("grad_output.0", &g),
        ("expected.output.0", &want),
        ("expected.grad.a", &grad_a),
        ("expected.grad.b", &grad_b),
    ];
    tensors.extend_from_slice(extra);
    let mut metadata = vec![("op", "add")];
    metadata.extend_from_slice(meta);
    file::write(path, &metadata, &tensors).unwrap();
}

const RIGHT: [f64; 3] = [2.0, 3.0, 4.0];
const GRAD: [f64; 3] = [0.5, -1.0, 2.0];

fn reason(path: &Path) -> String {
    let o = cases::run_case(path, Device::Cpu);
    match o.result {
        Ok(_) => panic!("expected a failure: {}", o.line()),
        Err(why) => why.to_string(),
    }
}

#[test]
fn pytorch_cases_pass() {
    let run = glassgrad_check(&[&cases_dir()], &[]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let (summary, case_lines) = lines.split_last().expect("output");
    let mut pending = 0;
    let mut ops_seen = std::collections::BTreeSet::new();
    for line in case_lines {
        let fields: Vec<&str> = line.splitn(4, ' ').collect();
        assert!(fields.len() == 4, "malformed line: {line}");
        let op = fields[2];
        ops_seen.insert(op.to_string());
        if PENDING_OPS.contains(&op) {
            assert!(
                line.starts_with("FAIL") && line.contains(&format!("unknown op `{op}`")),
                "`{op}` is dispatched now: take it out of PENDING_OPS ({line})"
            );
            pending += 1;
        } else {
            assert!(line.starts_with("PASS"), "{line}");
        }
    }
    assert_eq!(*summary, format!("{} passed, {pending} failed", case_lines.len() - pending));
    assert_eq!(run.code, if pending == 0 { 0 } else { 1 }, "{}", run.stderr);
    // Every dispatched op has cases, and every case's op is dispatched or pending.
    for spec in cases::OPS {
        assert!(ops_seen.contains(spec.name), "no case for dispatched op `{}`", spec.name);
    }
    for op in &ops_seen {
        assert!(cases::OPS.iter().any(|s| s.name == op) || PENDING_OPS.contains(&op.as_str()), "{op}");
    }
    assert!(case_lines.len() >= 100, "only {} cases", case_lines.len());
}

#[test]
fn pass_line_and_exit_status() {
    let tmp = Scratch::new("pass");
    let dir = tmp.0.clone();
    let path = dir.join("ok.safetensors");
    write_add(&path, &[], &[], &RIGHT, &GRAD);
    let run = glassgrad_check(&[&path], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        format!("PASS {} add max_abs=0.000e0 max_rel=0.000e0\n1 passed, 0 failed\n", path.display())
    );
}

#[test]
fn wrong_value_fails_naming_tensor_index_got_and_want() {
    let tmp = Scratch::new("wrong");
    let dir = tmp.0.clone();
    let out = dir.join("wrong_output.safetensors");
    write_add(&out, &[], &[], &[2.0, 3.0, 5.0], &GRAD);
    let grad = dir.join("wrong_grad.safetensors");
    write_add(&grad, &[], &[], &RIGHT, &[0.5, -1.5, 2.0]);
    let run = glassgrad_check(&[&dir], &[]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with(&format!("FAIL {} add ", grad.display())), "{}", lines[0]);
    assert!(lines[0].contains("expected.grad.a at flat index 1 [1]: got -1e0, want -1.5e0"), "{}", lines[0]);
    assert!(lines[1].starts_with(&format!("FAIL {} add ", out.display())), "{}", lines[1]);
    assert!(lines[1].contains("expected.output.0 at flat index 2 [2]: got 4e0, want 5e0"), "{}", lines[1]);
    assert!(lines[1].contains("1 of 3 elements"), "{}", lines[1]);
    assert_eq!(lines[2], "0 passed, 2 failed");
}

#[test]
fn tolerances_default_by_dtype_and_override() {
    let tmp = Scratch::new("tol");
    let dir = tmp.0.clone();
    let off = [2.0, 3.0, 4.0 + 1e-6];
    let strict = dir.join("strict.safetensors");
    write_add(&strict, &[], &[], &off, &GRAD);
    assert!(reason(&strict).contains("expected.output.0 at flat index 2"));
    let loose = dir.join("loose.safetensors");
    write_add(&loose, &[("atol", "1e-5")], &[], &off, &GRAD);
    let o = cases::run_case(&loose, Device::Cpu);
    let stats = o.result.expect("passes with atol 1e-5");
    assert!((stats.max_abs - 1e-6).abs() < 1e-9 && (stats.max_rel - 1e-6 / 4.0).abs() < 1e-9, "{stats:?}");
    let rel = dir.join("rel.safetensors");
    write_add(&rel, &[("rtol", "1e-6")], &[], &off, &GRAD);
    assert!(cases::run_case(&rel, Device::Cpu).passed());
    let bad = dir.join("bad_atol.safetensors");
    write_add(&bad, &[("atol", "loose")], &[], &RIGHT, &GRAD);
    assert!(reason(&bad).contains("attribute `atol`"));
    // f32 defaults (atol 1e-5, rtol 1e-4) accept a difference of 1e-4 on a value of 4.
    let f32s = |v: &[f32]| Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap();
    let (a, b, want) = (f32s(&[1.0, 2.0, 3.0]), f32s(&[1.0, 1.0, 1.0]), f32s(&[2.0, 3.0, 4.0001]));
    let path = dir.join("f32.safetensors");
    let tensors = [("input.a", &a), ("input.b", &b), ("expected.output.0", &want)];
    file::write(&path, &[("op", "add")], &tensors).unwrap();
    assert!(cases::run_case(&path, Device::Cpu).passed());
}

#[test]
fn nan_never_passes_and_infinities_must_match() {
    let tmp = Scratch::new("nonfinite");
    let dir = tmp.0.clone();
    // log(0) = -inf with gradient g / 0 = +inf: the same infinities pass.
    let (x, g) = (f64s(&[0.0, 1.0]), f64s(&[1.0, 1.0]));
    let (y, dx) = (f64s(&[f64::NEG_INFINITY, 0.0]), f64s(&[f64::INFINITY, 1.0]));
    let path = dir.join("log.safetensors");
    let t = [("input.x", &x), ("grad_output.0", &g), ("expected.output.0", &y), ("expected.grad.x", &dx)];
    file::write(&path, &[("op", "log")], &t).unwrap();
    assert!(cases::run_case(&path, Device::Cpu).passed(), "{}", cases::run_case(&path, Device::Cpu).line());
    // The other infinity fails.
    let wrong = f64s(&[f64::INFINITY, 0.0]);
    let t = [("input.x", &x), ("expected.output.0", &wrong)];
    file::write(&path, &[("op", "log")], &t).unwrap();
    assert!(reason(&path).contains("got -inf, want inf"), "{}", reason(&path));
    // sqrt(-1) = NaN against an expected NaN still fails.
    let (x, nan) = (f64s(&[-1.0]), f64s(&[f64::NAN]));
    file::write(&path, &[("op", "sqrt")], &[("input.x", &x), ("expected.output.0", &nan)]).unwrap();
    assert!(reason(&path).contains("got NaN, want NaN"), "{}", reason(&path));
}

#[test]
fn unknown_op_and_unknown_attribute_fail() {
    let tmp = Scratch::new("unknown");
    let dir = tmp.0.clone();
    let attr = dir.join("attr.safetensors");
    write_add(&attr, &[("alpha", "2")], &[], &RIGHT, &GRAD);
    assert_eq!(reason(&attr), "unknown attribute `alpha` for op `add` (it takes: none)");
    let op = dir.join("op.safetensors");
    let x = f64s(&[1.0]);
    file::write(&op, &[("op", "frobnicate")], &[("input.x", &x), ("expected.output.0", &x)]).unwrap();
    assert!(reason(&op).starts_with("unknown op `frobnicate`"));
    let noop = dir.join("no_op.safetensors");
    file::write(&noop, &[], &[("input.x", &x)]).unwrap();
    assert!(reason(&noop).contains("no `op`"));
    let run = glassgrad_check(&[&dir], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains(&format!("FAIL {} ? no `op`", noop.display())), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("FAIL {} frobnicate unknown op", op.display())), "{}", run.stdout);
    assert!(run.stdout.ends_with("0 passed, 3 failed\n"));
}

#[test]
fn missing_and_unexpected_tensors_fail() {
    let tmp = Scratch::new("tensors");
    let dir = tmp.0.clone();
    let (a, want) = (f64s(&[1.0]), f64s(&[2.0]));
    let path = dir.join("case.safetensors");
    file::write(&path, &[("op", "add")], &[("input.a", &a), ("expected.output.0", &want)]).unwrap();
    assert_eq!(reason(&path), "missing tensor `input.b`");
    let c = f64s(&[0.0, 0.0, 0.0]);
    write_add(&path, &[], &[("input.c", &c)], &RIGHT, &GRAD);
    assert_eq!(reason(&path), "tensor `input.c`: op `add` has no input `c`");
    write_add(&path, &[], &[("expected.grads.a", &c)], &RIGHT, &GRAD);
    assert!(reason(&path).starts_with("tensor `expected.grads.a`: not a case tensor"));
    write_add(&path, &[], &[("expected.output.1", &c)], &RIGHT, &GRAD);
    assert!(reason(&path).contains("expected.output.1"), "{}", reason(&path));
    write_add(&path, &[], &[("expected.grad.z", &c)], &RIGHT, &GRAD);
    assert_eq!(reason(&path), "missing tensor `input.z`");
    // Float inputs share one dtype.
    let b32 = Tensor::from_vec(vec![1.0f32], &[1]).unwrap();
    file::write(&path, &[("op", "add")], &[("input.a", &a), ("input.b", &b32), ("expected.output.0", &want)])
        .unwrap();
    assert!(reason(&path).contains("float inputs share one dtype"), "{}", reason(&path));
    // A case that compares nothing.
    file::write(&path, &[("op", "add")], &[("input.a", &a), ("input.b", &a)]).unwrap();
    assert!(reason(&path).contains("no expected.output"));
    // A glassgrad error (shapes that do not broadcast) is reported, not a panic.
    let b = f64s(&[1.0, 2.0]);
    file::write(&path, &[("op", "add")], &[("input.a", &c), ("input.b", &b), ("expected.output.0", &c)])
        .unwrap();
    assert!(reason(&path).starts_with("glassgrad error in forward: add"), "{}", reason(&path));
}

#[test]
fn absent_grad_output_means_zero_gradient() {
    let tmp = Scratch::new("zero_grad");
    let dir = tmp.0.clone();
    let (a, b, want, zeros) = (f64s(&[1.0, 2.0]), f64s(&[3.0, 4.0]), f64s(&[4.0, 6.0]), f64s(&[0.0, 0.0]));
    let path = dir.join("case.safetensors");
    let t = [("input.a", &a), ("input.b", &b), ("expected.output.0", &want), ("expected.grad.a", &zeros)];
    file::write(&path, &[("op", "add")], &t).unwrap();
    assert!(cases::run_case(&path, Device::Cpu).passed());
}

#[test]
fn attributes_are_json_with_defaults() {
    let tmp = Scratch::new("attrs");
    let dir = tmp.0.clone();
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let path = dir.join("sum.safetensors");
    let write = |meta: &[(&str, &str)], want: &Tensor| {
        let mut m = vec![("op", "sum")];
        m.extend_from_slice(meta);
        file::write(&path, &m, &[("input.x", &x), ("expected.output.0", want)]).unwrap();
        cases::run_case(&path, Device::Cpu)
    };
    let total = Tensor::scalar(21.0f64);
    assert!(write(&[], &total).passed());
    assert!(write(&[("dim", "null"), ("keepdim", "null")], &total).passed());
    let rows = Tensor::from_vec(vec![6.0f64, 15.0], &[2, 1]).unwrap();
    assert!(write(&[("dim", "[-1]"), ("keepdim", "true")], &rows).passed());
    let o = write(&[("keepdim", "yes")], &total);
    assert!(o.line().contains("attribute `keepdim`: value \"yes\" is not JSON"), "{}", o.line());
    let o = write(&[("keepdim", "1")], &total);
    assert!(o.line().contains("attribute `keepdim`: expected true or false, got 1"), "{}", o.line());
    // A required attribute left out.
    let p = dir.join("transpose.safetensors");
    file::write(&p, &[("op", "transpose"), ("dim0", "0")], &[("input.x", &x), ("expected.output.0", &x)])
        .unwrap();
    assert_eq!(reason(&p), "attribute `dim1`: required (an integer) and missing");
}

#[test]
fn pair_attributes_accept_one_integer() {
    const DECLARED: &[(&str, &str)] = &[("stride", "[1, 1]"), ("padding", "null"), ("kernel_size", "null")];
    let meta = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let a = Attrs::parse("pool", DECLARED, &meta(&[("stride", "2"), ("kernel_size", "[3, 1]")])).unwrap();
    assert_eq!(a.pair("stride").unwrap(), [2, 2]);
    assert_eq!(a.pair("kernel_size").unwrap(), [3, 1]);
    assert_eq!(a.pair_opt("padding").unwrap(), None);
    let a = Attrs::parse("pool", DECLARED, &meta(&[("stride", "null")])).unwrap();
    assert_eq!(a.pair("stride").unwrap(), [1, 1]);
    let a =
        Attrs::parse("pool", DECLARED, &meta(&[("stride", "[1, 2, 3]"), ("padding", "[-1, 0]")])).unwrap();
    assert!(a.pair("stride").is_err() && a.pair("padding").is_err());
    let err = Attrs::parse("pool", DECLARED, &meta(&[("strides", "1")])).unwrap_err();
    assert!(matches!(err, Failure::UnknownAttribute { ref name, .. } if name == "strides"), "{err}");
}

#[test]
fn missing_path_and_empty_folder_exit_2() {
    let tmp = Scratch::new("paths");
    let dir = tmp.0.clone();
    let missing = dir.join("nope");
    let run = glassgrad_check(&[&missing], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no such file or folder"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no case runs: {}", run.stdout);
    // A good path beside a missing one: still 2, nothing run.
    let run = glassgrad_check(&[&cases_dir(), &missing], &[]);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""));
    let empty = dir.join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("sub").join("notes.txt"), "not a case").unwrap();
    let run = glassgrad_check(&[&empty], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no *.safetensors"), "{}", run.stderr);
}

#[test]
fn corrupt_file_is_a_failure_not_a_panic() {
    let tmp = Scratch::new("corrupt");
    let dir = tmp.0.clone();
    std::fs::write(dir.join("garbage.safetensors"), b"this is not a safetensors file").unwrap();
    let good = std::fs::read(cases_dir().join("add").join("same_shape_f64.safetensors")).unwrap();
    std::fs::write(dir.join("truncated.safetensors"), &good[..good.len() - 5]).unwrap();
    std::fs::write(dir.join("empty.safetensors"), b"").unwrap();
    let run = glassgrad_check(&[&dir], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    for line in &lines[..3] {
        assert!(line.starts_with("FAIL ") && line.contains(" ? unreadable file: "), "{line}");
    }
    assert_eq!(lines[3], "0 passed, 3 failed");
}

#[test]
fn folders_are_searched_recursively_in_sorted_order() {
    let tmp = Scratch::new("order");
    let dir = tmp.0.clone();
    std::fs::create_dir_all(dir.join("b").join("deep")).unwrap();
    std::fs::create_dir_all(dir.join("a")).unwrap();
    for p in ["c.safetensors", "b/deep/z.safetensors", "b/a.safetensors", "a/y.safetensors"] {
        write_add(&dir.join(p), &[], &[], &RIGHT, &GRAD);
    }
    std::fs::write(dir.join("b").join("README.md"), "ignored").unwrap();
    let found = cases::find_cases(std::slice::from_ref(&dir)).unwrap();
    let rel: Vec<String> =
        found.iter().map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/")).collect();
    assert_eq!(rel, ["a/y.safetensors", "b/a.safetensors", "b/deep/z.safetensors", "c.safetensors"]);
    // A file named directly is read whatever its extension.
    let odd = dir.join("case.bin");
    write_add(&odd, &[], &[], &RIGHT, &GRAD);
    let mut out = Vec::new();
    let summary = cases::check(&[odd, dir.join("a")], Device::Cpu, &mut out).unwrap();
    assert_eq!((summary.passed(), summary.failed(), summary.exit_code()), (2, 0, 0));
    assert!(String::from_utf8(out).unwrap().ends_with("2 passed, 0 failed\n"));
}

#[test]
fn cuda_without_the_feature_fails_every_case() {
    if Tensor::scalar(0.0f32).to(&Device::Cuda(0)).is_ok() {
        eprintln!("skipped: this glassgrad can use CUDA device 0");
        return;
    }
    let tmp = Scratch::new("cuda");
    let dir = tmp.0.clone();
    let path = dir.join("case.safetensors");
    write_add(&path, &[], &[], &RIGHT, &GRAD);
    let run = glassgrad_check(&[&path], &["--device", "cuda"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("FAIL "), "{}", run.stdout);
    assert!(run.stdout.contains("cuda"), "{}", run.stdout);
    assert!(run.stderr.contains("cuda:0 is not usable"), "{}", run.stderr);
    assert!(run.stdout.ends_with("0 passed, 1 failed\n"));
}

#[test]
fn dispatch_refuses_what_cannot_match_pytorch() {
    let tmp = Scratch::new("refuse");
    let dir = tmp.0.clone();
    let x = f64s(&[1.0, -2.0, 3.0]);
    let path = dir.join("case.safetensors");
    // Dropout in training with 0 < p < 1: the masks of the two engines differ, so the case fails
    // saying why; in eval mode it is the identity.
    file::write(&path, &[("op", "dropout"), ("p", "0.5")], &[("input.input", &x), ("expected.output.0", &x)])
        .unwrap();
    assert!(reason(&path).contains("random mask"), "{}", reason(&path));
    let meta = [("op", "dropout"), ("p", "0.5"), ("training", "false")];
    file::write(&path, &meta, &[("input.input", &x), ("expected.output.0", &x)]).unwrap();
    assert!(cases::run_case(&path, Device::Cpu).passed());
    // max without dim is the full reduction, which has no keepdim.
    let three = Tensor::scalar(3.0f64);
    file::write(&path, &[("op", "max")], &[("input.x", &x), ("expected.output.0", &three)]).unwrap();
    assert!(cases::run_case(&path, Device::Cpu).passed());
    file::write(
        &path,
        &[("op", "max"), ("keepdim", "true")],
        &[("input.x", &x), ("expected.output.0", &three)],
    )
    .unwrap();
    assert!(reason(&path).contains("attribute `keepdim`"), "{}", reason(&path));
    // one_hot with num_classes -1 (the default) infers largest index + 1; other negatives fail.
    let idx = Tensor::from_vec(vec![2i64, 0], &[2]).unwrap();
    let want = Tensor::from_vec(vec![0i64, 0, 1, 1, 0, 0], &[2, 3]).unwrap();
    file::write(&path, &[("op", "one_hot")], &[("input.tensor", &idx), ("expected.output.0", &want)])
        .unwrap();
    assert!(cases::run_case(&path, Device::Cpu).passed());
    let meta = [("op", "one_hot"), ("num_classes", "-2")];
    file::write(&path, &meta, &[("input.tensor", &idx), ("expected.output.0", &want)]).unwrap();
    assert!(reason(&path).contains("attribute `num_classes`"), "{}", reason(&path));
    // cat needs tensors.0.
    file::write(&path, &[("op", "cat")], &[("input.tensors.1", &x), ("expected.output.0", &x)]).unwrap();
    assert_eq!(reason(&path), "missing tensor `input.tensors.0`");
}
