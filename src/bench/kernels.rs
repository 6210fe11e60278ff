//! The single-kernel cases: SGEMM and softmax.

use super::case::{Case, Work, keep};
use crate::tensor::{DType, Tensor};

/// A square `n×n · n×n` f32 matmul. Flops: $2n^3$ ($n^2$ outputs, each $n$ multiplies and $n$
/// adds). Bytes: $3 \cdot 4 n^2$ ($A$ and $B$ read once, $C$ written once).
pub fn sgemm(n: usize) -> Case {
    let flops = 2.0 * (n as f64).powi(3);
    let bytes = 3.0 * 4.0 * (n * n) as f64;
    Case::new(
        format!("sgemm_{n}"),
        Work::new(flops, bytes),
        format!("f32 matmul {n}×{n} · {n}×{n}"),
        move |rng| {
            let a = Tensor::randn(&[n, n], DType::F32, rng)?;
            let b = Tensor::randn(&[n, n], DType::F32, rng)?;
            Ok(Box::new(move || keep(a.matmul(&b)?)))
        },
    )
    .with_spec(format!("op=matmul dtype=f32 m={n} k={n} n={n} inputs=randn"))
}

/// Flops counted per element of a softmax: the row maximum's comparison, the subtraction, the
/// exponential (counted as one), the sum's addition and the scaling by the sum's inverse.
pub const SOFTMAX_FLOPS_PER_ELEMENT: f64 = 5.0;

/// Softmax over the rows of a `rows×cols` f32 matrix. Flops: [`SOFTMAX_FLOPS_PER_ELEMENT`] per
/// element. Bytes: one read and one write of every element, $2 \cdot 4 \cdot \text{rows} \cdot
/// \text{cols}$ (memory-bound: $I = 5/8$ flop/byte).
pub fn softmax(rows: usize, cols: usize) -> Case {
    let elems = (rows * cols) as f64;
    Case::new(
        format!("softmax_{rows}x{cols}"),
        Work::new(SOFTMAX_FLOPS_PER_ELEMENT * elems, 2.0 * 4.0 * elems),
        format!("f32 softmax over rows of {cols}, {rows} rows"),
        move |rng| {
            let x = Tensor::randn(&[rows, cols], DType::F32, rng)?;
            Ok(Box::new(move || keep(x.softmax(-1)?)))
        },
    )
    .with_spec(format!("op=softmax dtype=f32 rows={rows} cols={cols} dim=-1 inputs=randn"))
}
