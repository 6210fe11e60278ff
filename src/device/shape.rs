//! Shape arithmetic shared by the ops: NumPy broadcasting and dimension arguments.

use crate::error::{Error, Result};

/// The NumPy/PyTorch broadcast of two shapes: align from the right; each pair of sizes must be
/// equal or one of them 1; the result takes the larger.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() { 1 } else { a[i - (rank - a.len())] };
        let db = if i < rank - b.len() { 1 } else { b[i - (rank - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => {
                return Err(Error::mismatch(
                    op,
                    a,
                    b,
                    format!("cannot broadcast: size {x} against {y} at dimension {i} of the result"),
                ));
            }
        };
    }
    Ok(out)
}

/// Turns a possibly negative dimension into an index `0..rank`.
pub fn normalize_dim(op: &'static str, dim: isize, shape: &[usize]) -> Result<usize> {
    normalize_dim_rank(op, dim, shape.len(), shape)
}

/// Like [`normalize_dim`] for a rank other than `shape.len()` (e.g. `unsqueeze`, rank + 1).
pub fn normalize_dim_rank(op: &'static str, dim: isize, rank: usize, shape: &[usize]) -> Result<usize> {
    // A 0-d tensor accepts 0 and -1, as in PyTorch.
    let r = (rank as isize).max(1);
    let d = if dim < 0 { dim + r } else { dim };
    if d < 0 || d >= r {
        return Err(Error::Dim { op, dim, shape: shape.to_vec() });
    }
    Ok(d as usize)
}

/// Normalises a list of dimensions, rejecting repeats; `None` means every dimension.
pub fn normalize_dims(op: &'static str, dims: Option<&[isize]>, shape: &[usize]) -> Result<Vec<usize>> {
    let mut out = match dims {
        None => (0..shape.len()).collect::<Vec<_>>(),
        Some(ds) => ds.iter().map(|&d| normalize_dim(op, d, shape)).collect::<Result<Vec<_>>>()?,
    };
    out.sort_unstable();
    if out.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::shape(op, shape, format!("repeated dimension in {dims:?}")));
    }
    Ok(out)
}

/// The shape left after reducing `dims` (kept as size 1 with `keepdim`).
pub fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, &s) in shape.iter().enumerate() {
        if dims.contains(&i) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[3, 1, 5], &[4, 1]).unwrap(), vec![3, 4, 5]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 3]).unwrap(), vec![2, 3]);
        assert!(broadcast_shapes("t", &[3], &[4]).is_err());
    }

    #[test]
    fn dims_normalise() {
        assert_eq!(normalize_dim("t", -1, &[2, 3]).unwrap(), 1);
        assert!(normalize_dim("t", 2, &[2, 3]).is_err());
        assert!(normalize_dim("t", -3, &[2, 3]).is_err());
        assert_eq!(normalize_dim("t", 0, &[]).unwrap(), 0);
    }
}
