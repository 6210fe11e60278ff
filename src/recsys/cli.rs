//! `glassgrad recommender` (to become `glassgrad train recommender`): trains the chosen
//! algorithms on a train/test split and prints RMSE, MAE, precision@k, recall@k, NDCG@k, hit
//! rate, coverage, fit and predict seconds (ranking metrics alone for `als-implicit`).
//! `--json` prints one JSON object per algorithm per line on stdout.
//!
//! Data: `--train PATH` (and `--test PATH`; without it the train file is split 80/20, seeded)
//! in the MovieLens `ratings.csv` layout; `--items PATH` in the `movies.csv` layout. Without
//! `--train`, synthetic data with planted factors and synthetic item features
//! ([`synthetic`](crate::recsys::synthetic)).

use std::path::PathBuf;

use clap::Args;

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

/// Options of the recommender command.
#[derive(Args, Debug, Clone)]
pub struct RecommenderArgs {
    /// Training ratings (MovieLens `ratings.csv` layout: userId,movieId,rating,timestamp).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Test ratings (same layout). Without it the training file is split 80/20 (seeded).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Item features in the MovieLens `movies.csv` layout (movieId,title,genres).
    #[arg(long)]
    pub items: Option<PathBuf>,
    /// Algorithms, comma-separated, or `all`.
    #[arg(long, default_value = "all")]
    pub algo: String,
    /// One JSON object per algorithm per line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Seed of the split, the synthetic data and every model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Length of the top-N lists the ranking metrics judge.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// A test rating at or above this is relevant.
    #[arg(long, default_value_t = 4.0)]
    pub threshold: f64,
    /// The declared rating scale (ratings outside it are errors).
    #[arg(long, default_value_t = 0.5)]
    pub scale_min: f64,
    #[arg(long, default_value_t = 5.0)]
    pub scale_max: f64,
    /// Column names of the ratings file.
    #[arg(long, default_value = "userId")]
    pub user_col: String,
    #[arg(long, default_value = "movieId")]
    pub item_col: String,
    #[arg(long, default_value = "rating")]
    pub rating_col: String,
    /// Number of synthetic ratings (without --train).
    #[arg(long, default_value_t = 100_000)]
    pub synthetic_ratings: usize,
    /// Writes the data used (train.csv, test.csv, movies.csv in the MovieLens layouts) into this
    /// folder, e.g. to run another library on the same split.
    #[arg(long)]
    pub write_data: Option<PathBuf>,
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
pub fn prepare(args: &RecommenderArgs) -> Result<Prepared> {
    let scale = RatingScale::new(args.scale_min, args.scale_max)?;
    let (mut users, mut items) = (IdMap::new(), IdMap::new());
    let (dataset_scale, train, test, infos) = match &args.train {
        Some(path) => {
            let layout = RatingsLayout {
                user: args.user_col.clone(),
                item: args.item_col.clone(),
                rating: args.rating_col.clone(),
                ..Default::default()
            };
            let all = read_ratings(path, &layout, scale, &mut users, &mut items)?;
            let (train, test) = match &args.test {
                Some(tp) => (all, read_ratings(tp, &layout, scale, &mut users, &mut items)?),
                None => train_test_split(&all, 0.2, args.seed)?,
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
                n_ratings: args.synthetic_ratings,
                seed: args.seed,
                ..SyntheticConfig::default()
            })?;
            users = syn.dataset.users.clone();
            items = syn.dataset.items.clone();
            let (train, test) = train_test_split(&syn.dataset.ratings, 0.2, args.seed)?;
            let infos = match &args.items {
                Some(p) => Some(read_items(p, &mut items)?),
                None => Some(syn.items),
            };
            (syn.dataset.scale, train, test, infos)
        }
    };
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

fn human_line(r: &Report) -> String {
    let acc = match (r.rmse, r.mae) {
        (Some(a), Some(b)) => format!("rmse {a:.4}  mae {b:.4}"),
        _ => format!("{:<23}", "(ranking only)"),
    };
    format!(
        "{:<15} {acc}  p@{k} {:.4}  r@{k} {:.4}  ndcg@{k} {:.4}  hit@{k} {:.4}  cov {:.3}  fit {:.2}s  predict {:.3}s",
        r.algo,
        r.precision_at_k,
        r.recall_at_k,
        r.ndcg_at_k,
        r.hit_rate_at_k,
        r.coverage,
        r.fit_s,
        r.predict_s,
        k = r.k
    )
}

/// Runs the command.
pub fn run_cli(args: &RecommenderArgs) -> Result<()> {
    let algos = parse_algos(&args.algo)?;
    let explicit = args.algo.trim() != "all";
    let p = prepare(args)?;
    if let Some(dir) = &args.write_data {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create: {e}")))?;
        write_ratings(dir.join("train.csv"), &p.dataset, &p.train)?;
        write_ratings(dir.join("test.csv"), &p.dataset, &p.test)?;
        if let Some(inf) = &p.item_infos {
            write_items(dir.join("movies.csv"), inf)?;
        }
    }
    let train = TrainSet::new(&p.train, p.dataset.n_users(), p.dataset.n_items(), p.dataset.scale)?;
    if !args.json {
        println!(
            "data: {} users, {} items, {} train / {} test ratings{}",
            train.n_users,
            train.n_items,
            p.train.len(),
            p.test.len(),
            if args.train.is_none() { " (synthetic)" } else { "" }
        );
    }
    let mut skipped = Vec::new();
    let mut best: Option<(String, f64)> = None;
    for name in &algos {
        if p.features.is_none() && NEEDS_ITEMS.contains(&name.as_str()) && !explicit {
            skipped.push(name.clone());
            continue;
        }
        let mut model = make_model(name, args.seed, p.features.as_ref())?;
        let report = evaluate(model.as_mut(), &train, &p.test, args.k, args.threshold)?;
        if args.json {
            println!("{}", report.to_json());
        } else {
            println!("{}", human_line(&report));
        }
        if let Some(r) = report.rmse
            && best.as_ref().is_none_or(|b| r < b.1)
        {
            best = Some((report.algo.clone(), r));
        }
    }
    if !skipped.is_empty() {
        eprintln!("skipped (they need item features; pass --items movies.csv): {}", skipped.join(", "));
    }
    if !args.json
        && let Some((a, r)) = best
    {
        println!("best test rmse: {r:.4} ({a})");
    }
    Ok(())
}
