//! The GAF encoding (hand-computed values, the literal definition, errors) and the market CNN's
//! data set: the chronological split's boundaries and a leakage test — every value from the cut on
//! is perturbed, and the training features, labels and decile edges stay bit-identical.

use glassgrad::data::gaf::{gasf, gasf_reference, gasf_scaled, min_max_scale};
use glassgrad::models::cnn_market::{
    Bar, CHANNELS, CLASSES, CnnMarketConfig, HORIZON, MarketGafConfig, WINDOW, build_market_gaf,
    encode_window, load_bars, train_cnn_market,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sp500_daily_1950_2018.csv.gz");

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "index {i}: {x} vs {y}");
    }
}

#[test]
fn gasf_matches_hand_computed_values() {
    // x = [1, 2, 3]: x̃ = [-1, 0, 1], φ = [π, π/2, 0]; G_ij = cos(φ_i + φ_j).
    #[rustfmt::skip]
    let want = [
         1.0,  0.0, -1.0,
         0.0, -1.0,  0.0,
        -1.0,  0.0,  1.0,
    ];
    close(&gasf(&[1.0, 2.0, 3.0]).unwrap(), &want, 1e-15);

    // x = [0, 1, 4, 2]: min 0, max 4, x̃ = x/2 - 1 = [-1, -1/2, 1, 0], φ = [π, 2π/3, 0, π/2],
    // sin φ = [0, √3/2, 0, 1]. E.g. G_01 = cos(5π/3) = 1/2, G_11 = cos(4π/3) = -1/2,
    // G_13 = cos(7π/6) = -√3/2, G_33 = cos(π) = -1.
    assert_eq!(min_max_scale(&[0.0, 1.0, 4.0, 2.0]).unwrap(), vec![-1.0, -0.5, 1.0, 0.0]);
    let r = 3f64.sqrt() / 2.0;
    #[rustfmt::skip]
    let want = [
         1.0,  0.5, -1.0,  0.0,
         0.5, -0.5, -0.5,  -r,
        -1.0, -0.5,  1.0,  0.0,
         0.0,   -r,  0.0, -1.0,
    ];
    close(&gasf(&[0.0, 1.0, 4.0, 2.0]).unwrap(), &want, 1e-15);

    // A constant window has no shape: x̃ = 0, φ = π/2, G = cos(π) = -1 everywhere.
    assert_eq!(gasf(&[5.0, 5.0, 5.0]).unwrap(), vec![-1.0; 9]);
}

#[test]
fn gasf_agrees_with_the_literal_definition_and_ignores_scale() {
    let x: Vec<f64> = (0..28).map(|i| (i as f64 * 0.7).sin() * 3.0 + i as f64 * 0.1).collect();
    let g = gasf(&x).unwrap();
    close(&g, &gasf_reference(&x).unwrap(), 1e-12);
    // Symmetric, diagonal 2x̃² - 1, entries in [-1, 1].
    let xt = min_max_scale(&x).unwrap();
    for i in 0..28 {
        assert!((g[i * 28 + i] - (2.0 * xt[i] * xt[i] - 1.0)).abs() < 1e-14);
        for j in 0..28 {
            assert_eq!(g[i * 28 + j], g[j * 28 + i]);
            assert!((-1.0..=1.0).contains(&g[i * 28 + j]));
        }
    }
    // Min–max scaling removes level and (positive) scale.
    let y: Vec<f64> = x.iter().map(|v| 250.0 * v + 1e4).collect();
    close(&gasf(&y).unwrap(), &g, 1e-12);
}

#[test]
fn gasf_rejects_bad_input() {
    assert!(gasf(&[]).is_err());
    let e = gasf(&[1.0, f64::NAN, 2.0]).unwrap_err().to_string();
    assert!(e.contains("min_max_scale") && e.contains("index 1"), "{e}");
    let e = gasf_scaled(&[0.5, 1.5]).unwrap_err().to_string();
    assert!(e.contains("gasf") && e.contains("outside [-1, 1]"), "{e}");
}

/// `n` synthetic days `2000-00000`, `2000-00001`, ... with distinct, varying values.
fn synthetic(n: usize) -> Vec<Bar> {
    (0..n)
        .map(|i| {
            let c = 100.0 + (i as f64 * 0.37).sin() * 5.0 + i as f64 * 0.05;
            Bar {
                date: format!("2000-{i:05}"),
                close: c,
                high: c + 1.0 + (i % 3) as f64,
                low: c - 1.0,
                volume: 1e6 + (i * 7919 % 1000) as f64,
            }
        })
        .collect()
}

#[test]
fn split_boundaries_on_synthetic_days() {
    let bars = synthetic(100);
    let config = MarketGafConfig { start: "2000-00000".into(), cut: "2000-00050".into(), train_stride: 1 };
    let d = build_market_gaf(&bars, &config).unwrap();
    assert_eq!((d.start_day, d.cut_day), (0, 50));
    // Training: t - 27 >= 0 and t + 5 < 50  =>  t = 27..=44 (18 samples).
    assert_eq!(d.train.end_day, (27..=44).collect::<Vec<_>>());
    // Test: t - 27 >= 50 + 5 and t + 5 <= 99  =>  t = 82..=94 (13 samples).
    assert_eq!(d.test.end_day, (82..=94).collect::<Vec<_>>());
    assert_eq!(d.train.x.len(), 18 * CHANNELS * WINDOW * WINDOW);
    assert_eq!(d.edges.len(), CLASSES - 1);
    // Labels: R_t = ln(c_{t+5} / c_t), its decile by the training edges.
    for (k, &t) in d.test.end_day.iter().enumerate() {
        let r = (bars[t + HORIZON].close / bars[t].close).ln();
        assert_eq!(d.test.returns[k], r);
        assert_eq!(d.test.y[k], d.edges.iter().filter(|&&e| e <= r).count() as i64);
    }
    // The images are the GASF of close, range and volume of days t-27..=t.
    let img = encode_window(&bars, 44).unwrap();
    assert_eq!(&d.train.x[17 * 3 * 784..18 * 3 * 784], &img[..]);
    let days = &bars[17..=44];
    for (c, series) in [
        days.iter().map(|b| b.close).collect::<Vec<_>>(),
        days.iter().map(|b| b.high - b.low).collect(),
        days.iter().map(|b| b.volume).collect(),
    ]
    .iter()
    .enumerate()
    {
        let want: Vec<f32> = gasf(series).unwrap().into_iter().map(|g| g as f32).collect();
        assert_eq!(&img[c * 784..(c + 1) * 784], &want[..]);
    }
    // Stride keeps every k-th training window; too few days is an error.
    let strided = build_market_gaf(&bars, &MarketGafConfig { train_stride: 4, ..config.clone() }).unwrap();
    assert_eq!(strided.train.end_day, vec![27, 31, 35, 39, 43]);
    assert_eq!(strided.edges, d.edges);
    assert!(build_market_gaf(&bars[..80], &config).is_err());
    assert!(encode_window(&bars, 26).is_err());
}

#[test]
fn no_test_period_value_reaches_training_features_labels_or_edges() {
    let bars = load_bars(DATA).unwrap();
    let config = MarketGafConfig::default();
    let d = build_market_gaf(&bars, &config).unwrap();
    assert_eq!(bars[d.start_day].date, "1962-01-02");
    assert_eq!(bars[d.cut_day].date, "2010-01-04");
    // Every training sample reads days s..κ-1 only (inputs t-27..t, label close t+5).
    assert!(d.train.end_day.iter().all(|&t| t + 1 - WINDOW >= d.start_day && t + HORIZON < d.cut_day));
    // Every test input starts at least HORIZON days after the cut.
    assert!(d.test.end_day.iter().all(|&t| t + 1 - WINDOW >= d.cut_day + HORIZON));
    assert!(d.train.len() > 11_000 && d.test.len() > 2_000, "{} {}", d.train.len(), d.test.len());
    // Training deciles are balanced by construction.
    for k in 0..CLASSES {
        assert!((d.train.share(k) - 0.1).abs() < 0.002, "class {k}: {}", d.train.share(k));
    }

    // Perturb every value of every day from the cut on (prices ×1.5 and shifted, volume ×3).
    let mut perturbed = bars.clone();
    for (i, b) in perturbed.iter_mut().enumerate().skip(d.cut_day) {
        let f = 1.5 + (i % 7) as f64 * 0.1;
        b.close *= f;
        b.high = b.high * f + 3.0;
        b.low *= f;
        b.volume *= 3.0 + (i % 5) as f64;
    }
    let p = build_market_gaf(&perturbed, &config).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let bits32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&p.edges), bits(&d.edges));
    assert_eq!(bits32(&p.train.x), bits32(&d.train.x));
    assert_eq!(p.train.y, d.train.y);
    assert_eq!(bits(&p.train.returns), bits(&d.train.returns));
    assert_eq!(p.train.end_day, d.train.end_day);
    // Not vacuous: the test side did change.
    assert_ne!(bits32(&p.test.x), bits32(&d.test.x));
    assert_ne!(bits(&p.test.returns), bits(&d.test.returns));

    // And the day before the cut does reach training (the last label reads its close).
    let mut before = bars.clone();
    before[d.cut_day - 1].close *= 1.01;
    let q = build_market_gaf(&before, &config).unwrap();
    assert_ne!(bits(&q.train.returns), bits(&d.train.returns));
}

#[test]
fn short_training_run_reports_consistent_figures() {
    glassgrad::device::cpu::set_num_threads(2).unwrap();
    let config = CnnMarketConfig {
        data_path: DATA.into(),
        dataset: MarketGafConfig { train_stride: 60, ..Default::default() },
        epochs: 1,
        ..Default::default()
    };
    let mut seen = 0;
    let r = train_cnn_market(&config, |e| {
        seen += 1;
        assert!(e.train_loss.is_finite() && e.train_loss > 0.0);
    })
    .unwrap();
    assert_eq!(seen, 1);
    assert!(r.n_train > 150 && r.n_train < 250, "{}", r.n_train);
    assert!((0.0..=1.0).contains(&r.test_accuracy));
    assert!((r.test_shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!((r.predicted_shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(r.majority_accuracy, r.test_shares[r.majority_class]);
    assert!(r.best_constant_accuracy >= r.majority_accuracy);
    assert!(glassgrad::jobs::find_job("cnn-market").is_ok());
}
