//! Tabular preprocessing, fitted on the training rows only and then applied to any rows:
//!
//! - numeric column $j$: standardised, $z = (x - \mu_j)/\sigma_j$ with $\mu_j$, $\sigma_j$ the
//!   mean and population standard deviation ($\frac1n$, scikit-learn's `StandardScaler`) over the
//!   **training rows**; $\sigma_j = 0$ is replaced by 1;
//! - categorical column: its training categories, sorted, numbered $0..K$; a value is encoded
//!   as that index (for an embedding; an unseen value gets index $K$, one past the known ones) or
//!   one-hot, $e_k \in \{0, 1\}^K$ (an unseen value gives all zeros, scikit-learn's
//!   `handle_unknown="ignore"`).
//!
//! Fitting on the training split alone keeps test-fold statistics out of the model: the encoder
//! holds $\mu$, $\sigma$ and the category lists, nothing else. A fitted encoder stored elsewhere (a
//! checkpoint) is rebuilt for another file by [`TabularEncoder::from_fitted`], which finds each
//! column by name in that file's header: nothing is refitted.

use super::csv::{CsvTable, parse_finite};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// $\mu$ and $\sigma$ of one numeric column.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    pub mean: f64,
    pub std: f64,
}

impl Standardizer {
    /// Fits $\mu$ and the population $\sigma$ of `xs` (at least one value).
    pub fn fit(xs: &[f64]) -> Result<Standardizer> {
        if xs.is_empty() {
            return Err(Error::invalid("Standardizer", "cannot fit on no values"));
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let std = if var > 0.0 { var.sqrt() } else { 1.0 };
        Ok(Standardizer { mean, std })
    }
    /// $(x - \mu)/\sigma$
    pub fn transform(&self, x: f64) -> f64 {
        (x - self.mean) / self.std
    }
}

/// The sorted categories of one column, as seen in the training rows.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryIndex {
    pub categories: Vec<String>,
}

impl CategoryIndex {
    pub fn fit<'a>(values: impl IntoIterator<Item = &'a str>) -> CategoryIndex {
        let mut categories: Vec<String> = values.into_iter().map(str::to_string).collect();
        categories.sort();
        categories.dedup();
        CategoryIndex { categories }
    }
    /// The index of `v`, or `None` when it was not seen in training.
    pub fn index(&self, v: &str) -> Option<usize> {
        self.categories.binary_search_by(|c| c.as_str().cmp(v)).ok()
    }
    /// $K$, the number of known categories.
    pub fn len(&self) -> usize {
        self.categories.len()
    }
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }
}

/// The columns of a table whose every value is a finite number (see [`parse_finite`]).
pub fn numeric_columns(table: &CsvTable) -> Vec<usize> {
    let cols = table.rows.first().map_or(0, Vec::len);
    (0..cols).filter(|&c| table.rows.iter().all(|r| parse_finite(&r[c]).is_ok())).collect()
}

/// Looks a column up by name in the table's header.
pub fn column(table: &CsvTable, name: &str) -> Result<usize> {
    let headers =
        table.headers.as_ref().ok_or_else(|| Error::invalid("tabular", "the table has no header"))?;
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| Error::invalid("tabular", format!("no column named {name:?}")))
}

/// Standardisers and category lists fitted on training rows (see the module docs).
#[derive(Clone, Debug)]
pub struct TabularEncoder {
    /// (column index, name, fitted standardiser).
    pub numeric: Vec<(usize, String, Standardizer)>,
    /// (column index, name, fitted categories).
    pub categorical: Vec<(usize, String, CategoryIndex)>,
}

fn check_rows(table: &CsvTable, rows: &[usize]) -> Result<()> {
    if let Some(&r) = rows.iter().find(|&&r| r >= table.rows.len()) {
        return Err(Error::invalid(
            "tabular",
            format!("row {r} is out of range (the table has {})", table.rows.len()),
        ));
    }
    Ok(())
}

fn parse(table: &CsvTable, r: usize, c: usize) -> Result<f64> {
    parse_finite(&table.rows[r][c])
        .map_err(|why| Error::invalid("tabular", format!("{}: {why}", table.place(r, c))))
}

impl TabularEncoder {
    /// Fits on the training rows `rows` of `table`: the named numeric and categorical columns.
    pub fn fit(
        table: &CsvTable,
        numeric: &[&str],
        categorical: &[&str],
        rows: &[usize],
    ) -> Result<TabularEncoder> {
        check_rows(table, rows)?;
        if rows.is_empty() {
            return Err(Error::invalid("TabularEncoder", "cannot fit on no rows"));
        }
        let mut num = Vec::new();
        for &name in numeric {
            let c = column(table, name)?;
            let xs = rows.iter().map(|&r| parse(table, r, c)).collect::<Result<Vec<f64>>>()?;
            num.push((c, name.to_string(), Standardizer::fit(&xs)?));
        }
        let mut cat = Vec::new();
        for &name in categorical {
            let c = column(table, name)?;
            cat.push((
                c,
                name.to_string(),
                CategoryIndex::fit(rows.iter().map(|&r| table.rows[r][c].as_str())),
            ));
        }
        Ok(TabularEncoder { numeric: num, categorical: cat })
    }

    /// An encoder already fitted (each column's name with its [`Standardizer`] or
    /// [`CategoryIndex`], in feature order), applied to `table`: each column is looked up by name
    /// in `table`'s header (its position may differ from the training file's); a missing column is
    /// an error naming it. The statistics are used as given, never refitted on `table`.
    pub fn from_fitted(
        table: &CsvTable,
        numeric: Vec<(String, Standardizer)>,
        categorical: Vec<(String, CategoryIndex)>,
    ) -> Result<TabularEncoder> {
        let numeric =
            numeric.into_iter().map(|(n, s)| Ok((column(table, &n)?, n, s))).collect::<Result<Vec<_>>>()?;
        let categorical = categorical
            .into_iter()
            .map(|(n, c)| Ok((column(table, &n)?, n, c)))
            .collect::<Result<Vec<_>>>()?;
        Ok(TabularEncoder { numeric, categorical })
    }

    /// The standardised numeric columns of `rows`, shape (n, p).
    pub fn numeric_matrix(&self, table: &CsvTable, rows: &[usize], dtype: DType) -> Result<Tensor> {
        check_rows(table, rows)?;
        let mut v = Vec::with_capacity(rows.len() * self.numeric.len());
        for &r in rows {
            for (c, _, s) in &self.numeric {
                v.push(s.transform(parse(table, r, *c)?));
            }
        }
        Tensor::from_vec(v, &[rows.len(), self.numeric.len()])?.to_dtype(dtype)
    }

    /// The category index of every categorical column of `rows`, shape (n, q) i64; an unseen
    /// value of column $j$ gets $K_j$.
    pub fn category_indices(&self, table: &CsvTable, rows: &[usize]) -> Result<Tensor> {
        check_rows(table, rows)?;
        let mut v = Vec::with_capacity(rows.len() * self.categorical.len());
        for &r in rows {
            for (c, _, cats) in &self.categorical {
                v.push(cats.index(&table.rows[r][*c]).unwrap_or(cats.len()) as i64);
            }
        }
        Tensor::from_vec(v, &[rows.len(), self.categorical.len()])
    }

    /// $K_j$ of each categorical column (an embedding for column $j$ needs $K_j + 1$ rows, the
    /// last for unseen values).
    pub fn cardinalities(&self) -> Vec<usize> {
        self.categorical.iter().map(|(_, _, c)| c.len()).collect()
    }

    /// The width of [`TabularEncoder::one_hot_matrix`]: $p + \sum_j K_j$.
    pub fn one_hot_width(&self) -> usize {
        self.numeric.len() + self.cardinalities().iter().sum::<usize>()
    }

    /// The names of the one-hot matrix's columns: the numeric names, then `name=category`.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.numeric.iter().map(|(_, n, _)| n.clone()).collect();
        for (_, n, cats) in &self.categorical {
            names.extend(cats.categories.iter().map(|c| format!("{n}={c}")));
        }
        names
    }

    /// Standardised numerics followed by one-hot categoricals, shape (n, [`one_hot_width`](Self::one_hot_width)).
    pub fn one_hot_matrix(&self, table: &CsvTable, rows: &[usize], dtype: DType) -> Result<Tensor> {
        check_rows(table, rows)?;
        let width = self.one_hot_width();
        let mut v = vec![0.0; rows.len() * width];
        for (i, &r) in rows.iter().enumerate() {
            let row = &mut v[i * width..(i + 1) * width];
            for (j, (c, _, s)) in self.numeric.iter().enumerate() {
                row[j] = s.transform(parse(table, r, *c)?);
            }
            let mut off = self.numeric.len();
            for (c, _, cats) in &self.categorical {
                if let Some(k) = cats.index(&table.rows[r][*c]) {
                    row[off + k] = 1.0;
                }
                off += cats.len();
            }
        }
        Tensor::from_vec(v, &[rows.len(), width])?.to_dtype(dtype)
    }
}
