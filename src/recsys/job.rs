//! `glassgrad train recommender`: trains the chosen algorithms on a train/test split and prints
//! RMSE, MAE, precision@k, recall@k, NDCG@k, hit rate, coverage, fit and predict seconds
//! (ranking metrics alone for `als-implicit`). `--json` prints one JSON object per algorithm per
//! line on stdout, `"algo"` first: `{"algo":"mf","model":"recommender","rmse":…,"mae":…,
//! "precision_at_10":…,…,"fit_s":…}`.
//!
//! Data: `--train PATH` (and `--test PATH`; without it the train file is split 80/20, seeded)
//! in the MovieLens `ratings.csv` layout; `--items PATH` in the `movies.csv` layout. Without
//! `--train`, synthetic data with planted factors and synthetic item features
//! ([`synthetic`](crate::recsys::synthetic)).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::data::split::check_split_sides;
use crate::error::{Error, Result};
use crate::recsys::Recommender;
use crate::recsys::als::ImplicitAls;
use crate::recsys::baseline::BaselineOnly;
use crate::recsys::content::{ContentBased, ItemFeatures, read_items, write_items};
use crate::recsys::data::{
    Dataset, IdMap, Rating, RatingScale, RatingsLayout, TrainSet, read_ratings, write_ratings,
};
use crate::recsys::eval::{Report, evaluate, train_test_split};
use crate::recsys::hybrid::Hybrid;
use crate::recsys::knn::Knn;
use crate::recsys::mf::BiasedMf;
use crate::recsys::neural::{DotModel, SeedEmbedding};
use crate::recsys::nmf::Nmf;
use crate::recsys::slope_one::SlopeOne;
use crate::recsys::svdpp::SvdPp;
use crate::recsys::synthetic::{SyntheticConfig, generate};
use crate::tensor::Tensor;
use crate::train::{FinalMetrics, Hyper, Reporter, TensorBag};

/// Every algorithm name, in the order `all` runs them.
pub const ALGORITHMS: &[&str] = &[
    "baseline",
    "mf",
    "svdpp",
    "nmf",
    "slope-one",
    "user-knn",
    "item-knn",
    "content",
    "hybrid",
    "seed-embedding",
    "dot",
    "als-implicit",
];

/// The algorithms that need item features.
pub const NEEDS_ITEMS: &[&str] = &["content", "hybrid"];

/// Options of `glassgrad train recommender` beyond the generic `--seed`, `--out`, `--threads`,
/// `--json` and `--quiet` (each algorithm has its own epochs and learning rate, scikit-surprise's
/// defaults, so the generic `--epochs`, `--batch-size`, `--lr`, `--data` and `--resume` are
/// refused). Every field is optional so that the framework can tell whether one was given; the
/// defaults are in the field docs.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct RecommenderOptions {
    /// Training ratings (MovieLens `ratings.csv` layout: userId,movieId,rating,timestamp).
    /// Without it: synthetic ratings with planted factors and synthetic item features.
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Test ratings (same layout). Without it the training file is split 80/20 (seeded).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Item features in the MovieLens `movies.csv` layout (movieId,title,genres).
    #[arg(long)]
    pub items: Option<PathBuf>,
    /// Algorithms, comma-separated, or `all` (default): baseline, mf, svdpp, nmf, slope-one,
    /// user-knn, item-knn, content, hybrid, seed-embedding, dot, als-implicit.
    #[arg(long)]
    pub algo: Option<String>,
    /// Length of the top-N lists the ranking metrics judge (default 10).
    #[arg(long)]
    pub k: Option<usize>,
    /// A test rating at or above this is relevant (default 4).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// The declared rating scale, lower end (default 0.5; ratings outside the scale are errors).
    #[arg(long)]
    pub scale_min: Option<f64>,
    /// The declared rating scale, upper end (default 5).
    #[arg(long)]
    pub scale_max: Option<f64>,
    /// Column name of the user ids (default userId).
    #[arg(long)]
    pub user_col: Option<String>,
    /// Column name of the item ids (default movieId).
    #[arg(long)]
    pub item_col: Option<String>,
    /// Column name of the ratings (default rating).
    #[arg(long)]
    pub rating_col: Option<String>,
    /// Number of synthetic ratings, without --train (default 100000).
    #[arg(long)]
    pub synthetic_ratings: Option<usize>,
    /// Writes the data used (train.csv, test.csv, movies.csv in the MovieLens layouts) into this
    /// folder, e.g. to run another library on the same split.
    #[arg(long)]
    pub write_data: Option<PathBuf>,
}

impl RecommenderOptions {
    fn algo(&self) -> &str {
        self.algo.as_deref().unwrap_or("all")
    }
    fn k(&self) -> usize {
        self.k.unwrap_or(10)
    }
    fn threshold(&self) -> f64 {
        self.threshold.unwrap_or(4.0)
    }
    /// The options that no data can make right: `--k 0` (a top-0 list has no precision),
    /// a threshold that is not a finite number or that no rating on the scale reaches, and
    /// `--synthetic-ratings` too small to split.
    fn validate(&self, scale: RatingScale) -> Result<()> {
        if self.k() == 0 {
            return Err(Error::invalid(
                "recommender",
                "--k must be at least 1 (the length of the top-N lists)",
            ));
        }
        let t = self.threshold();
        if !t.is_finite() || t > scale.max {
            return Err(Error::invalid(
                "recommender",
                format!(
                    "--threshold {t} is not a rating on the scale [{}, {}]: no test rating would be relevant",
                    scale.min, scale.max
                ),
            ));
        }
        Ok(())
    }
}

/// Checks the sizes of the train/test split (each side at least
/// [`MIN_SPLIT_ROWS`](crate::data::split::MIN_SPLIT_ROWS) ratings) or, with an explicit test file,
/// that it holds any rating.
fn check_sizes(args: &RecommenderOptions, train: &[Rating], test: &[Rating]) -> Result<()> {
    match &args.test {
        Some(path) if test.is_empty() => {
            Err(Error::file(path, "the test file holds no ratings (only a header): nothing to evaluate on"))
        }
        Some(_) => check_split_sides("--train", &[("training", train.len())], None),
        None => {
            let what = match &args.train {
                Some(p) => format!("{} (split 80/20)", p.display()),
                None => "the synthetic ratings (--synthetic-ratings, split 80/20)".to_string(),
            };
            check_split_sides(&what, &[("training", train.len()), ("test", test.len())], Some(0.2))
        }
    }
}

/// The data the command evaluates on.
pub struct Prepared {
    pub dataset: Dataset,
    pub train: Vec<Rating>,
    pub test: Vec<Rating>,
    pub features: Option<ItemFeatures>,
    pub item_infos: Option<Vec<crate::recsys::content::ItemInfo>>,
}

/// Loads (or generates) and splits the data as the arguments say.
pub fn prepare(args: &RecommenderOptions, seed: u64) -> Result<Prepared> {
    let scale = RatingScale::new(args.scale_min.unwrap_or(0.5), args.scale_max.unwrap_or(5.0))?;
    args.validate(scale)?;
    let (mut users, mut items) = (IdMap::new(), IdMap::new());
    let (dataset_scale, train, test, infos) = match &args.train {
        Some(path) => {
            let layout = RatingsLayout {
                user: args.user_col.clone().unwrap_or_else(|| "userId".into()),
                item: args.item_col.clone().unwrap_or_else(|| "movieId".into()),
                rating: args.rating_col.clone().unwrap_or_else(|| "rating".into()),
                ..Default::default()
            };
            let all = read_ratings(path, &layout, scale, &mut users, &mut items)?;
            let (train, test) = match &args.test {
                Some(tp) => (all, read_ratings(tp, &layout, scale, &mut users, &mut items)?),
                None => train_test_split(&all, 0.2, seed)?,
            };
            let infos = match &args.items {
                Some(p) => Some(read_items(p, &mut items)?),
                None => None,
            };
            (scale, train, test, infos)
        }
        None => {
            if args.test.is_some() {
                return Err(Error::invalid("recommender", "--test needs --train"));
            }
            let syn = generate(&SyntheticConfig {
                n_ratings: args.synthetic_ratings.unwrap_or(100_000),
                seed,
                ..SyntheticConfig::default()
            })?;
            users = syn.dataset.users.clone();
            items = syn.dataset.items.clone();
            let (train, test) = train_test_split(&syn.dataset.ratings, 0.2, seed)?;
            let infos = match &args.items {
                Some(p) => Some(read_items(p, &mut items)?),
                None => Some(syn.items),
            };
            (syn.dataset.scale, train, test, infos)
        }
    };
    check_sizes(args, &train, &test)?;
    let dataset = Dataset { ratings: Vec::new(), users, items, scale: dataset_scale };
    let features = infos.as_ref().map(|inf| ItemFeatures::build(inf, &dataset.items, dataset.n_items(), 0.5));
    Ok(Prepared { dataset, train, test, features, item_infos: infos })
}

/// A fresh model by CLI name (`features` for `content` and `hybrid`).
pub fn make_model(name: &str, seed: u64, features: Option<&ItemFeatures>) -> Result<Box<dyn Recommender>> {
    let needs = || {
        features.cloned().ok_or_else(|| {
            Error::invalid("recommender", format!("`{name}` needs item features: pass --items movies.csv"))
        })
    };
    Ok(match name {
        "baseline" => Box::new(BaselineOnly::default()),
        "mf" => Box::new(seeded(BiasedMf::default(), seed)),
        "svdpp" => Box::new(seeded(SvdPp::default(), seed)),
        "nmf" => Box::new(seeded(Nmf::default(), seed)),
        "slope-one" => Box::new(SlopeOne::new()),
        "user-knn" => Box::new(Knn::new(true)),
        "item-knn" => Box::new(Knn::new(false)),
        "content" => Box::new(ContentBased::new(needs()?)),
        "hybrid" => Box::new(Hybrid::new(seeded(BiasedMf::default(), seed), ContentBased::new(needs()?))),
        "seed-embedding" => Box::new(seeded(SeedEmbedding::default(), seed)),
        "dot" => Box::new(seeded(DotModel::default(), seed)),
        "als-implicit" => Box::new(seeded(ImplicitAls::default(), seed)),
        other => {
            return Err(Error::invalid(
                "recommender",
                format!("unknown algorithm `{other}`; known: {}, all", ALGORITHMS.join(", ")),
            ));
        }
    })
}

/// Sets a model's `seed` field.
fn seeded<M: HasSeed>(mut m: M, seed: u64) -> M {
    m.set_seed(seed);
    m
}

trait HasSeed {
    fn set_seed(&mut self, seed: u64);
}

macro_rules! has_seed {
    ($($t:ty),*) => {$(impl HasSeed for $t { fn set_seed(&mut self, seed: u64) { self.seed = seed; } })*};
}
has_seed!(BiasedMf, SvdPp, Nmf, SeedEmbedding, DotModel, ImplicitAls);

/// The algorithm list of `--algo` (`all`, or comma-separated names, checked).
pub fn parse_algos(spec: &str) -> Result<Vec<String>> {
    if spec.trim() == "all" {
        return Ok(ALGORITHMS.iter().map(|s| s.to_string()).collect());
    }
    let names: Vec<String> =
        spec.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        return Err(Error::invalid("recommender", "--algo is empty"));
    }
    for n in &names {
        if !ALGORITHMS.contains(&n.as_str()) {
            return Err(Error::invalid(
                "recommender",
                format!("unknown algorithm `{n}`; known: {}, all", ALGORITHMS.join(", ")),
            ));
        }
    }
    Ok(names)
}

/// The columns of `metrics.csv` for `recommender`: one row per algorithm, in the order run, named
/// in the first column (`mf,0.9972,...`; the checkpoint's history holds its number from 1 there).
pub const RECOMMENDER_COLUMNS: &[&str] = &[
    "algo",
    "rmse",
    "mae",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "hit_rate_at_k",
    "coverage",
    "fit_s",
    "predict_s",
];

/// One algorithm's report as a result line: `{"algo": "mf", "model": "recommender", "rmse": …,
/// "mae": …, "precision_at_10": …, ..., "fit_s": …, "predict_s": …}` (no `rmse`/`mae` for
/// `als-implicit`, which predicts no ratings).
pub fn report_metrics(r: &Report) -> FinalMetrics {
    let k = r.k;
    let mut values = Vec::new();
    if let (Some(rmse), Some(mae)) = (r.rmse, r.mae) {
        values.push(("rmse".to_string(), rmse.into()));
        values.push(("mae".to_string(), mae.into()));
    }
    values.extend([
        (format!("precision_at_{k}"), r.precision_at_k.into()),
        (format!("recall_at_{k}"), r.recall_at_k.into()),
        (format!("ndcg_at_{k}"), r.ndcg_at_k.into()),
        (format!("hit_rate_at_{k}"), r.hit_rate_at_k.into()),
        ("coverage".to_string(), r.coverage.into()),
        ("fit_s".to_string(), r.fit_s.into()),
        ("predict_s".to_string(), r.predict_s.into()),
        ("rank_s".to_string(), r.rank_s.into()),
    ]);
    let headline = if r.rmse.is_some() {
        ("test rmse".to_string(), "rmse".to_string())
    } else {
        (format!("test ndcg@{k}"), format!("ndcg_at_{k}"))
    };
    FinalMetrics {
        model: "recommender".into(),
        tags: vec![("algo".into(), r.algo.clone())],
        headline,
        values,
        notes: Vec::new(),
    }
}

/// The `recommender` entry of `glassgrad train`: trains each algorithm of `--algo` (default
/// `all`) on the training ratings and measures it on the test ratings ([`evaluate`]); one result
/// per algorithm (JSON lines with `"algo"` first), the first algorithm's figure as headline
/// (`test rmse: …`). Options: [`RecommenderOptions`].
///
/// Written: `metrics.csv` (one row per algorithm, named, [`RECOMMENDER_COLUMNS`]), `curves.png`
/// (grouped bars: one group per metric, one bar per algorithm, named in the legend), a progress
/// line per algorithm (`algo mf (2/12)`; each fits with its own loop, seconds each), and `model.safetensors` holds the tables of `mf` when it is
/// among the algorithms (`mf.p` $(U, K)$, `mf.q` $(I, K)$, `mf.bu`, `mf.bi`, `mf.mu`, dense
/// indices in the order of first appearance in the ratings). There is no `eval`: the checkpoint
/// does not hold the raw-id ↔ index maps, and `--train A --test B` already is the evaluation of
/// every algorithm on another file.
#[derive(Debug, Clone, Default)]
pub struct RecommenderJob {
    /// The recommender options, as given (the registry in `jobs.rs` hands them over).
    pub options: RecommenderOptions,
}

impl crate::train::TrainJob for RecommenderJob {
    fn name(&self) -> &'static str {
        "recommender"
    }
    fn about(&self) -> &'static str {
        "recommender toolkit (mf, svdpp, knn, content, ...) on synthetic or MovieLens-format ratings"
    }
    fn defaults(&self) -> crate::train::Defaults {
        crate::train::Defaults { epochs: 1, batch_size: 1, lr: 0.0, lr_decay: 1.0, data: "" }
    }
    fn columns(&self) -> &'static [&'static str] {
        RECOMMENDER_COLUMNS
    }
    fn option_groups(&self) -> &'static [&'static str] {
        &["recommender"]
    }
    fn unused_options(&self) -> &'static [&'static str] {
        &["epochs", "batch-size", "lr", "data", "resume"]
    }
    fn train(&self, hp: &Hyper, resume: Option<&Path>, rep: &mut Reporter) -> Result<FinalMetrics> {
        let mut all = self.train_all(hp, resume, rep)?;
        if all.is_empty() {
            return Err(Error::invalid("train recommender", "no algorithm was run"));
        }
        Ok(all.swap_remove(0))
    }
    fn train_all(&self, hp: &Hyper, _resume: Option<&Path>, rep: &mut Reporter) -> Result<Vec<FinalMetrics>> {
        run(&self.options, hp.seed, rep)
    }
    fn eval(&self, _checkpoint: &Path, _data: &Path) -> Result<FinalMetrics> {
        Err(Error::invalid(
            "eval recommender",
            "not available: the checkpoint holds no raw-id maps; use `glassgrad train recommender --train A --test B`",
        ))
    }
}

/// Trains and measures the algorithms of `args` (see [`RecommenderJob`]).
pub fn run(args: &RecommenderOptions, seed: u64, rep: &mut Reporter) -> Result<Vec<FinalMetrics>> {
    let algos = parse_algos(args.algo())?;
    let explicit = args.algo().trim() != "all";
    let p = prepare(args, seed)?;
    if let Some(dir) = &args.write_data {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create: {e}")))?;
        write_ratings(dir.join("train.csv"), &p.dataset, &p.train)?;
        write_ratings(dir.join("test.csv"), &p.dataset, &p.test)?;
        if let Some(inf) = &p.item_infos {
            write_items(dir.join("movies.csv"), inf)?;
        }
    }
    let train = TrainSet::new(&p.train, p.dataset.n_users(), p.dataset.n_items(), p.dataset.scale)?;
    let mut data_note = format!(
        "data: {} users, {} items, {} train / {} test ratings{}",
        train.n_users,
        train.n_items,
        p.train.len(),
        p.test.len(),
        if args.train.is_none() { " (synthetic)" } else { "" }
    );
    let run: Vec<&String> = algos
        .iter()
        .filter(|n| explicit || p.features.is_some() || !NEEDS_ITEMS.contains(&n.as_str()))
        .collect();
    let skipped: Vec<&str> = algos.iter().filter(|n| !run.contains(n)).map(String::as_str).collect();
    if !skipped.is_empty() {
        data_note.push_str(&format!(
            "; skipped (they need item features; pass --items movies.csv): {}",
            skipped.join(", ")
        ));
    }
    let mut out = Vec::new();
    let mut saved = Vec::new();
    rep.set_chart(crate::train::Chart::BarsPerMetric);
    for (n, name) in run.iter().enumerate() {
        rep.start_named(name, n as u64 + 1, run.len() as u64, 1);
        let report = if name.as_str() == "mf" {
            // Built here rather than by `make_model` so that its tables can be saved.
            let mut mf = seeded(BiasedMf::default(), seed);
            let report = evaluate(&mut mf, &train, &p.test, args.k(), args.threshold())?;
            saved = mf_tensors(&mf)?;
            report
        } else {
            let mut model = make_model(name, seed, p.features.as_ref())?;
            evaluate(model.as_mut(), &train, &p.test, args.k(), args.threshold())?
        };
        rep.end_epoch(vec![
            (n + 1) as f64,
            report.rmse.unwrap_or(f64::NAN),
            report.mae.unwrap_or(f64::NAN),
            report.precision_at_k,
            report.recall_at_k,
            report.ndcg_at_k,
            report.hit_rate_at_k,
            report.coverage,
            report.fit_s,
            report.predict_s,
        ])?;
        out.push(report_metrics(&report));
    }
    let state = crate::checkpoint::TrainState {
        epoch: out.len() as u64,
        history_columns: rep.columns().to_vec(),
        history: rep.history().to_vec(),
        meta: [
            ("model", "recommender".to_string()),
            ("seed", seed.to_string()),
            ("algo", args.algo().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        ..Default::default()
    };
    crate::checkpoint::save_checkpoint(rep.final_checkpoint(), &TensorBag::new(saved), None, &state)?;
    if let Some(first) = out.first_mut() {
        first.notes.insert(0, data_note);
    }
    Ok(out)
}

/// A fitted [`BiasedMf`]'s tables as tensors: `mf.p` $(U, K)$, `mf.q` $(I, K)$, `mf.bu`, `mf.bi`,
/// `mf.mu` (f64); none when it is not fitted.
pub fn mf_tensors(mf: &BiasedMf) -> Result<Vec<(String, Tensor)>> {
    let Some(m) = mf.params.as_ref() else { return Ok(Vec::new()) };
    let (u, i) = (m.bu.len(), m.bi.len());
    Ok(vec![
        ("mf.p".into(), Tensor::from_vec(m.p.clone(), &[u, m.k])?),
        ("mf.q".into(), Tensor::from_vec(m.q.clone(), &[i, m.k])?),
        ("mf.bu".into(), Tensor::from_vec(m.bu.clone(), &[u])?),
        ("mf.bi".into(), Tensor::from_vec(m.bi.clone(), &[i])?),
        ("mf.mu".into(), Tensor::scalar(m.mu)),
    ])
}
