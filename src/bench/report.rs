//! The human table and the JSON Lines records of `glassgrad bench`.

use serde_json::{Value, json};

use super::case::{CaseResult, Work};
use super::peak::Peak;

/// The case's rate as text: `85.2 GFLOP/s`, `12.3 GB/s`, or the median time for time-only cases.
pub fn rate(r: &CaseResult) -> String {
    match (r.gflops(), r.gbps()) {
        (Some(g), _) => format!("{g:.1} GFLOP/s"),
        (_, Some(b)) => format!("{b:.1} GB/s"),
        _ => format!("{:.3} ms", r.timing.median_ms),
    }
}

/// One JSON object (one line, snake_case keys) for a case. Keys that do not apply are `null`.
pub fn json_value(r: &CaseResult, peak: &Peak) -> Value {
    let t = &r.timing;
    let (flops, bytes) = match r.work {
        Work::Flops(f) => (Some(f), None),
        Work::Bytes(b) => (None, Some(b)),
        Work::Time => (None, None),
    };
    json!({
        "case": r.id,
        "device": r.device,
        "threads": r.threads,
        "median_ms": t.median_ms,
        "min_ms": t.min_ms,
        "max_ms": t.max_ms,
        "q1_ms": t.q1_ms,
        "q3_ms": t.q3_ms,
        "iqr_ms": t.iqr_ms(),
        "samples": t.samples_ms.len(),
        "iters_per_sample": t.iters_per_sample,
        "flops": flops,
        "bytes": bytes,
        "gflops": r.gflops(),
        "gbps": r.gbps(),
        "peak_gflops": r.peak_gflops,
        "peak_source": if peak.single_thread_gflops.is_some() { "measured" } else { "given" },
        "peak_isa": peak.isa,
        "peak_fraction": r.peak_fraction(),
        "torch_median_ms": r.torch_median_ms,
        "torch_ratio": r.torch_ratio(),
    })
}

/// [`json_value`] as one line of text.
pub fn json_line(r: &CaseResult, peak: &Peak) -> String {
    json_value(r, peak).to_string()
}

/// The human report: a header, one row per case, and the headline (`<case>: <rate>`) as the last line.
/// The PyTorch columns appear only when some case has a torch time.
pub fn table(results: &[CaseResult], peak: &Peak) -> String {
    let with_torch = results.iter().any(|r| r.torch_median_ms.is_some());
    let mut head = vec!["case", "median ms", "min ms", "max ms", "IQR ms", "rate", "% peak"];
    if with_torch {
        head.extend(["torch ms", "× torch"]);
    }
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for r in results {
        let t = &r.timing;
        let mut row = vec![
            r.id.clone(),
            format!("{:.3}", t.median_ms),
            format!("{:.3}", t.min_ms),
            format!("{:.3}", t.max_ms),
            format!("{:.3}", t.iqr_ms()),
            rate(r),
            r.peak_fraction().map_or("-".into(), |f| format!("{:.1}%", 100.0 * f)),
        ];
        if with_torch {
            row.push(r.torch_median_ms.map_or("-".into(), |m| format!("{m:.3}")));
            row.push(r.torch_ratio().map_or("-".into(), |x| format!("{x:.2}")));
        }
        rows.push(row);
    }
    let ncol = rows[0].len();
    let widths: Vec<usize> =
        (0..ncol).map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
    let threads = results.first().map_or(peak.threads, |r| r.threads);
    let mut out = format!("device: cpu, threads: {threads}\npeak: {}\n\n", peak.describe());
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = widths[c] - s.chars().count();
                if c == 0 { format!("{s}{}", " ".repeat(pad)) } else { format!("{}{s}", " ".repeat(pad)) }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if with_torch {
        out.push_str("\n× torch = glassgrad median / torch median (below 1: glassgrad is faster)\n");
    }
    if let Some(first) = results.first() {
        out.push('\n');
        out.push_str(&first.headline());
        out.push('\n');
    }
    out
}

impl CaseResult {
    /// The headline figure of this case: `sgemm_1024: 85.2 GFLOP/s`.
    pub fn headline(&self) -> String {
        format!("{}: {}", self.id, rate(self))
    }
}
