//! Ratings data: the MovieLens `ratings.csv` layout (`userId,movieId,rating,timestamp` with a
//! header line), id remapping, and the training set built from a list of ratings.
//!
//! Ids in the file are arbitrary integers; they are remapped to dense indices `0..n` in order of
//! first appearance, and the mapping ([`IdMap`]) is kept to print results in the file's ids.
//! Loading a test file with the train file's maps extends them: a user or item that appears only
//! in the test file gets a new index with no training ratings, which every model answers with
//! its documented fallback.
//!
//! Bad input is an error naming the file and the line (1-based, the header is line 1): a line
//! with the wrong number of fields, an id that is not an integer, a rating that is not a number
//! or lies outside the declared [`RatingScale`]. No row is ever skipped silently.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::data::csv::{LineTracker, csv_error, open, parse_finite, place};
use crate::error::{Error, Result};
use crate::recsys::csr::Csr;

/// One rating: dense user and item indices, the value, and the timestamp when the file has one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rating {
    pub user: u32,
    pub item: u32,
    pub value: f64,
    pub timestamp: Option<i64>,
}

/// The declared rating scale; predictions are clipped to it, ratings outside it are errors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatingScale {
    pub min: f64,
    pub max: f64,
}

impl RatingScale {
    /// MovieLens' half-star scale, 0.5 to 5.
    pub const MOVIELENS: RatingScale = RatingScale { min: 0.5, max: 5.0 };

    pub fn new(min: f64, max: f64) -> Result<RatingScale> {
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(Error::invalid("rating scale", format!("need finite min < max, got [{min}, {max}]")));
        }
        Ok(RatingScale { min, max })
    }

    pub fn contains(&self, r: f64) -> bool {
        r >= self.min && r <= self.max
    }

    pub fn clip(&self, r: f64) -> f64 {
        r.clamp(self.min, self.max)
    }
}

/// Raw ids ↔ dense indices, in order of first appearance.
#[derive(Clone, Debug, Default)]
pub struct IdMap {
    index: HashMap<i64, u32>,
    raw: Vec<i64>,
}

impl IdMap {
    pub fn new() -> IdMap {
        IdMap::default()
    }

    /// The index of `raw`, adding it when new.
    pub fn intern(&mut self, raw: i64) -> u32 {
        if let Some(&i) = self.index.get(&raw) {
            return i;
        }
        let i = self.raw.len() as u32;
        self.index.insert(raw, i);
        self.raw.push(raw);
        i
    }

    /// The index of a raw id, if known.
    pub fn get(&self, raw: i64) -> Option<u32> {
        self.index.get(&raw).copied()
    }

    /// The raw id of an index.
    pub fn raw(&self, index: usize) -> Option<i64> {
        self.raw.get(index).copied()
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

/// Column names of a ratings file (defaults: MovieLens').
#[derive(Clone, Debug)]
pub struct RatingsLayout {
    pub user: String,
    pub item: String,
    pub rating: String,
    /// `None`: no timestamp column is read (one may still be present).
    pub timestamp: Option<String>,
    pub delimiter: u8,
}

impl Default for RatingsLayout {
    fn default() -> Self {
        RatingsLayout {
            user: "userId".into(),
            item: "movieId".into(),
            rating: "rating".into(),
            timestamp: Some("timestamp".into()),
            delimiter: b',',
        }
    }
}

/// Ratings with the id maps that name their users and items.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub ratings: Vec<Rating>,
    pub users: IdMap,
    pub items: IdMap,
    pub scale: RatingScale,
}

impl Dataset {
    pub fn n_users(&self) -> usize {
        self.users.len()
    }
    pub fn n_items(&self) -> usize {
        self.items.len()
    }
}

fn column(headers: &[String], name: &str, path: &Path) -> Result<usize> {
    headers
        .iter()
        .position(|h| h.trim() == name)
        .ok_or_else(|| Error::file(path, format!("line 1: no column {name:?} in the header {headers:?}")))
}

/// Reads a ratings file (plain or `.gz`) with a header line, interning ids into `users` and
/// `items`. Errors name the file and the line.
pub fn read_ratings(
    path: impl AsRef<Path>,
    layout: &RatingsLayout,
    scale: RatingScale,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<Vec<Rating>> {
    let path = path.as_ref();
    let tracker = LineTracker::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .delimiter(layout.delimiter)
        .flexible(true)
        .from_reader(tracker.wrap(open(path)?));
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::file(path, format!("line 1: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::file(path, "line 1: the file is empty (a header line is required)"));
    }
    let (cu, ci, cr) = (
        column(&headers, &layout.user, path)?,
        column(&headers, &layout.item, path)?,
        column(&headers, &layout.rating, path)?,
    );
    let ct = match &layout.timestamp {
        Some(t) => headers.iter().position(|h| h.trim() == t),
        None => None,
    };
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e, &tracker))?;
        let line = rec.position().map_or(0, |p| tracker.line(p));
        if rec.len() != headers.len() {
            return Err(Error::file(
                path,
                format!(
                    "line {line}: expected {} fields ({}), found {}",
                    headers.len(),
                    headers.join(","),
                    rec.len()
                ),
            ));
        }
        let field = |c: usize| rec.get(c).unwrap_or("").trim();
        let at = |c: usize| place(line, c, Some(headers[c].trim()));
        // MovieLens ids are positive integers; a negative one is a typo or a sign error in an
        // export, never an id (the ids are interned, but the files this writes keep them raw).
        let id = |c: usize, what: &str| -> Result<i64> {
            match field(c).parse::<i64>() {
                Ok(v) if v >= 0 => Ok(v),
                Ok(v) => Err(Error::file(path, format!("{}: {what} id {v} is negative", at(c)))),
                Err(_) => {
                    Err(Error::file(path, format!("{}: {what} {:?} is not an integer id", at(c), field(c))))
                }
            }
        };
        let (u, i) = (id(cu, "user")?, id(ci, "item")?);
        let r =
            parse_finite(field(cr)).map_err(|why| Error::file(path, format!("{}: rating {why}", at(cr))))?;
        if !scale.contains(r) {
            return Err(Error::file(
                path,
                format!(
                    "{}: rating {r} is outside the declared scale [{}, {}] (--scale-min, --scale-max)",
                    at(cr),
                    scale.min,
                    scale.max
                ),
            ));
        }
        let timestamp = match ct {
            Some(c) => Some(field(c).parse::<i64>().map_err(|_| {
                Error::file(path, format!("{}: timestamp {:?} is not an integer", at(c), field(c)))
            })?),
            None => None,
        };
        out.push(Rating { user: users.intern(u), item: items.intern(i), value: r, timestamp });
    }
    Ok(out)
}

/// Reads one ratings file into a [`Dataset`] with fresh id maps.
pub fn load_ratings(path: impl AsRef<Path>, layout: &RatingsLayout, scale: RatingScale) -> Result<Dataset> {
    let (mut users, mut items) = (IdMap::new(), IdMap::new());
    let ratings = read_ratings(path, layout, scale, &mut users, &mut items)?;
    Ok(Dataset { ratings, users, items, scale })
}

/// Writes ratings in the MovieLens layout (`userId,movieId,rating,timestamp`), in raw ids.
pub fn write_ratings(path: impl AsRef<Path>, ds: &Dataset, ratings: &[Rating]) -> Result<()> {
    let path = path.as_ref();
    let f = std::fs::File::create(path).map_err(|e| Error::file(path, format!("cannot create: {e}")))?;
    let mut w = std::io::BufWriter::new(f);
    let io = |e: std::io::Error| Error::file(path, format!("write failed: {e}"));
    writeln!(w, "userId,movieId,rating,timestamp").map_err(io)?;
    for r in ratings {
        let u = ds.users.raw(r.user as usize).unwrap_or(r.user as i64);
        let i = ds.items.raw(r.item as usize).unwrap_or(r.item as i64);
        writeln!(w, "{u},{i},{},{}", r.value, r.timestamp.unwrap_or(0)).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// The training ratings, indexed both ways: what every model fits on.
#[derive(Clone, Debug)]
pub struct TrainSet {
    pub n_users: usize,
    pub n_items: usize,
    /// user → (item, rating), items sorted.
    pub by_user: Csr,
    /// item → (user, rating), users sorted.
    pub by_item: Csr,
    /// The ratings as given (triplets), the order SGD shuffles.
    pub users: Vec<u32>,
    pub items: Vec<u32>,
    pub ratings: Vec<f64>,
    /// $\mu$, the mean training rating.
    pub global_mean: f64,
    pub scale: RatingScale,
}

impl TrainSet {
    /// Indexes `ratings` for `n_users` × `n_items` (the sizes of the id maps, which may include
    /// users and items without training ratings). Errors on an empty set or an id out of range.
    pub fn new(ratings: &[Rating], n_users: usize, n_items: usize, scale: RatingScale) -> Result<TrainSet> {
        if ratings.is_empty() {
            return Err(Error::invalid("TrainSet", "no training ratings"));
        }
        if let Some(r) = ratings.iter().find(|r| r.user as usize >= n_users || r.item as usize >= n_items) {
            return Err(Error::invalid(
                "TrainSet",
                format!(
                    "rating of user {} item {} outside {n_users} users × {n_items} items",
                    r.user, r.item
                ),
            ));
        }
        let users: Vec<u32> = ratings.iter().map(|r| r.user).collect();
        let items: Vec<u32> = ratings.iter().map(|r| r.item).collect();
        let values: Vec<f64> = ratings.iter().map(|r| r.value).collect();
        let by_user = Csr::from_triplets(n_users, n_items, &users, &items, &values);
        let by_item = Csr::from_triplets(n_items, n_users, &items, &users, &values);
        let global_mean = values.iter().sum::<f64>() / values.len() as f64;
        Ok(TrainSet { n_users, n_items, by_user, by_item, users, items, ratings: values, global_mean, scale })
    }

    pub fn len(&self) -> usize {
        self.ratings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ratings.is_empty()
    }

    /// Whether user `u` has training ratings.
    pub fn knows_user(&self, u: usize) -> bool {
        u < self.n_users && self.by_user.row_len(u) > 0
    }

    /// Whether item `i` has training ratings.
    pub fn knows_item(&self, i: usize) -> bool {
        i < self.n_items && self.by_item.row_len(i) > 0
    }
}
