//! Matrix multiplication, `torch.matmul` semantics.
//!
//! $$C_{ij} = \sum_{k} A_{ik} B_{kj}, \qquad
//! \frac{\partial L}{\partial A} = G B^{\top}, \qquad \frac{\partial L}{\partial B} = A^{\top} G$$
//!
//! for every matrix of a batch. Leading (batch) dimensions broadcast, and the gradients are summed
//! back over the broadcast ones. A 1-D left operand is a row vector and a 1-D right operand a
//! column vector; their added dimension is removed from the result, as in PyTorch.
//!
//! The kernel is the CPU backend's packed GEMM ([`crate::device::cpu::gemm`]), which takes
//! arbitrary strides: a transposed view is multiplied without a copy (the packing reads it in
//! place). A single large product splits its rows or columns of micro-tiles across rayon's
//! threads ([`crate::device::cpu::gemm::driver`]); a batch runs its
//! products in parallel with rayon, each on one thread. Either way each output element is one dot
//! product in a fixed order, so results do not depend on threads.

use ndarray::{ArcArray, ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::shape::broadcast_shapes;
use crate::error::{Error, Result};
use crate::ops::common::same_dtype;
use crate::tensor::{Data, Float, Tensor};

use crate::device::cpu::SendPtr;

/// Batched GEMM over arrays of rank ≥ 2 whose batch dimensions broadcast.
pub(crate) fn matmul_arrays<T: Float>(
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
) -> Result<ArcArray<T, IxDyn>> {
    let (sa, sb) = (a.shape(), b.shape());
    let (ra, rb) = (sa.len(), sb.len());
    let (m, k, k2, n) = (sa[ra - 2], sa[ra - 1], sb[rb - 2], sb[rb - 1]);
    if k != k2 {
        return Err(Error::mismatch(
            "matmul",
            sa,
            sb,
            format!("inner dimensions differ: {k} (columns of a) vs {k2} (rows of b)"),
        ));
    }
    let batch = broadcast_shapes("matmul", &sa[..ra - 2], &sb[..rb - 2])
        .map_err(|_| Error::mismatch("matmul", sa, sb, "batch dimensions do not broadcast"))?;
    let mut full_a = batch.clone();
    full_a.extend([m, k]);
    let mut full_b = batch.clone();
    full_b.extend([k, n]);
    let av = a.broadcast(IxDyn(&full_a)).ok_or_else(|| Error::mismatch("matmul", sa, sb, "broadcast"))?;
    let bv = b.broadcast(IxDyn(&full_b)).ok_or_else(|| Error::mismatch("matmul", sa, sb, "broadcast"))?;
    let (sta, stb) = (av.strides().to_vec(), bv.strides().to_vec());
    let nb = batch.len();
    let count: usize = batch.iter().product();
    let mut out_shape = batch.clone();
    out_shape.extend([m, n]);
    let mut out = ArrayD::<T>::zeros(IxDyn(&out_shape));
    if m == 0 || n == 0 || count == 0 {
        return Ok(out.into_shared());
    }
    let (pa, pb) = (SendPtr(av.as_ptr() as *mut T), SendPtr(bv.as_ptr() as *mut T));
    // Offset (in elements) of batch `idx` in a view with strides `st`.
    let offset = |mut idx: usize, st: &[isize]| -> isize {
        let mut off = 0isize;
        for d in (0..nb).rev() {
            off += (idx % batch[d]) as isize * st[d];
            idx /= batch[d];
        }
        off
    };
    let one_product = |i: usize, c: &mut [T]| {
        let (oa, ob) = (offset(i, &sta), offset(i, &stb));
        // SAFETY: offsets and strides come from valid broadcast views of `a` and `b` (kept alive
        // by `av`/`bv`); `c` is a disjoint m×n row-major block of `out`.
        unsafe {
            T::gemm(
                m,
                k,
                n,
                T::one(),
                pa.get().offset(oa),
                sta[nb],
                sta[nb + 1],
                pb.get().offset(ob),
                stb[nb],
                stb[nb + 1],
                T::zero(),
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    };
    // ok: a freshly made ArrayD is contiguous
    let out_slice = out.as_slice_mut().expect("fresh array is contiguous");
    if count == 1 {
        one_product(0, out_slice);
    } else {
        out_slice.par_chunks_mut(m * n).enumerate().for_each(|(i, c)| one_product(i, c));
    }
    Ok(out.into_shared())
}

impl Tensor {
    /// `torch.matmul`: matrix product with broadcast batch dimensions (see the module docs).
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        same_dtype("matmul", self, other)?;
        let (sa, sb) = (self.shape(), other.shape());
        if sa.is_empty() || sb.is_empty() {
            return Err(Error::mismatch("matmul", &sa, &sb, "both operands need at least one dimension"));
        }
        let a = if sa.len() == 1 { self.unsqueeze(0)? } else { self.clone() };
        let b = if sb.len() == 1 { other.unsqueeze(1)? } else { other.clone() };
        if a.shape()[a.dims() - 1] != b.shape()[b.dims() - 2] {
            return Err(Error::mismatch(
                "matmul",
                &sa,
                &sb,
                format!(
                    "inner dimensions differ: {} (last of a) vs {} (second-to-last of b)",
                    a.shape()[a.dims() - 1],
                    b.shape()[b.dims() - 2]
                ),
            ));
        }
        let mut c = matmul_nd(&a, &b).map_err(|e| match e {
            Error::ShapeMismatch { msg, .. } => Error::mismatch("matmul", &sa, &sb, msg),
            e => e,
        })?;
        if sb.len() == 1 {
            c = c.squeeze(Some(-1))?;
        }
        if sa.len() == 1 {
            c = c.squeeze(Some(if sb.len() == 1 { -1 } else { -2 }))?;
        }
        Ok(c)
    }
}

/// Both operands of rank ≥ 2.
fn matmul_nd(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (da, db) = (a.data(), b.data());
    let c = match (&da, &db) {
        (Data::F32(x), Data::F32(y)) => Data::F32(matmul_arrays(x, y)?),
        (Data::F64(x), Data::F64(y)) => Data::F64(matmul_arrays(x, y)?),
        #[cfg(feature = "cuda")]
        (Data::Cuda(x), Data::Cuda(y)) => Data::Cuda(crate::device::cuda::matmul::matmul(x, y)?),
        #[cfg(feature = "cuda")]
        (Data::Cuda(_), _) | (_, Data::Cuda(_)) => {
            return Err(crate::ops::common::device_mismatch("matmul", &da, &db));
        }
        _ => return Err(crate::ops::common::dtype_error("matmul", &da, &db)),
    };
    let (at, bt) = (a.detach(), b.detach());
    let (ra, rb) = (a.requires_grad(), b.requires_grad());
    Ok(record(c, "matmul", &[a, b], move |g| {
        let ga = if ra { Some(g.matmul(&bt.transpose(-1, -2)?)?.sum_to(&at.shape())?) } else { None };
        let gb = if rb { Some(at.transpose(-1, -2)?.matmul(g)?.sum_to(&bt.shape())?) } else { None };
        Ok(vec![ga, gb])
    }))
}
