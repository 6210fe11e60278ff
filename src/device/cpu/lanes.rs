//! Lanes: the 1-D slices of a tensor along one dimension, the unit of work of every op that reduces,
//! sorts or normalises along a dimension (softmax, max, sort, topk, ...).
//!
//! A row-major shape seen along `dim` is `(outer, n, inner)`: lane `(o, i)` starts at
//! `o * n * inner + i` and steps by `inner`. Ops hand lanes to rayon as independent tasks and treat
//! each lane sequentially, so results do not depend on the thread count.

/// The `(outer, n, inner)` view of a shape along one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lanes {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
}

impl Lanes {
    /// The lanes of `shape` along `dim` (a 0-d tensor is one lane of one element).
    pub(crate) fn new(shape: &[usize], dim: usize) -> Lanes {
        if shape.is_empty() {
            return Lanes { outer: 1, n: 1, inner: 1 };
        }
        Lanes {
            outer: shape[..dim].iter().product(),
            n: shape[dim],
            inner: shape[dim + 1..].iter().product(),
        }
    }
}
