//! Rounds: glassgrad's cases and PyTorch's twin timed alternately, each side's best kept.
//!
//! With `--rounds N`, round $r = 1..N$ times every selected case with glassgrad (each set up
//! afresh from [`SEED`]), then, with `--torch`, runs the twin once over all of them. Each case then
//! reports, per side, the round with the lowest median ([`best_round`]) and the list of every
//! round's median. Alternating spreads a neighbour's load on a shared machine over both sides
//! instead of leaving it on whichever ran during the busy spell; keeping the best rather than the
//! mean discards the rounds it hit, which matters most for PyTorch, whose OpenMP workers spin while
//! they wait and stall a whole parallel region when one of them loses its core.

use std::path::Path;

use super::case::{Case, CaseResult, SEED};
use super::roof::Machine;
use super::timing::{Options, Timing, best_round, time_run};
use super::torch;
use crate::error::{Error, Result};
use crate::rng::Generator;

/// What to run: the rounds, and PyTorch's side when given.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// Rounds of both sides (at least 1).
    pub rounds: usize,
    /// Threads of the run (rayon's pool is already built with them).
    pub threads: usize,
    /// The device name of the results (`cpu`, `cuda:0`).
    pub device: &'a str,
    /// A Python with PyTorch, to run the twin after each of glassgrad's rounds.
    pub torch: Option<&'a Path>,
    /// The twin's device (`cpu` or `cuda`).
    pub torch_device: &'a str,
}

/// Runs `cases` as the module docs describe and returns one result per case, in order. A failing
/// twin is reported on stderr as a note and not run again; a failing case is an error.
pub fn run_rounds(cases: &[Case], opts: &Options, machine: &Machine, plan: &Plan) -> Result<Vec<CaseResult>> {
    let rounds = plan.rounds;
    if rounds == 0 {
        return Err(Error::invalid("bench", "--rounds must be at least 1"));
    }
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let mut ours: Vec<Vec<Timing>> = vec![Vec::with_capacity(rounds); cases.len()];
    let mut theirs: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut python = plan.torch;
    let mut version: Option<String> = None;
    for round in 1..=rounds {
        for (i, case) in cases.iter().enumerate() {
            let r = if rounds > 1 { format!("round {round}/{rounds}, ") } else { String::new() };
            eprintln!("[{r}{}/{}] {} ({})", i + 1, cases.len(), case.id, case.about);
            let mut run = (case.setup)(&mut Generator::new(SEED))?;
            ours[i].push(time_run(&mut run, opts)?);
        }
        if let Some(py) = python {
            eprintln!("timing the same cases with PyTorch ({}), round {round}/{rounds}...", py.display());
            match torch::torch_medians_on(py, &ids, plan.threads, opts, plan.torch_device) {
                Ok(t) => {
                    for (i, id) in ids.iter().enumerate() {
                        if let Some(m) = t.medians.get(id) {
                            theirs[i].push(*m);
                        }
                    }
                    version = Some(t.version);
                }
                Err(e) => {
                    eprintln!(
                        "note: no PyTorch column{}: {e}",
                        if round > 1 { " for later rounds" } else { "" }
                    );
                    python = None;
                }
            }
        }
    }
    if let Some(v) = version {
        eprintln!("PyTorch {v} (torch.set_num_threads({}))", plan.threads);
        for (id, t) in ids.iter().zip(&theirs) {
            if t.is_empty() {
                eprintln!("note: the PyTorch twin has no case `{id}`");
            }
        }
    }
    let mut out = Vec::with_capacity(cases.len());
    for ((case, timings), torch_rounds) in cases.iter().zip(ours).zip(theirs) {
        out.push(combine(case, timings, torch_rounds, machine, plan)?);
    }
    Ok(out)
}

/// One case's result from its rounds: glassgrad's best round's timing, torch's best median.
pub fn combine(
    case: &Case,
    timings: Vec<Timing>,
    torch_rounds: Vec<f64>,
    machine: &Machine,
    plan: &Plan,
) -> Result<CaseResult> {
    let medians: Vec<f64> = timings.iter().map(|t| t.median_ms).collect();
    let best = best_round(&medians).ok_or_else(|| Error::invalid("bench", "a case has no timed round"))?;
    let mut r = CaseResult::new(case.id.clone(), plan.threads, case.work, timings[best].clone());
    r.device = plan.device.to_string();
    r.spec = case.spec.clone();
    r.median_ms_rounds = medians;
    r.peak_gflops = Some(machine.peak.gflops);
    r.bandwidth_gbps = machine.bandwidth.as_ref().map(|b| b.gbps);
    r.torch_median_ms = best_round(&torch_rounds).map(|i| torch_rounds[i]);
    r.torch_median_ms_rounds = torch_rounds;
    Ok(r)
}
