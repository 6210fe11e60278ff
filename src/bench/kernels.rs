//! The single-kernel cases: SGEMM and softmax.

use super::case::{Case, Work, keep};
use crate::tensor::{DType, Tensor};

/// A square `n×n · n×n` f32 matmul: $2n^3$ flops.
pub fn sgemm(n: usize) -> Case {
    let flops = 2.0 * (n as f64).powi(3);
    Case::new(
        format!("sgemm_{n}"),
        Work::Flops(flops),
        format!("f32 matmul {n}×{n} · {n}×{n}"),
        move |rng| {
            let a = Tensor::randn(&[n, n], DType::F32, rng)?;
            let b = Tensor::randn(&[n, n], DType::F32, rng)?;
            Ok(Box::new(move || keep(a.matmul(&b)?)))
        },
    )
}

/// Softmax over the rows of a `rows×cols` f32 matrix: memory-bound, one read and one write of every
/// element, $2 \cdot 4 \cdot \text{rows} \cdot \text{cols}$ bytes.
pub fn softmax(rows: usize, cols: usize) -> Case {
    let bytes = 2.0 * 4.0 * (rows * cols) as f64;
    Case::new(
        format!("softmax_{rows}x{cols}"),
        Work::Bytes(bytes),
        format!("f32 softmax over rows of {cols}, {rows} rows"),
        move |rng| {
            let x = Tensor::randn(&[rows, cols], DType::F32, rng)?;
            Ok(Box::new(move || keep(x.softmax(-1)?)))
        },
    )
}
