//! The roofline model (Williams, Waterman and Patterson, *Roofline: an insightful visual
//! performance model for multicore architectures*, CACM 2009): what rate a case can reach at most,
//! given the machine's compute peak $P$ (GFLOP/s, [`super::peak`]) and memory bandwidth $B$ (GB/s,
//! [`super::bandwidth`]).
//!
//! A case of arithmetic intensity $I = \text{flops} / \text{bytes}$ (flop/byte; the bytes are its
//! compulsory traffic, see [`super::Work`]) cannot run faster than either roof:
//!
//! $$R(I) = \min(P,\ I \cdot B).$$
//!
//! The two roofs meet at the ridge point $I^* = P / B$: below it a case is **memory-bound** (its
//! roof is the bandwidth slope $I \cdot B$), above it **compute-bound** (its roof is the flat peak
//! $P$). The report gives each case's roof, which one bounds it, and its share of that roof: its
//! GFLOP/s over $R(I)$, which for a memory-bound case equals its GB/s over $B$.
//!
//! Both roofs are measured by simple probes, so a case may exceed one: the compulsory bytes are a
//! lower bound on the traffic, and data that stays in the caches between iterations never reaches
//! memory (a case whose inputs fit in L3 can beat the DRAM bandwidth). A share above 100 % says so.

use serde_json::Value;

use super::bandwidth::Bandwidth;
use super::peak::Peak;

/// Which roof bounds a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// $P \le I \cdot B$: the compute peak.
    Compute,
    /// $I \cdot B < P$: the memory bandwidth.
    Memory,
}

impl Bound {
    /// `"compute"` or `"memory"`, as in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Bound::Compute => "compute",
            Bound::Memory => "memory",
        }
    }
}

/// The roof over one intensity: the attainable GFLOP/s and the roof that sets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roof {
    pub gflops: f64,
    pub bound: Bound,
}

/// $R(I) = \min(P, I \cdot B)$ for intensity `intensity` (flop/byte), peak `peak_gflops` and
/// bandwidth `bandwidth_gbps`. At the ridge point exactly the case counts as compute-bound.
pub fn roof(intensity: f64, peak_gflops: f64, bandwidth_gbps: f64) -> Roof {
    let slope = intensity * bandwidth_gbps;
    if peak_gflops <= slope {
        Roof { gflops: peak_gflops, bound: Bound::Compute }
    } else {
        Roof { gflops: slope, bound: Bound::Memory }
    }
}

/// The ridge point $I^* = P / B$ in flop/byte, where the two roofs meet.
pub fn ridge(peak_gflops: f64, bandwidth_gbps: f64) -> f64 {
    peak_gflops / bandwidth_gbps
}

/// The machine's two roofs for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// The compute peak (all ISAs measured, the best used).
    pub peak: Peak,
    /// The memory bandwidth, when measured or given.
    pub bandwidth: Option<Bandwidth>,
}

impl Machine {
    /// The header lines of the human report.
    pub fn describe(&self) -> String {
        let mut s = format!("peak: {}\n", self.peak.describe());
        if !self.peak.per_isa.is_empty() {
            let each: Vec<String> =
                self.peak.per_isa.iter().map(|(isa, g)| format!("{isa} {g:.1}")).collect();
            s.push_str(&format!("peak per thread by instruction set (GFLOP/s): {}\n", each.join(", ")));
        }
        match &self.bandwidth {
            Some(b) => {
                s.push_str(&format!("bandwidth: {}\n", b.describe()));
                s.push_str(&format!(
                    "ridge point: {:.2} flop/byte (below: memory-bound)\n",
                    ridge(self.peak.gflops, b.gbps)
                ));
            }
            None => s.push_str("bandwidth: not measured (no memory roof)\n"),
        }
        s
    }

    /// The machine's fields of every JSON line.
    pub fn json_fields(&self) -> Vec<(&'static str, Value)> {
        let peaks: serde_json::Map<String, Value> =
            self.peak.per_isa.iter().map(|(isa, g)| (isa.clone(), Value::from(*g))).collect();
        vec![
            (
                "peak_source",
                Value::from(if self.peak.single_thread_gflops.is_some() { "measured" } else { "given" }),
            ),
            ("peak_isa", Value::from(self.peak.isa.clone())),
            ("peak_single_thread_gflops", self.peak.single_thread_gflops.map_or(Value::Null, Value::from)),
            ("peaks", Value::Object(peaks)),
            ("bandwidth_source", self.bandwidth.as_ref().map_or(Value::Null, |b| Value::from(b.source))),
        ]
    }
}
