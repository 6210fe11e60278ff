//! Compressed sparse rows: the ratings as `row → (column, value)` lists, and the co-rating pass
//! that every pairwise statistic (kNN similarities, Slope One deviations) is built on.
//!
//! Memory is proportional to the number of stored entries: a users × items matrix is never
//! materialised, and a pairwise result stores only pairs that share at least one rater.

use rayon::prelude::*;

/// A sparse matrix in CSR layout; within a row the columns are sorted (stably: duplicates keep
/// their input order).
#[derive(Clone, Debug, Default)]
pub struct Csr {
    /// Row `r` holds entries `indptr[r]..indptr[r + 1]`.
    pub indptr: Vec<usize>,
    /// Column of each entry.
    pub indices: Vec<u32>,
    /// Value of each entry.
    pub values: Vec<f64>,
    /// Number of columns.
    pub n_cols: usize,
}

impl Csr {
    /// From `(row, col, value)` triplets (a counting sort by row, then a stable sort by column).
    /// Callers guarantee `rows[n] < n_rows`, `cols[n] < n_cols`.
    pub fn from_triplets(n_rows: usize, n_cols: usize, rows: &[u32], cols: &[u32], vals: &[f64]) -> Csr {
        let mut indptr = vec![0usize; n_rows + 1];
        for &r in rows {
            indptr[r as usize + 1] += 1;
        }
        for r in 0..n_rows {
            indptr[r + 1] += indptr[r];
        }
        let mut next = indptr.clone();
        let nnz = rows.len();
        let mut indices = vec![0u32; nnz];
        let mut values = vec![0.0; nnz];
        for n in 0..nnz {
            let r = rows[n] as usize;
            indices[next[r]] = cols[n];
            values[next[r]] = vals[n];
            next[r] += 1;
        }
        let mut m = Csr { indptr, indices, values, n_cols };
        m.sort_rows();
        m
    }

    fn sort_rows(&mut self) {
        for r in 0..self.n_rows() {
            let (s, e) = (self.indptr[r], self.indptr[r + 1]);
            if self.indices[s..e].windows(2).all(|w| w[0] <= w[1]) {
                continue;
            }
            let mut pairs: Vec<(u32, f64)> =
                self.indices[s..e].iter().copied().zip(self.values[s..e].iter().copied()).collect();
            pairs.sort_by_key(|p| p.0);
            for (k, (c, v)) in pairs.into_iter().enumerate() {
                self.indices[s + k] = c;
                self.values[s + k] = v;
            }
        }
    }

    /// Assembles rows computed separately (each `(columns, values)`, columns sorted).
    pub fn from_rows(rows: Vec<(Vec<u32>, Vec<f64>)>, n_cols: usize) -> Csr {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        indptr.push(0);
        let nnz: usize = rows.iter().map(|r| r.0.len()).sum();
        let (mut indices, mut values) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        for (c, v) in rows {
            indices.extend(c);
            values.extend(v);
            indptr.push(indices.len());
        }
        Csr { indptr, indices, values, n_cols }
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The columns and values of row `r` (empty when `r` is out of range).
    pub fn row(&self, r: usize) -> (&[u32], &[f64]) {
        if r + 1 >= self.indptr.len() {
            return (&[], &[]);
        }
        let (s, e) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[s..e], &self.values[s..e])
    }

    /// The number of entries in row `r`.
    pub fn row_len(&self, r: usize) -> usize {
        self.row(r).0.len()
    }

    /// The value at `(r, c)` by binary search (the first when duplicated).
    pub fn get(&self, r: usize, c: u32) -> Option<f64> {
        let (cols, vals) = self.row(r);
        let k = cols.partition_point(|&x| x < c);
        (cols.get(k) == Some(&c)).then(|| vals[k])
    }

    /// The transpose (columns become rows), columns sorted within each row.
    pub fn transpose(&self) -> Csr {
        let mut rows = Vec::with_capacity(self.nnz());
        for r in 0..self.n_rows() {
            rows.extend(std::iter::repeat_n(r as u32, self.row_len(r)));
        }
        Csr::from_triplets(self.n_cols, self.n_rows(), &self.indices, &rows, &self.values)
    }

    /// The mean of each row's values (`None` for an empty row).
    pub fn row_means(&self) -> Vec<Option<f64>> {
        (0..self.n_rows())
            .map(|r| {
                let v = self.row(r).1;
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            })
            .collect()
    }
}

/// Sums over the raters common to two rows $a$, $b$ of `x_rows` (common columns $y$):
/// $n = |Y_{ab}|$, $\sum r_a r_b$, $\sum r_a^2$, $\sum r_b^2$, $\sum r_a$, $\sum r_b$,
/// $\sum (r_a - r_b)^2$, every sum over $y \in Y_{ab}$ only.
#[derive(Clone, Copy, Debug, Default)]
pub struct PairSums {
    pub n: u32,
    pub prods: f64,
    pub sq_a: f64,
    pub sq_b: f64,
    pub sum_a: f64,
    pub sum_b: f64,
    pub sq_diff: f64,
}

/// For every row $a$ of `x_rows` (rows $x$ → (column $y$, value)), and every other row $b$
/// sharing a column with it, `f(a, b, sums)`; the entries where `f` returns a value form an
/// $X \times X$ CSR. `y_rows` must be the transpose of `x_rows`.
///
/// Cost $\sum_y |\text{col}_y|^2$; rayon over $a$, each row with its own scratch (dense arrays
/// of length $X$, reused), summing in a fixed order: the result is thread-count independent.
pub fn co_rated<F>(x_rows: &Csr, y_rows: &Csr, f: F) -> Csr
where
    F: Fn(usize, usize, &PairSums) -> Option<f64> + Sync,
{
    let nx = x_rows.n_rows();
    let rows: Vec<(Vec<u32>, Vec<f64>)> = (0..nx)
        .into_par_iter()
        .map_init(
            || (vec![PairSums::default(); nx], Vec::<u32>::new()),
            |(acc, touched), a| {
                let (ys, ras) = x_rows.row(a);
                for (&y, &ra) in ys.iter().zip(ras) {
                    let (bs, rbs) = y_rows.row(y as usize);
                    for (&b, &rb) in bs.iter().zip(rbs) {
                        if b as usize == a {
                            continue;
                        }
                        let s = &mut acc[b as usize];
                        if s.n == 0 {
                            touched.push(b);
                        }
                        s.n += 1;
                        s.prods += ra * rb;
                        s.sq_a += ra * ra;
                        s.sq_b += rb * rb;
                        s.sum_a += ra;
                        s.sum_b += rb;
                        s.sq_diff += (ra - rb) * (ra - rb);
                    }
                }
                touched.sort_unstable();
                let (mut cols, mut vals) = (Vec::new(), Vec::new());
                for &b in touched.iter() {
                    if let Some(v) = f(a, b as usize, &acc[b as usize]) {
                        cols.push(b);
                        vals.push(v);
                    }
                    acc[b as usize] = PairSums::default();
                }
                touched.clear();
                (cols, vals)
            },
        )
        .collect();
    Csr::from_rows(rows, nx)
}
