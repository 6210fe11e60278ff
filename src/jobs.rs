//! The registry of `glassgrad train` and `glassgrad eval`: every model the command knows, built
//! with its options, and the two commands as library calls.
//!
//! This is the one place that names the models: `train/` is the framework they share (it knows no
//! model), `models/` and `recsys/` hold the jobs. To add a model, write its [`TrainJob`] next to the
//! model (see [`crate::train`]) and add one line to [`jobs`].

use std::path::{Path, PathBuf};

use crate::checkpoint::read_checkpoint;

use crate::error::{Error, Result};
use crate::models::cnn::CnnJob;
use crate::models::cnn_market::CnnMarketJob;
use crate::models::credit::{CreditJob, CreditOptions};
use crate::models::digits::DigitsJob;
use crate::models::lstm::LstmJob;
use crate::models::rnn::RnnJob;
use crate::models::seq2seq::Seq2SeqJob;
use crate::recsys::job::{RecommenderJob, RecommenderOptions};
use crate::train::{FinalMetrics, Hyper, Reporter, Reuse, TrainJob, bundled, choose_run_dir as choose};

/// Every model `glassgrad train` knows, each built with its option group from `options`. Add a
/// model here.
pub fn jobs(options: &JobOptions) -> Vec<Box<dyn TrainJob>> {
    vec![
        Box::new(CnnJob),
        Box::new(CnnMarketJob),
        Box::new(DigitsJob),
        Box::new(CreditJob { options: options.credit.clone() }),
        Box::new(RnnJob),
        Box::new(LstmJob),
        Box::new(Seq2SeqJob),
        Box::new(RecommenderJob { options: options.recommender.clone() }),
    ]
}

/// The job called `name` with default options, or an error listing the known ones.
pub fn find_job(name: &str) -> Result<Box<dyn TrainJob>> {
    find_job_with(name, &JobOptions::default())
}

/// The job called `name` built with `options`, or an error listing the known ones on one line
/// (`unknown model "x"; known models: cnn, cnn-market, ... (glassgrad train --help describes them)`).
pub fn find_job_with(name: &str, options: &JobOptions) -> Result<Box<dyn TrainJob>> {
    let all = jobs(options);
    let known: Vec<&str> = all.iter().map(|j| j.name()).collect();
    let known = known.join(", ");
    all.into_iter().find(|j| j.name() == name).ok_or_else(|| {
        Error::invalid(
            "train",
            format!("unknown model {name:?}; known models: {known} (glassgrad train --help describes them)"),
        )
    })
}

/// The names of every model, in the registry's order.
pub fn model_names() -> Vec<&'static str> {
    jobs(&JobOptions::default()).iter().map(|j| j.name()).collect()
}

/// A job's default for one generic option (`"epochs"`, `"batch-size"`, `"lr"`), as `--help` shows
/// it; `None` when the job does not read the option.
fn default_shown(job: &dyn TrainJob, option: &str) -> Option<String> {
    if job.unused_options().contains(&option) {
        return None;
    }
    let d = job.defaults();
    Some(match option {
        "epochs" => d.epochs.to_string(),
        "batch-size" => d.batch_size.to_string(),
        _ if d.lr_decay != 1.0 => format!("{} (×{} per epoch)", d.lr, d.lr_decay),
        _ => d.lr.to_string(),
    })
}

/// `option`'s defaults, model by model, for its `--help` line (`default: cnn 10, cnn-market 6,
/// ...; recommender: not read`).
fn defaults_of(all: &[Box<dyn TrainJob>], option: &str) -> String {
    let (mut read, mut unread) = (Vec::new(), Vec::new());
    for j in all {
        match default_shown(j.as_ref(), option) {
            Some(v) => read.push(format!("{} {v}", j.name())),
            None => unread.push(j.name()),
        }
    }
    let mut s = format!("default: {}", read.join(", "));
    if !unread.is_empty() {
        s.push_str(&format!("; not read by {}", unread.join(", ")));
    }
    s
}

/// The table of models for `glassgrad train --help`: name, default epochs, batch size and
/// learning rate (`-` where the model does not read the option), and what it trains.
pub fn models_table() -> String {
    let all = jobs(&JobOptions::default());
    let rows: Vec<[String; 5]> = all
        .iter()
        .map(|j| {
            let shown = |o: &str| default_shown(j.as_ref(), o).unwrap_or_else(|| "-".into());
            [j.name().to_string(), shown("epochs"), shown("batch-size"), shown("lr"), j.about().to_string()]
        })
        .collect();
    let header = ["model", "--epochs", "--batch-size", "--lr", ""];
    let width =
        |c: usize| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0);
    let w: Vec<usize> = (0..4).map(width).collect();
    let line = |r: [&str; 5]| {
        format!(
            "  {:<w0$}  {:>w1$}  {:>w2$}  {:<w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        )
        .trim_end()
        .to_string()
    };
    let mut out = vec!["Models and their defaults:".to_string(), line(header)];
    out.extend(rows.iter().map(|r| line([&r[0], &r[1], &r[2], &r[3], &r[4]])));
    out.join("\n")
}

/// `glassgrad train`'s command with its help generated from the registry, so that it cannot
/// drift from the models: the model names in `<MODEL>`'s help, each generic option's default
/// per model, and [`models_table`] after the options.
pub fn train_command(cmd: clap::Command) -> clap::Command {
    let all = jobs(&JobOptions::default());
    let names: Vec<&str> = all.iter().map(|j| j.name()).collect();
    let mut cmd = cmd
        .mut_arg("model", |a| a.help(format!("The model to train: {}", names.join(", "))))
        .after_help(models_table());
    for (id, option) in [("epochs", "epochs"), ("batch_size", "batch-size"), ("lr", "lr")] {
        let more = defaults_of(&all, option);
        cmd = cmd.mut_arg(id, |a| {
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            a.help(format!("{} ({more})", help.trim_end_matches('.')))
        });
    }
    cmd
}

/// Options only some models read, in groups; a job names the groups it reads in
/// [`TrainJob::option_groups`] and the framework rejects the others. (Kept apart from the generic
/// options so that `--help` shows them under their model's heading; each group is handed to its
/// job when the registry builds it.)
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct JobOptions {
    #[command(flatten, next_help_heading = "Credit options (train credit)")]
    pub credit: CreditOptions,
    #[command(flatten, next_help_heading = "Recommender options (train recommender)")]
    pub recommender: RecommenderOptions,
}

impl JobOptions {
    /// The groups with at least one option given.
    pub fn groups_given(&self) -> Vec<&'static str> {
        let mut g = Vec::new();
        if self.credit != Default::default() {
            g.push("credit");
        }
        if self.recommender != Default::default() {
            g.push("recommender");
        }
        g
    }
}

/// The options of `glassgrad train <model>`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TrainArgs {
    /// Epochs to train (in all: a resumed run continues up to this many).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Samples per optimizer step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate (a negative one is read as a number, `--lr -1`, and refused by the optimizer).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Seed of the initialisation, the train/test split and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Data file (default: the model's bundled data set).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output folder (default: `runs/<model>`, or `runs/<model>-2`, `-3`, ... when that holds a run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (rayon's pool, which the GEMM uses too; at most 4 × the logical CPUs); results
    /// are the same for any count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Continue a run from one of its checkpoints (e.g. runs/digits/checkpoints/epoch_002.safetensors),
    /// in that run's folder unless --out names another.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Replace the run in the output folder: its metrics.csv, curves.png, model.safetensors and
    /// checkpoints are deleted first (other files stay). Without it a folder that holds a run is
    /// an error.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Print the final metrics as JSON Lines on stdout (human lines go to stderr).
    #[arg(long)]
    pub json: bool,
    /// No progress bars or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub job: JobOptions,
}

/// The options of `glassgrad eval <model>`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// A checkpoint written by `glassgrad train` (or a PyTorch `state_dict` in safetensors).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Data file in the layout of the model's training data.
    #[arg(long)]
    pub data: PathBuf,
    /// Print the metrics as JSON Lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `glassgrad train <model>` as a library call: trains and writes the output folder; prints
/// nothing but the progress (stderr, unless `args.quiet`). Returns the headline result (the
/// first of [`train_all`]).
pub fn train(model: &str, args: &TrainArgs) -> Result<FinalMetrics> {
    let mut all = train_all(model, args)?;
    if all.is_empty() {
        return Err(Error::invalid("train", format!("{model} reported no result")));
    }
    Ok(all.swap_remove(0))
}

/// Checks that `args` gives only options `job` reads.
fn check_options(job: &dyn TrainJob, args: &TrainArgs) -> Result<()> {
    let given = [
        ("epochs", args.epochs.is_some()),
        ("batch-size", args.batch_size.is_some()),
        ("lr", args.lr.is_some()),
        ("data", args.data.is_some()),
        ("resume", args.resume.is_some()),
    ];
    for (name, set) in given {
        if set && job.unused_options().contains(&name) {
            return Err(Error::invalid(
                "train",
                format!("`train {}` has no use for --{name} (see `glassgrad train --help`)", job.name()),
            ));
        }
    }
    for g in args.job.groups_given() {
        if !job.option_groups().contains(&g) {
            return Err(Error::invalid(
                "train",
                format!("the {g} options apply to `train {g}` only, not to `train {}`", job.name()),
            ));
        }
    }
    Ok(())
}

/// Every result of `glassgrad train <model>`, the headline one first (two for `credit`, one per
/// algorithm for `recommender`, one otherwise); the paths written are notes of the first.
pub fn train_all(model: &str, args: &TrainArgs) -> Result<Vec<FinalMetrics>> {
    let job = find_job_with(model, &args.job)?;
    check_options(job.as_ref(), args)?;
    if let Some(n) = args.threads {
        crate::device::cpu::set_num_threads(n)?;
    }
    let d = job.defaults();
    let hp = Hyper {
        epochs: args.epochs.unwrap_or(d.epochs),
        batch_size: args.batch_size.unwrap_or(d.batch_size),
        lr: args.lr.unwrap_or(d.lr),
        lr_decay: d.lr_decay,
        seed: args.seed,
        data: args.data.clone().unwrap_or_else(|| bundled(d.data)),
    };
    if hp.batch_size == 0 {
        return Err(Error::invalid("train", "--batch-size must be at least 1"));
    }
    let uses_epochs = !job.unused_options().contains(&"epochs");
    if uses_epochs && hp.epochs == 0 {
        return Err(Error::invalid("train", "--epochs must be at least 1 (nothing was written)"));
    }
    if let Some(ckpt) = &args.resume {
        let done = read_checkpoint(ckpt)?.train_state()?.epoch;
        if uses_epochs && done >= hp.epochs {
            return Err(Error::file(
                ckpt,
                format!(
                    "the checkpoint is at epoch {done}, so --epochs {} leaves nothing to run \
                     (--epochs counts all epochs: give more than {done})",
                    hp.epochs
                ),
            ));
        }
    }
    let reuse = match (args.force, args.resume.is_some()) {
        (true, _) => Reuse::Force,
        (false, true) => Reuse::Resume,
        (false, false) => Reuse::No,
    };
    let dir = choose(args.out.as_deref(), model, reuse, args.resume.as_deref())?;
    if !args.quiet {
        eprintln!("run folder: {}", dir.path.display());
    }
    let result = run_in(job.as_ref(), &hp, args, &dir.path);
    if result.is_err() {
        dir.discard_if_empty();
    }
    result
}

/// Runs `job` with its output in `out` (chosen by [`train_all`]).
fn run_in(job: &dyn TrainJob, hp: &Hyper, args: &TrainArgs, out: &Path) -> Result<Vec<FinalMetrics>> {
    let mut reporter = Reporter::new(out, job.name(), job.columns(), !args.quiet)?;
    let mut all = job.train_all(hp, args.resume.as_deref(), &mut reporter)?;
    let curves = reporter.draw_curves()?;
    if let Some(m) = all.first_mut() {
        m.notes.push(format!("metrics: {}", out.join("metrics.csv").display()));
        m.notes.push(format!("curves: {}", curves.display()));
        if reporter.final_checkpoint().exists() {
            m.notes.push(format!("checkpoint: {}", reporter.final_checkpoint().display()));
        }
    }
    Ok(all)
}

/// `glassgrad eval <model>` as a library call.
pub fn eval(model: &str, args: &EvalArgs) -> Result<FinalMetrics> {
    find_job(model)?.eval(&args.checkpoint, &args.data)
}
