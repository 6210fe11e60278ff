//! The human table and the JSON Lines records of `glassgrad bench`.

use serde_json::{Map, Value};

use super::case::CaseResult;
use super::roof::Machine;

/// The case's rate as text: `85.2 GFLOP/s`, `12.3 GB/s`, or the median time for time-only cases.
pub fn rate(r: &CaseResult) -> String {
    match (r.gflops(), r.gbps()) {
        (Some(g), _) => format!("{g:.1} GFLOP/s"),
        (_, Some(b)) => format!("{b:.1} GB/s"),
        _ => format!("{:.3} ms", r.timing.median_ms),
    }
}

fn opt(x: Option<f64>) -> Value {
    x.map_or(Value::Null, Value::from)
}

/// One JSON object (one line, snake_case keys) for a case. Keys that do not apply are `null`.
///
/// Timing: `median_ms` (and `min_ms` ... `iqr_ms`, `samples`, `iters_per_sample`) are those of the
/// best round; `median_ms_rounds` lists every round's median, `rounds` their number. Work and
/// rates: `flops`, `bytes` (compulsory), `gflops`, `gbps`, `intensity` (flop/byte). Machine:
/// `peak_gflops` (the best instruction set's single-thread peak × threads), `peaks` (each
/// instruction set's **single-thread** GFLOP/s), `peak_isa`, `bandwidth_gbps`. Roofline:
/// `roof_gflops` $= \min(P, I B)$, `bound` (`"compute"` or `"memory"`), `roof_fraction` (share of
/// that roof), `peak_fraction` (GFLOP/s over the peak). PyTorch: `torch_median_ms` (best round),
/// `torch_median_ms_rounds`, `torch_ratio`, `torch_gflops`.
pub fn json_value(r: &CaseResult, machine: &Machine) -> Value {
    let t = &r.timing;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("case", r.id.clone().into());
    put("device", r.device.clone().into());
    put("threads", r.threads.into());
    put("median_ms", t.median_ms.into());
    put("min_ms", t.min_ms.into());
    put("max_ms", t.max_ms.into());
    put("q1_ms", t.q1_ms.into());
    put("q3_ms", t.q3_ms.into());
    put("iqr_ms", t.iqr_ms().into());
    put("samples", t.samples_ms.len().into());
    put("iters_per_sample", t.iters_per_sample.into());
    put("rounds", r.rounds().into());
    put("median_ms_rounds", r.median_ms_rounds.clone().into());
    put("spec", r.spec.clone().into());
    put("flops", opt(r.work.flops));
    put("bytes", opt(r.work.bytes));
    put("gflops", opt(r.gflops()));
    put("gbps", opt(r.gbps()));
    put("intensity", opt(r.intensity()));
    put("peak_gflops", opt(r.peak_gflops));
    for (k, v) in machine.json_fields() {
        put(k, v);
    }
    put("bandwidth_gbps", opt(r.bandwidth_gbps));
    put("roof_gflops", opt(r.roof_gflops()));
    put("roof_fraction", opt(r.roof_fraction()));
    put("bound", r.bound().map_or(Value::Null, |b| b.name().into()));
    put("peak_fraction", opt(r.peak_fraction()));
    put("torch_median_ms", opt(r.torch_median_ms));
    put("torch_median_ms_rounds", r.torch_median_ms_rounds.clone().into());
    put("torch_ratio", opt(r.torch_ratio()));
    put("torch_gflops", opt(r.torch_gflops()));
    Value::Object(m)
}

/// [`json_value`] as one line of text.
pub fn json_line(r: &CaseResult, machine: &Machine) -> String {
    json_value(r, machine).to_string()
}

/// The human report: a header (the peaks of every instruction set, the bandwidth, the ridge
/// point), one row per case, and the headline (`<case>: <rate>`) as the last line. The PyTorch
/// columns appear only when some case has a torch time.
pub fn table(results: &[CaseResult], machine: &Machine) -> String {
    let with_torch = results.iter().any(|r| r.torch_median_ms.is_some());
    let rounds = results.iter().map(CaseResult::rounds).max().unwrap_or(1);
    let mut head =
        vec!["case", "median ms", "min ms", "max ms", "IQR ms", "rate", "GB/s", "flop/B", "% peak", "% roof"];
    if with_torch {
        head.extend(["torch ms", "× torch"]);
    }
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    let pct = |x: Option<f64>| x.map_or("-".into(), |f| format!("{:.1}%", 100.0 * f));
    for r in results {
        let t = &r.timing;
        let mut row = vec![
            r.id.clone(),
            format!("{:.3}", t.median_ms),
            format!("{:.3}", t.min_ms),
            format!("{:.3}", t.max_ms),
            format!("{:.3}", t.iqr_ms()),
            rate(r),
            r.gbps().map_or("-".into(), |b| format!("{b:.1}")),
            r.intensity().map_or("-".into(), |i| format!("{i:.2}")),
            pct(r.peak_fraction()),
            match (r.roof_fraction(), r.bound()) {
                (Some(f), Some(b)) => format!("{:.1}% {}", 100.0 * f, &b.name()[..3]),
                _ => "-".into(),
            },
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
    let threads = results.first().map_or(machine.peak.threads, |r| r.threads);
    let device = results.first().map_or("cpu", |r| r.device.as_str());
    let mut out = format!("device: {device}, threads: {threads}\n{}", machine.describe());
    if rounds > 1 {
        out.push_str(&format!("rounds: {rounds} (each side's best median)\n"));
    }
    out.push('\n');
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
    out.push_str("\n% roof = share of min(peak, intensity × bandwidth), com(pute)- or mem(ory)-bound\n");
    if with_torch {
        out.push_str("× torch = glassgrad median / torch median (below 1: glassgrad is faster)\n");
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
