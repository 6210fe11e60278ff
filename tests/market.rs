//! data::market: returns, decile tokens, and the chronological split without leakage.

use glassgrad::data::market::{
    Period, SplitYears, bucket, load_sp500, log_returns, market_dataset, quantile_edges,
};

fn days() -> Vec<glassgrad::data::market::Day> {
    load_sp500(concat!(env!("CARGO_MANIFEST_DIR"), "/data/sp500_daily_1950_2018.csv.gz")).unwrap()
}

#[test]
fn hand_values() {
    let r = log_returns(&[100.0, 110.0, 99.0]);
    assert!((r[0] - 1.1f64.ln()).abs() < 1e-15 && (r[1] - 0.9f64.ln()).abs() < 1e-15);
    // Quartile edges of 1..=5 (numpy.quantile: 2, 3, 4); tokens count the edges at or below.
    assert_eq!(quantile_edges(&[5.0, 1.0, 4.0, 2.0, 3.0], 4).unwrap(), [2.0, 3.0, 4.0]);
    let e = [2.0, 3.0, 4.0];
    assert_eq!([bucket(1.0, &e), bucket(2.0, &e), bucket(3.5, &e), bucket(9.0, &e)], [0, 1, 2, 3]);
    assert!(quantile_edges(&[], 10).is_err());
}

#[test]
fn file_and_split_sizes() {
    let days = days();
    assert_eq!(days[0].date, "1950-01-03");
    assert_eq!(days.last().unwrap().date, "2018-12-07");
    let data = market_dataset(&days, 20, SplitYears::default()).unwrap();
    assert_eq!(data.edges.len(), 9);
    assert!(data.edges.windows(2).all(|w| w[0] < w[1]));
    // Every period's samples: tokens in 0..10, binary labels, W tokens each.
    for s in [&data.train, &data.validate, &data.test] {
        assert!(s.len() > 1000);
        assert_eq!(s.tokens.len(), 20 * s.len());
        assert!(s.tokens.iter().all(|t| (0..10).contains(t)) && s.labels.iter().all(|y| *y == 0 || *y == 1));
    }
    // The training tokens are deciles of the training returns: each bucket holds about 10%.
    let mut counts = [0usize; 10];
    for &t in &data.train.tokens {
        counts[t as usize] += 1;
    }
    let n = data.train.tokens.len() as f64;
    assert!(counts.iter().all(|&c| (c as f64 / n - 0.1).abs() < 0.01), "{counts:?}");
}

#[test]
fn no_leakage_across_the_split() {
    let days = days();
    let split = SplitYears::default();
    let data = market_dataset(&days, 20, split).unwrap();
    for (s, period) in
        [(&data.train, Period::Train), (&data.validate, Period::Validate), (&data.test, Period::Test)]
    {
        for (&first, &label) in s.first_day.iter().zip(&s.label_day) {
            // Every price the sample reads, p_{d−21} .. p_d, lies in the label day's period.
            assert_eq!(label - first, 21);
            assert_eq!(split.period(days[first].year), period, "{}", days[first].date);
            assert_eq!(split.period(days[label].year), period, "{}", days[label].date);
        }
    }
    // The first test sample starts after the last validation day; the last train label is in 2005.
    assert!(days[data.test.first_day[0]].date.as_str() >= "2011-01-01");
    assert!(days[*data.train.label_day.last().unwrap()].date.as_str() <= "2005-12-31");
    // Nothing from later periods reaches earlier ones: scrambling every price after 2005 changes
    // neither the decile edges nor any training sample.
    let mut scrambled = days.clone();
    for (k, d) in scrambled.iter_mut().enumerate() {
        if d.year > split.train_last {
            d.adj_close *= 1.0 + 0.5 * ((k * 7919 % 13) as f64 - 6.0) / 6.0;
        }
    }
    let other = market_dataset(&scrambled, 20, split).unwrap();
    assert_eq!(other.edges, data.edges);
    assert_eq!(other.train.tokens, data.train.tokens);
    assert_eq!(other.train.labels, data.train.labels);
    assert_ne!(other.test.tokens, data.test.tokens);
}

#[test]
fn bad_file_is_an_error() {
    let err = load_sp500("no/such/file.csv").unwrap_err().to_string();
    assert!(err.contains("no/such/file.csv"), "{err}");
}
