//! The roofline arithmetic of `glassgrad bench` (roof, bound, shares), best-of-rounds, the JSON
//! fields it adds, and `--roofline` / `--rounds` on the command line.

use std::process::Command;

use glassgrad::bench::{
    Bandwidth, Bound, Case, CaseResult, Machine, Peak, Timing, Work, best_round, keep, report, ridge, roof,
    rounds::{Plan, combine},
};
use serde_json::Value;

fn timing(ms: f64) -> Timing {
    Timing::from_samples(vec![ms, ms, ms], 1).unwrap()
}

fn result(work: Work, ms: f64, peak: f64, bw: f64) -> CaseResult {
    let mut r = CaseResult::new("x", 2, work, timing(ms));
    r.peak_gflops = Some(peak);
    r.bandwidth_gbps = Some(bw);
    r
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn the_roof_is_the_lower_of_peak_and_intensity_times_bandwidth() {
    // P = 100 GFLOP/s, B = 10 GB/s: the ridge is at 10 flop/byte.
    assert_eq!(ridge(100.0, 10.0), 10.0);
    assert_eq!(roof(2.0, 100.0, 10.0).gflops, 20.0);
    assert_eq!(roof(2.0, 100.0, 10.0).bound, Bound::Memory);
    assert_eq!(roof(50.0, 100.0, 10.0).gflops, 100.0);
    assert_eq!(roof(50.0, 100.0, 10.0).bound, Bound::Compute);
    assert_eq!(roof(10.0, 100.0, 10.0).bound, Bound::Compute);
    assert_eq!(Bound::Memory.name(), "memory");
    assert_eq!(Work::new(6.0, 3.0).intensity(), Some(2.0));
    assert_eq!(Work::new(6.0, 0.0).intensity(), None);
    assert_eq!(Work::flops(6.0).intensity(), None);
}

#[test]
fn a_memory_bound_case_is_measured_against_the_bandwidth() {
    // 2e9 flops and 1e9 bytes (I = 2) in 200 ms: 10 GFLOP/s, 5 GB/s; the roof is 2 × 10 = 20.
    let r = result(Work::new(2e9, 1e9), 200.0, 100.0, 10.0);
    assert!(close(r.gflops().unwrap(), 10.0) && close(r.gbps().unwrap(), 5.0));
    assert_eq!(r.intensity(), Some(2.0));
    assert_eq!(r.bound(), Some(Bound::Memory));
    assert_eq!(r.roof_gflops(), Some(20.0));
    assert!(close(r.roof_fraction().unwrap(), 0.5));
    assert!(close(r.peak_fraction().unwrap(), 0.1));
}

#[test]
fn a_compute_bound_case_is_measured_against_the_peak() {
    // I = 50 > 10: the roof is the peak, 100; 2e9 flops in 40 ms = 50 GFLOP/s.
    let r = result(Work::new(2e9, 4e7), 40.0, 100.0, 10.0);
    assert_eq!(r.bound(), Some(Bound::Compute));
    assert_eq!(r.roof_gflops(), Some(100.0));
    assert!(close(r.roof_fraction().unwrap(), 0.5));
    // Only flops: compute-bound; only bytes: memory-bound, with no GFLOP/s roof.
    let f = result(Work::flops(2e9), 40.0, 100.0, 10.0);
    assert_eq!((f.bound(), f.roof_gflops()), (Some(Bound::Compute), Some(100.0)));
    let b = result(Work::bytes(1e9), 200.0, 100.0, 10.0);
    assert_eq!((b.bound(), b.roof_gflops()), (Some(Bound::Memory), None));
    assert!(close(b.roof_fraction().unwrap(), 0.5));
    // Without a bandwidth a case with both counts has no roof.
    let mut n = result(Work::new(2e9, 1e9), 200.0, 100.0, 10.0);
    n.bandwidth_gbps = None;
    assert_eq!((n.bound(), n.roof_gflops(), n.roof_fraction()), (None, None, None));
    assert_eq!(result(Work::TIME, 1.0, 100.0, 10.0).bound(), None);
}

#[test]
fn best_round_is_the_lowest_finite_median() {
    assert_eq!(best_round(&[3.0, 1.0, 2.0]), Some(1));
    assert_eq!(best_round(&[2.0, 1.0, 1.0]), Some(1));
    assert_eq!(best_round(&[f64::NAN, 4.0, f64::INFINITY]), Some(1));
    assert_eq!(best_round(&[]), None);
    assert_eq!(best_round(&[f64::NAN]), None);
}

#[test]
fn rounds_combine_into_each_sides_best() {
    let case = Case::new("c", Work::new(1e9, 1e8), "c", |_| Ok(Box::new(|| keep(())))).with_spec("k=v");
    let machine = Machine { peak: Peak::given(100.0, 2), bandwidth: Some(Bandwidth::given(10.0, 2)) };
    let plan = Plan { rounds: 3, threads: 2, device: "cpu", torch: None, torch_device: "cpu" };
    let r =
        combine(&case, vec![timing(5.0), timing(3.0), timing(4.0)], vec![2.0, 1.5, 1.75], &machine, &plan)
            .unwrap();
    assert_eq!(r.timing.median_ms, 3.0);
    assert_eq!(r.median_ms_rounds, [5.0, 3.0, 4.0]);
    assert_eq!(r.rounds(), 3);
    assert_eq!(r.torch_median_ms, Some(1.5));
    assert_eq!(r.torch_median_ms_rounds, [2.0, 1.5, 1.75]);
    assert_eq!((r.peak_gflops, r.bandwidth_gbps), (Some(100.0), Some(10.0)));
    assert_eq!(r.spec, "k=v");
    let none = combine(&case, vec![timing(5.0)], vec![], &machine, &plan).unwrap();
    assert_eq!((none.torch_median_ms, none.torch_ratio()), (None, None));
    assert!(combine(&case, vec![], vec![], &machine, &plan).is_err());
}

#[test]
fn json_lines_carry_the_roofline_fields() {
    let peak = Peak::from_each(vec![("avx512f", 200.0), ("avx2+fma", 100.0), ("base", 20.0)], 2);
    assert_eq!((peak.gflops, peak.isa.as_str(), peak.single_thread_gflops), (400.0, "avx512f", Some(200.0)));
    let machine = Machine { peak, bandwidth: Some(Bandwidth::given(20.0, 2)) };
    let mut r = result(Work::new(2e9, 1e9), 200.0, 400.0, 20.0);
    r.median_ms_rounds = vec![250.0, 200.0];
    r.torch_median_ms = Some(100.0);
    r.torch_median_ms_rounds = vec![100.0, 120.0];
    let v: Value = serde_json::from_str(&report::json_line(&r, &machine)).unwrap();
    for key in [
        "median_ms",
        "gflops",
        "gbps",
        "intensity",
        "roof_gflops",
        "roof_fraction",
        "peak_fraction",
        "peak_gflops",
        "peak_single_thread_gflops",
        "bandwidth_gbps",
        "torch_median_ms",
        "torch_gflops",
        "torch_ratio",
    ] {
        assert!(v[key].as_f64().is_some_and(f64::is_finite), "{key}: {}", v[key]);
    }
    assert_eq!(v["case"], "x");
    assert_eq!(v["bound"], "memory");
    assert_eq!(v["roof_gflops"], 40.0);
    assert_eq!(v["peaks"]["avx512f"], 200.0);
    assert_eq!(v["peaks"]["avx2+fma"], 100.0);
    assert_eq!(v["peaks"]["base"], 20.0);
    assert_eq!(v["peak_isa"], "avx512f");
    assert_eq!(v["rounds"], 2);
    assert_eq!(v["median_ms_rounds"], serde_json::json!([250.0, 200.0]));
    assert_eq!(v["torch_median_ms_rounds"], serde_json::json!([100.0, 120.0]));
    assert_eq!(v["torch_gflops"], 20.0);
    assert_eq!(v["bandwidth_source"], "given");
    let table = report::table(&[r], &machine);
    assert!(table.contains("avx2+fma 100.0") && table.contains("bandwidth: 20.0 GB/s (given)"), "{table}");
    assert!(table.contains("ridge point: 20.00 flop/byte"), "{table}");
}

fn glassgrad(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_glassgrad")).args(args).output().unwrap()
}

const QUICK: [&str; 10] = [
    "--samples",
    "2",
    "--budget-ms",
    "5",
    "--peak-gflops",
    "100",
    "--bandwidth-gbps",
    "10",
    "--threads",
    "1",
];

#[test]
fn cli_rounds_and_roofline_never_overwrite_unasked() {
    let dir = std::env::temp_dir().join(format!("glassgrad-roofline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("roof.png");
    let _ = std::fs::remove_file(&png);
    let png_s = png.to_str().unwrap();
    let run = |extra: &[&str]| {
        glassgrad(
            &[&["bench", "--json", "--filter", "sgemm_256", "--rounds", "2"][..], &QUICK[..], extra].concat(),
        )
    };
    let out = run(&["--roofline", png_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    let v: Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["rounds"], 2);
    assert_eq!(v["median_ms_rounds"].as_array().unwrap().len(), 2);
    assert_eq!(v["bandwidth_gbps"], 10.0);
    assert_eq!(v["bound"], "compute");
    // The plot exists now: refused without --overwrite (before any timing), replaced with it.
    let again = run(&["--roofline", png_s]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));
    assert_eq!(std::fs::read(&png).unwrap(), bytes);
    assert!(run(&["--roofline", png_s, "--overwrite"]).status.success());
    // A missing folder, a non-PNG name and zero rounds are errors, not panics.
    let missing = dir.join("no/such/dir/roof.png");
    let zero_rounds =
        glassgrad(&[&["bench", "--filter", "sgemm_256", "--rounds", "0"][..], &QUICK[..]].concat());
    for (extra, out) in [
        (&["--roofline", missing.to_str().unwrap()][..], run(&["--roofline", missing.to_str().unwrap()])),
        (&["--roofline", "roof.svg"], run(&["--roofline", "roof.svg"])),
        (&["--rounds", "0"], zero_rounds),
    ] {
        assert!(!out.status.success(), "{extra:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error") && !err.contains("panicked"), "{extra:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
