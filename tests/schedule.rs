//! Learning-rate schedules and ReduceLROnPlateau against torch.optim.lr_scheduler on recorded
//! sequences (`tests/fixtures/optim/make_toolkit.py` wrote `toolkit.json`; two param groups with
//! lr 0.1 and 0.01), early stopping by hand, and errors.

use glassgrad::optim::{
    CosineAnnealingLr, EarlyStopping, LinearLr, LrScheduler, MetricMode, Monitor, Optimizer, ParamGroups,
    ReduceLrOnPlateau, Sgd, SgdConfig, StepLr, StopDecision, ThresholdMode,
};
use glassgrad::{DType, Tensor};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/optim/toolkit.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// SGD over two groups with lr 0.1 and 0.01, as in the fixture.
fn two_groups() -> ParamGroups {
    let g = |lr: f64| -> Box<dyn Optimizer> {
        let p = Tensor::zeros(&[1], DType::F64).unwrap().requires_grad_().unwrap();
        Box::new(Sgd::new(vec![p], SgdConfig::new(lr)).unwrap())
    };
    ParamGroups::new(vec![g(0.1), g(0.01)]).unwrap()
}

fn assert_lrs(got: &[f64], want: &Value, what: &str) {
    let want: Vec<f64> = want.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-12 * w.abs().max(1e-3), "{what}: got {got:?}, want {want:?}");
    }
}

#[test]
fn closed_form_schedules_match_torch() {
    let fx = fixture();
    for (name, case) in fx["schedules"].as_object().unwrap() {
        let kw = &case["kwargs"];
        let mut opt = two_groups();
        let mut sched: Box<dyn LrScheduler> = match case["kind"].as_str().unwrap() {
            "StepLR" => Box::new(
                StepLr::new(&mut opt, kw["step_size"].as_u64().unwrap(), kw["gamma"].as_f64().unwrap())
                    .unwrap(),
            ),
            "CosineAnnealingLR" => Box::new(
                CosineAnnealingLr::new(
                    &mut opt,
                    kw["T_max"].as_u64().unwrap(),
                    kw["eta_min"].as_f64().unwrap(),
                )
                .unwrap(),
            ),
            "LinearLR" => Box::new(
                LinearLr::new(
                    &mut opt,
                    kw["start_factor"].as_f64().unwrap(),
                    kw["end_factor"].as_f64().unwrap(),
                    kw["total_iters"].as_u64().unwrap(),
                )
                .unwrap(),
            ),
            other => panic!("unknown {other}"),
        };
        let lrs = case["lrs"].as_array().unwrap();
        assert_eq!(lrs.len(), 13);
        for (t, want) in lrs.iter().enumerate() {
            if t > 0 {
                opt.step().unwrap();
                sched.step(&mut opt).unwrap();
            }
            assert_eq!(sched.last_step(), t as u64);
            assert_lrs(&opt.group_lrs(), want, &format!("{name} t={t}"));
        }
    }
}

#[test]
fn plateau_matches_torch() {
    let fx = fixture();
    for (name, case) in fx["plateau"].as_object().unwrap() {
        let kw = &case["kwargs"];
        let mode = if kw["mode"] == "min" { MetricMode::Min } else { MetricMode::Max };
        let tm = if kw.get("threshold_mode").is_some_and(|v| v == "abs") {
            ThresholdMode::Abs
        } else {
            ThresholdMode::Rel
        };
        let mut s = ReduceLrOnPlateau::new(mode)
            .factor(kw["factor"].as_f64().unwrap())
            .patience(kw["patience"].as_u64().unwrap())
            .threshold(kw["threshold"].as_f64().unwrap(), tm)
            .cooldown(kw.get("cooldown").and_then(Value::as_u64).unwrap_or(0))
            .min_lr(kw.get("min_lr").and_then(Value::as_f64).unwrap_or(0.0));
        let mut opt = two_groups();
        let metrics = case["metrics"].as_array().unwrap();
        for (t, (m, want)) in metrics.iter().zip(case["lrs"].as_array().unwrap()).enumerate() {
            s.step(m.as_f64().unwrap(), &mut opt).unwrap();
            assert_lrs(&opt.group_lrs(), want, &format!("{name} t={t}"));
        }
    }
}

#[test]
fn single_optimizer_schedules_and_warmup() {
    // Warm-up from 0.25·lr to lr over 3 steps on a plain Sgd: 0.25, 0.5, 0.75, 1, 1 (times 0.4).
    let p = Tensor::zeros(&[1], DType::F64).unwrap().requires_grad_().unwrap();
    let mut opt = Sgd::new(vec![p], SgdConfig::new(0.4)).unwrap();
    let mut s = LinearLr::warmup(&mut opt, 0.25, 3).unwrap();
    let mut seen = vec![opt.lr()];
    for _ in 0..4 {
        s.step(&mut opt).unwrap();
        seen.push(opt.lr());
    }
    assert_eq!(seen, vec![0.1, 0.2, 0.30000000000000004, 0.4, 0.4]);
    assert_eq!(s.lrs_at(100), vec![0.4]);
}

#[test]
fn early_stopping_by_hand() {
    // A validation AUC that improves, then stalls: patience 2, min_delta 0.01.
    let mut es = EarlyStopping::new(Monitor::Max, 2, 0.01).unwrap();
    let decisions: Vec<StopDecision> =
        [0.70, 0.75, 0.755, 0.80, 0.805, 0.79].iter().map(|&m| es.step(m)).collect();
    use StopDecision::*;
    assert_eq!(decisions, vec![Improved, Improved, Continue, Improved, Continue, Stop]);
    assert_eq!(es.best(), Some(0.80));
    assert_eq!(es.best_epoch(), 3);
    // A loss: NaN never improves.
    let mut es = EarlyStopping::new(Monitor::Min, 1, 0.0).unwrap();
    assert_eq!(es.step(f64::NAN), Stop);
    let mut es = EarlyStopping::new(Monitor::Min, 3, 0.0).unwrap();
    assert_eq!(es.step(1.0), Improved);
    assert_eq!(es.step(f64::NAN), Continue);
    assert_eq!(es.step(0.5), Improved);
    assert_eq!(es.bad_epochs(), 0);
}

#[test]
fn errors() {
    let mut opt = two_groups();
    assert!(StepLr::new(&mut opt, 0, 0.5).is_err());
    assert!(CosineAnnealingLr::new(&mut opt, 0, 0.0).is_err());
    assert!(LinearLr::new(&mut opt, 0.0, 1.0, 5).is_err());
    assert!(LinearLr::new(&mut opt, 0.5, 1.5, 5).is_err());
    assert!(EarlyStopping::new(Monitor::Min, 0, 0.0).is_err());
    assert!(EarlyStopping::new(Monitor::Min, 1, -0.1).is_err());
    let mut s = ReduceLrOnPlateau::new(MetricMode::Min).factor(1.5);
    assert!(s.step(1.0, &mut opt).is_err());
}
