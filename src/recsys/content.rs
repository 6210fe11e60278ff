//! `content`: content-based filtering (§1.3.4). Items are described by feature vectors; a user
//! is described by the items they rated.
//!
//! **Item features** $f_i$: the genres one-hot (scaled to unit norm), beside the TF-IDF of the
//! title words (lower-cased alphanumeric tokens of two or more characters, numbers dropped),
//! $\operatorname{tfidf}(w, i) = \operatorname{tf}(w, i)\,(\ln\frac{1 + N}{1 + \operatorname{df}(w)} + 1)$,
//! scaled to norm `title_weight`; then the whole row is scaled to unit norm, so that
//! $\cos(f_i, f_j) = f_i \cdot f_j$.
//!
//! **User profile** (ranking): the rating-weighted mean
//! $\pi_u = \sum_{j \in I_u} (r_{uj} - \bar r_u) f_j \big/ \sum_j |r_{uj} - \bar r_u|$ (ratings
//! centred on the user's mean, so disliked items push away; plain mean when all ratings are
//! equal); items are ranked by $\cos(\pi_u, f_i)$.
//!
//! **Rating prediction** (RMSE): the $k$ rated items most similar in content,
//! $\hat r_{ui} = b_{ui} + \sum_{j} s_{ij} (r_{uj} - b_{uj}) / \sum_j s_{ij}$ with
//! $s_{ij} = \cos(f_i, f_j) > 0$ and ALS baselines $b$; the fallback is $b_{ui}$.
//!
//! Items are read from the MovieLens `movies.csv` layout: `movieId,title,genres`, genres
//! separated by `|` (`(no genres listed)` means none).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::data::csv::{LineTracker, csv_error, open};
use crate::error::{Error, Result};
use crate::recsys::baseline::Baselines;
use crate::recsys::csr::Csr;
use crate::recsys::data::IdMap;
use crate::recsys::{RatingScale, Recommender, TrainSet, clip};

/// One row of `movies.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemInfo {
    pub raw_id: i64,
    pub title: String,
    pub genres: Vec<String>,
}

/// Reads a `movies.csv` file (header `movieId,title,genres`; titles may be quoted and contain
/// commas). New item ids are interned into `items`. Errors name the file and the line.
pub fn read_items(path: impl AsRef<Path>, items: &mut IdMap) -> Result<Vec<ItemInfo>> {
    let path = path.as_ref();
    let tracker = LineTracker::default();
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(tracker.wrap(open(path)?));
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::file(path, format!("line 1: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::file(path, format!("line 1: no column {name:?} in the header {headers:?}")))
    };
    let (ci, ct, cg) = (col("movieId")?, col("title")?, col("genres")?);
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e, &tracker))?;
        let line = rec.position().map_or(0, |p| tracker.line(p));
        if rec.len() != headers.len() {
            return Err(Error::file(
                path,
                format!("line {line}: expected {} fields, found {}", headers.len(), rec.len()),
            ));
        }
        let id_field = rec.get(ci).unwrap_or("").trim();
        let raw_id: i64 = id_field.parse().map_err(|_| {
            Error::file(path, format!("line {line}: movieId {id_field:?} is not an integer id"))
        })?;
        if raw_id < 0 {
            return Err(Error::file(path, format!("line {line}: movieId {raw_id} is negative")));
        }
        let genres = rec
            .get(cg)
            .unwrap_or("")
            .split('|')
            .map(str::trim)
            .filter(|g| !g.is_empty() && *g != "(no genres listed)")
            .map(str::to_string)
            .collect();
        items.intern(raw_id);
        out.push(ItemInfo { raw_id, title: rec.get(ct).unwrap_or("").to_string(), genres });
    }
    Ok(out)
}

/// Writes items in the `movies.csv` layout.
pub fn write_items(path: impl AsRef<Path>, infos: &[ItemInfo]) -> Result<()> {
    let path = path.as_ref();
    let io = |e: std::io::Error| Error::file(path, format!("write failed: {e}"));
    let f = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::new(f);
    writeln!(w, "movieId,title,genres").map_err(io)?;
    for it in infos {
        let genres =
            if it.genres.is_empty() { "(no genres listed)".to_string() } else { it.genres.join("|") };
        writeln!(w, "{},\"{}\",{}", it.raw_id, it.title.replace('"', "\"\""), genres).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// The item feature matrix: one unit-norm sparse row per item index (empty for items without
/// a description), and the feature names (`genre:Drama`, `title:night`).
#[derive(Clone, Debug)]
pub struct ItemFeatures {
    pub rows: Csr,
    pub names: Vec<String>,
}

fn tokens(title: &str) -> Vec<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect()
}

impl ItemFeatures {
    /// Builds the features of `infos` for the item indices of `items` (`n_items` rows).
    pub fn build(infos: &[ItemInfo], items: &IdMap, n_items: usize, title_weight: f64) -> ItemFeatures {
        let mut names = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut feature = |name: String, names: &mut Vec<String>| -> u32 {
            *index.entry(name.clone()).or_insert_with(|| {
                names.push(name);
                (names.len() - 1) as u32
            })
        };
        let docs: Vec<Vec<String>> = infos.iter().map(|it| tokens(&it.title)).collect();
        let mut df: HashMap<&str, usize> = HashMap::new();
        for d in &docs {
            let mut seen: Vec<&str> = d.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for w in seen {
                *df.entry(w).or_default() += 1;
            }
        }
        let n_docs = infos.len() as f64;
        let (mut rs, mut cs, mut vs) = (Vec::new(), Vec::new(), Vec::new());
        for (it, doc) in infos.iter().zip(&docs) {
            let Some(row) = items.get(it.raw_id).filter(|&r| (r as usize) < n_items) else { continue };
            let mut entries: Vec<(u32, f64)> = Vec::new();
            let gnorm = (it.genres.len() as f64).sqrt();
            for gname in &it.genres {
                entries.push((feature(format!("genre:{gname}"), &mut names), 1.0 / gnorm));
            }
            let mut tf: Vec<(&str, f64)> = Vec::new();
            for w in doc {
                match tf.iter_mut().find(|(x, _)| x == w) {
                    Some(e) => e.1 += 1.0,
                    None => tf.push((w, 1.0)),
                }
            }
            let title: Vec<(u32, f64)> = tf
                .iter()
                .map(|&(w, c)| {
                    let idf = ((1.0 + n_docs) / (1.0 + df.get(w).copied().unwrap_or(0) as f64)).ln() + 1.0;
                    (feature(format!("title:{w}"), &mut names), c * idf)
                })
                .collect();
            let tnorm = title.iter().map(|e| e.1 * e.1).sum::<f64>().sqrt();
            if tnorm > 0.0 {
                entries.extend(title.into_iter().map(|(f, v)| (f, title_weight * v / tnorm)));
            }
            let norm = entries.iter().map(|e| e.1 * e.1).sum::<f64>().sqrt();
            for (f, v) in entries {
                if norm > 0.0 {
                    rs.push(row);
                    cs.push(f);
                    vs.push(v / norm);
                }
            }
        }
        let rows = Csr::from_triplets(n_items, names.len(), &rs, &cs, &vs);
        ItemFeatures { rows, names }
    }

    /// $f_i \cdot f_j$ (the cosine: rows have unit norm).
    pub fn cosine(&self, i: usize, j: usize) -> f64 {
        sparse_dot(self.rows.row(i), self.rows.row(j))
    }
}

/// The dot product of two sorted sparse rows.
pub fn sparse_dot(a: (&[u32], &[f64]), b: (&[u32], &[f64])) -> f64 {
    let (mut x, mut y, mut s) = (0, 0, 0.0);
    while x < a.0.len() && y < b.0.len() {
        match a.0[x].cmp(&b.0[y]) {
            std::cmp::Ordering::Less => x += 1,
            std::cmp::Ordering::Greater => y += 1,
            std::cmp::Ordering::Equal => {
                s += a.1[x] * b.1[y];
                x += 1;
                y += 1;
            }
        }
    }
    s
}

/// The content-based recommender (module docs).
#[derive(Clone, Debug)]
pub struct ContentBased {
    pub features: ItemFeatures,
    pub k: usize,
    fit: Option<ContentFit>,
}

#[derive(Clone, Debug)]
struct ContentFit {
    by_user: Csr,
    baselines: Baselines,
    /// Dense unit-norm profiles, (U × F).
    profiles: Vec<f64>,
    scale: RatingScale,
}

impl ContentBased {
    pub fn new(features: ItemFeatures) -> Self {
        ContentBased { features, k: 40, fit: None }
    }
}

impl Recommender for ContentBased {
    fn name(&self) -> &'static str {
        "content"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        let nf = self.features.names.len();
        let mut profiles = vec![0.0; t.n_users * nf];
        for u in 0..t.n_users {
            let (is, rs) = t.by_user.row(u);
            if is.is_empty() {
                continue;
            }
            let mean = rs.iter().sum::<f64>() / rs.len() as f64;
            let centred = rs.iter().any(|&r| (r - mean).abs() > 1e-12);
            let prof = &mut profiles[u * nf..(u + 1) * nf];
            for (&i, &r) in is.iter().zip(rs) {
                let w = if centred { r - mean } else { 1.0 };
                let (fs, vs) = self.features.rows.row(i as usize);
                for (&f, &v) in fs.iter().zip(vs) {
                    prof[f as usize] += w * v;
                }
            }
            let norm = prof.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                prof.iter_mut().for_each(|x| *x /= norm);
            }
        }
        self.fit = Some(ContentFit {
            by_user: t.by_user.clone(),
            baselines: Baselines::als(t, 15.0, 10.0, 10),
            profiles,
            scale: t.scale,
        });
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let Some(f) = &self.fit else { return f64::NAN };
        let fi = self.features.rows.row(i);
        let (js, rs) = f.by_user.row(u);
        let mut cands: Vec<(f64, f64, u32)> = js
            .iter()
            .zip(rs)
            .filter_map(|(&j, &r)| {
                let s = sparse_dot(fi, self.features.rows.row(j as usize));
                (s > 0.0).then(|| (s, r - f.baselines.get(u, j as usize), j))
            })
            .collect();
        cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
        let (mut num, mut den) = (0.0, 0.0);
        for &(s, d, _) in cands.iter().take(self.k) {
            num += s * d;
            den += s;
        }
        let b = f.baselines.get(u, i);
        clip(&f.scale, if den > 0.0 { b + num / den } else { b })
    }

    /// $\cos(\pi_u, f_i)$ for every item (0 for an unknown user or an item without features).
    fn score_items(&self, u: usize, out: &mut [f64]) {
        let Some(f) = &self.fit else {
            out.fill(f64::NAN);
            return;
        };
        let nf = self.features.names.len();
        let Some(prof) = f.profiles.get(u * nf..(u + 1) * nf) else {
            out.fill(0.0);
            return;
        };
        for (i, o) in out.iter_mut().enumerate() {
            let (fs, vs) = self.features.rows.row(i);
            *o = fs.iter().zip(vs).map(|(&k, &v)| prof[k as usize] * v).sum();
        }
    }
}
