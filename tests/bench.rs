//! The benchmark harness (`glassgrad::bench`) and `glassgrad bench`, with tiny sample counts.

use std::process::Command;
use std::time::Duration;

use glassgrad::bench::{
    self, Case, CaseResult, Machine, Options, Peak, Timing, Work, keep, peak::measure_single_thread, report,
    run_case, select, timing::quantile, torch::parse_twin_output,
};
use glassgrad::{DType, Tensor, no_grad};
use serde_json::Value;

/// Tiny timing options: a test case runs in a few tens of ms.
fn quick() -> Options {
    Options {
        samples: 3,
        max_samples: 5,
        sample_target: Duration::from_millis(2),
        warmup: Duration::from_millis(2),
        case_budget: Duration::from_millis(10),
    }
}

fn sleep_case(ms: u64) -> Case {
    Case::new(format!("sleep_{ms}ms"), Work::TIME, "sleeps", move |_| {
        Ok(Box::new(move || {
            std::thread::sleep(Duration::from_millis(ms));
            Ok(())
        }))
    })
}

#[test]
fn quantiles_interpolate_between_order_statistics() {
    // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) == [1.75, 2.5, 3.25]
    let s = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(quantile(&s, 0.25), 1.75);
    assert_eq!(quantile(&s, 0.5), 2.5);
    assert_eq!(quantile(&s, 0.75), 3.25);
    assert_eq!(quantile(&[7.0], 0.5), 7.0);
    let t = Timing::from_samples(vec![4.0, 1.0, 3.0, 2.0, 100.0], 7).unwrap();
    assert_eq!((t.median_ms, t.min_ms, t.max_ms, t.q1_ms, t.q3_ms), (3.0, 1.0, 100.0, 2.0, 4.0));
    assert_eq!(t.iqr_ms(), 2.0);
    assert_eq!(t.iters_per_sample, 7);
    assert!(Timing::from_samples(vec![], 1).is_err());
    assert!(Timing::from_samples(vec![1.0, f64::NAN], 1).is_err());
}

#[test]
fn sleep_case_median_is_sane() {
    let r = run_case(&sleep_case(2), &quick(), 1, None).unwrap();
    let t = &r.timing;
    // A 2 ms sleep takes at least 2 ms; a loaded machine may add some, not 10×.
    assert!(t.median_ms >= 2.0 && t.median_ms < 20.0, "median {} ms", t.median_ms);
    assert!(t.min_ms <= t.q1_ms && t.q1_ms <= t.median_ms && t.median_ms <= t.q3_ms && t.q3_ms <= t.max_ms);
    // Warm-up estimates ~2 ms per iteration, so a 2 ms sample target gives 1 iteration per sample.
    assert_eq!(t.iters_per_sample, 1);
    assert!(t.samples_ms.len() >= 3 && t.samples_ms.len() <= 5, "{} samples", t.samples_ms.len());
    assert_eq!(r.gflops(), None);
    assert_eq!(report::rate(&r), format!("{:.3} ms", t.median_ms));
}

#[test]
fn fast_case_gets_many_iterations_per_sample() {
    let mut calls = 0u64;
    let case = Case::new("noop", Work::TIME, "nothing", |_| Ok(Box::new(|| keep(1 + 1))));
    let mut run = (case.setup)(&mut glassgrad::Generator::new(0)).unwrap();
    let t = bench::time_run(
        &mut || {
            calls += 1;
            run()
        },
        &quick(),
    )
    .unwrap();
    assert!(t.iters_per_sample > 100, "{} iterations per sample", t.iters_per_sample);
    assert!(calls >= t.iters_per_sample * t.samples_ms.len() as u64);
    assert!(t.median_ms < 0.01);
}

#[test]
fn errors_from_the_run_closure_stop_the_timing() {
    let case = Case::new("bad", Work::TIME, "fails", |rng| {
        let a = Tensor::randn(&[2, 3], DType::F32, rng)?;
        Ok(Box::new(move || keep(a.matmul(&a)?)))
    });
    assert!(run_case(&case, &quick(), 1, None).is_err());
}

#[test]
fn fma_peak_is_positive_and_finite() {
    let (p1, isa) = measure_single_thread(Duration::from_millis(2), 2);
    assert!(p1.is_finite() && p1 > 0.1, "peak {p1} GFLOP/s ({isa})");
    // Even one scalar core does more than 0.1 GFLOP/s; no CPU core does 10 TFLOP/s.
    assert!(p1 < 10_000.0, "peak {p1} GFLOP/s");
    assert!(["avx512f", "avx2+fma", "base"].contains(&isa));
    let p = Peak::measure(3);
    let single = p.single_thread_gflops.unwrap();
    assert!((p.gflops - 3.0 * single).abs() < 1e-9 * p.gflops);
    assert!(p.describe().contains("× 3 threads"));
    // Every instruction set is measured, base included, and the peak is the best of them.
    assert!(p.per_isa.iter().any(|(isa, _)| isa == "base"));
    let best = p.per_isa.iter().map(|(_, g)| *g).fold(0.0, f64::max);
    assert_eq!(single, best);
    assert!(p.per_isa.iter().any(|(isa, g)| *isa == p.isa && *g == single));
    assert_eq!(Peak::given(50.0, 2).gflops, 50.0);
}

#[test]
fn filter_selects_cases_by_substring() {
    let ids = |f: Option<&str>| select(bench::cases(), f).into_iter().map(|c| c.id).collect::<Vec<_>>();
    let all = ids(None);
    assert_eq!(all[..2], ["sgemm_1024", "sgemm_256"]);
    assert_eq!(ids(Some("sgemm")), ["sgemm_1024", "sgemm_256"]);
    assert_eq!(ids(Some("")), all);
    assert_eq!(ids(Some("256")), ["sgemm_256"]);
    assert_eq!(ids(Some("sgemm_1024")), ["sgemm_1024"]);
    assert_eq!(ids(Some("1024, 256")), ["sgemm_1024", "sgemm_256"]);
    assert!(ids(Some("no_such_case")).is_empty());
}

#[test]
fn sgemm_case_reports_flops_over_median_time() {
    let case = bench::sgemm(64);
    assert_eq!(case.id, "sgemm_64");
    assert_eq!(case.work, Work::new(2.0 * 64.0 * 64.0 * 64.0, 3.0 * 4.0 * 64.0 * 64.0));
    let peak = Peak::given(1000.0, 1);
    let r = run_case(&case, &quick(), 1, Some(&peak)).unwrap();
    let g = r.gflops().unwrap();
    let want = 524_288.0 / (r.timing.median_ms * 1e-3) / 1e9;
    assert!((g - want).abs() <= 1e-12 * want);
    assert!((r.peak_fraction().unwrap() - g / 1000.0).abs() < 1e-15);
    assert_eq!(r.headline(), format!("sgemm_64: {g:.1} GFLOP/s"));
}

#[test]
fn json_lines_parse_and_have_the_keys() {
    let peak = Peak::given(100.0, 2);
    let machine = Machine { peak: peak.clone(), bandwidth: None };
    let flops = run_case(&bench::sgemm(32), &quick(), 2, Some(&peak)).unwrap();
    // A memory-bound case: 2 × 4 bytes per element (one read, one write) of a relu over 4096 f32.
    let bytes_case = Case::new("relu_4096", Work::bytes(2.0 * 4.0 * 4096.0), "relu", |rng| {
        let x = Tensor::randn(&[4096], DType::F32, rng)?;
        Ok(Box::new(move || keep(x.relu()?)))
    });
    let mut bytes = run_case(&bytes_case, &quick(), 2, Some(&peak)).unwrap();
    bytes.torch_median_ms = Some(bytes.timing.median_ms * 2.0);

    let lines: Vec<String> = [&flops, &bytes].iter().map(|r| report::json_line(r, &machine)).collect();
    for line in &lines {
        assert!(!line.contains('\n'));
    }
    let v: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["case"], "sgemm_32");
    assert_eq!(v["threads"], 2);
    assert_eq!(v["device"], "cpu");
    assert_eq!(v["flops"], 65536.0);
    assert_eq!(v["median_ms"].as_f64().unwrap(), flops.timing.median_ms);
    for key in ["min_ms", "max_ms", "q1_ms", "q3_ms", "iqr_ms", "gflops", "peak_fraction", "peak_gflops"] {
        assert!(v[key].as_f64().is_some_and(f64::is_finite), "{key}: {}", v[key]);
    }
    assert_eq!(v["peak_gflops"], 100.0);
    assert_eq!(v["peak_source"], "given");
    assert_eq!(v["samples"].as_u64().unwrap() as usize, flops.timing.samples_ms.len());
    // sgemm counts bytes too: A, B read and C written, 3 · 4 · 32².
    assert_eq!(v["bytes"], 12288.0);
    assert!(v["gbps"].as_f64().is_some_and(f64::is_finite));
    assert!(v["torch_median_ms"].is_null() && v["torch_ratio"].is_null());

    let w: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(w["case"], "relu_4096");
    assert!(w["gflops"].is_null() && w["peak_fraction"].is_null());
    let gbps = 32768.0 / (bytes.timing.median_ms * 1e-3) / 1e9;
    assert!((w["gbps"].as_f64().unwrap() - gbps).abs() <= 1e-12 * gbps);
    assert_eq!(w["torch_ratio"], 0.5);
}

#[test]
fn a_case_may_run_forward_backward_and_an_update() {
    // One SGD step of least squares: L = Σ (x w)², w ← w − 0.01 ∂L/∂w; the run closure owns w.
    let case = Case::new("lsq_step", Work::TIME, "train step", |rng| {
        let x = Tensor::randn(&[8, 4], DType::F64, rng)?;
        let w = Tensor::randn(&[4, 1], DType::F64, rng)?.requires_grad_()?;
        Ok(Box::new(move || {
            let y = x.matmul(&w)?;
            y.mul(&y)?.sum()?.backward()?;
            let g = w.grad().ok_or_else(|| glassgrad::Error::invalid("test", "no gradient"))?;
            let w_new = no_grad(|| w.sub(&g.mul_scalar(0.01)?))?;
            w.set_data(w_new.data())?;
            w.zero_grad();
            Ok(())
        }))
    });
    let r = run_case(&case, &quick(), 1, None).unwrap();
    assert!(r.timing.median_ms > 0.0 && r.timing.median_ms.is_finite());
}

#[test]
fn table_ends_with_the_headline_and_shows_torch_only_when_present() {
    let machine = Machine { peak: Peak::given(100.0, 1), bandwidth: None };
    let mk = |id: &str, ms: f64| {
        let mut r =
            CaseResult::new(id, 1, Work::flops(2e9), Timing::from_samples(vec![ms, ms, ms], 1).unwrap());
        r.peak_gflops = Some(100.0);
        r
    };
    let mut rs = vec![mk("big", 40.0), mk("small", 1.0)];
    let t = report::table(&rs, &machine);
    // 2e9 flops in 40 ms = 50 GFLOP/s = 50% of 100.
    assert_eq!(t.lines().last().unwrap(), "big: 50.0 GFLOP/s");
    assert!(t.contains("50.0%"));
    assert!(!t.contains("torch"));
    rs[0].torch_median_ms = Some(20.0);
    let t = report::table(&rs, &machine);
    let tail = |name: &str| {
        let row = t.lines().find(|l| l.starts_with(name)).unwrap();
        row.split_whitespace().rev().take(2).collect::<Vec<_>>()
    };
    assert_eq!(tail("big "), ["2.00", "20.000"]);
    assert_eq!(tail("small "), ["-", "-"]);
    assert_eq!(t.lines().last().unwrap(), "big: 50.0 GFLOP/s");
}

#[test]
fn twin_output_parses_and_ignores_noise() {
    let out = "warning: something\n{\"case\": \"sgemm_256\", \"median_ms\": 0.5, \"torch_version\": \"2.15.0\"}\n\
               {\"case\": \"x\", \"median_ms\": \"bad\"}\n";
    let t = parse_twin_output(out).unwrap();
    assert_eq!(t.medians.len(), 1);
    assert_eq!(t.medians["sgemm_256"], 0.5);
    assert_eq!(t.version, "2.15.0");
    assert!(parse_twin_output("nothing here\n").is_err());
}

fn glassgrad(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_glassgrad")).args(args).output().unwrap()
}

const QUICK: [&str; 8] = ["--samples", "2", "--budget-ms", "5", "--peak-gflops", "100", "--threads", "1"];

#[test]
fn cli_json_lines_with_filter() {
    let out = glassgrad(&[&["bench", "--json", "--filter", "sgemm_256"][..], &QUICK[..]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["case"], "sgemm_256");
    assert_eq!(v["threads"], 1);
    assert!(v["median_ms"].as_f64().unwrap() > 0.0);
    let (g, f) = (v["gflops"].as_f64().unwrap(), v["peak_fraction"].as_f64().unwrap());
    assert!((f - g / 100.0).abs() < 1e-12);
    // Progress goes to stderr, never into the JSON stream.
    assert!(String::from_utf8_lossy(&out.stderr).contains("sgemm_256"));
}

#[test]
fn cli_human_table_ends_with_headline_and_survives_a_missing_torch() {
    let out = glassgrad(
        &[&["bench", "--filter", "256", "--torch", "/nonexistent/python"][..], &QUICK[..]].concat(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("sgemm_256: ") && last.ends_with(" GFLOP/s"), "{last}");
    assert!(!stdout.contains("torch ms"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PyTorch column"));
}

#[test]
fn cli_rejects_bad_arguments() {
    for args in [
        &["bench", "--device", "cuda"][..],
        &["bench", "--filter", "no_such_case", "--threads", "1"][..],
        &["bench", "--peak-gflops", "-3", "--threads", "1"][..],
        &["bench", "--threads", "0"][..],
        &["bench", "--threads", "100000", "--filter", "sgemm_256"][..],
    ] {
        let out = glassgrad(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"), "{args:?}");
    }
}
