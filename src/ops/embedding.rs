//! Embedding lookup: `F.embedding`, the document's word vectors $w_i \in \mathbb{R}^d$ (§1.3.3.1).
//!
//! For token ids $\mathrm{idx}$ of any shape $S$ (i64) and a table $W$ $(V \times D)$:
//!
//! $$y_{p,:} = W_{\mathrm{idx}_p,:} \qquad \text{for every position } p \text{ of } S,
//! \qquad y \in \mathbb{R}^{S \times D}.$$
//!
//! The gradient scatter-adds the upstream rows into the rows that were read; repeated ids
//! accumulate, and the `padding_idx` row gets none (PyTorch's rule; its value is still read):
//!
//! $$\bar W_{v,:} = \sum_{p \,:\, \mathrm{idx}_p = v,\; v \ne \mathrm{pad}} \bar y_{p,:}.$$
//!
//! The indices get no gradient. Saved for backward: the ids, $V$, $D$, `padding_idx`.
//!
//! **Kernel.** Forward copies rows (rayon over positions). Backward sorts the positions by id
//! (stably, so each id's positions stay in order), then sums each id's rows in that order (rayon
//! over distinct ids): the result does not depend on the thread count.
//!
//! **On a GPU** (feature `cuda`, weight on the device): `kernels/embedding.cu` through
//! `cuda::embedding`, the same order of additions (a CSR of the ids built on the host), so the
//! gradient sums in the CPU's order (not yet run on a GPU). The ids may be on the CPU or on the
//! weight's GPU; they are validated on the host. The row-sparse gradient below works there too:
//! its rows stay on the host, its values on the weight's GPU.
//!
//! **Row-sparse gradient.** [`Tensor::embedding_sparse_grad`] computes the same gradient but keeps
//! only the touched rows, a [`SparseGrad`] `{ rows (sorted, unique), values (len, D) }`, stored
//! beside the weight and read with [`Tensor::sparse_grad`]; the dense `weight.grad()` is left
//! alone. Several backward passes accumulate (the union of rows, values added). An optimizer
//! consumes it with [`Tensor::take_sparse_grad`] (which also clears it) and updates only those
//! rows, $r_k = $ `rows[k]`, $g_k = $ `values[k, :]`:
//!
//! - SGD: $W_{r_k,:} \mathrel{-}= \eta\, g_k$.
//! - sparse (lazy) Adam, PyTorch's `SparseAdam`: $m_{r_k} \leftarrow \beta_1 m_{r_k} + (1-\beta_1)
//!   g_k$, $v_{r_k} \leftarrow \beta_2 v_{r_k} + (1-\beta_2) g_k^2$, $W_{r_k,:} \mathrel{-}= \eta\,
//!   \hat m_{r_k} / (\sqrt{\hat v_{r_k}} + \varepsilon)$ with the bias corrections of the global step
//!   count; untouched rows keep their moments and values.
//!
//! `zero_grad()` does not clear a sparse gradient; [`Tensor::zero_sparse_grad`] does.

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::device::cpu::min_rows;
use crate::error::{Error, Result};
use crate::tensor::{Data, Float, SparseGrad, Tensor};

#[cfg(feature = "cuda")]
use crate::dtype::DType;
#[cfg(feature = "cuda")]
use crate::ops::device_data::cuda_input;

impl SparseGrad {
    /// The dense $(V \times D)$ gradient.
    pub fn to_dense(&self, num_rows: usize) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if self.values.device().is_cuda() {
            let values = cuda_input("sparse_grad", &self.values, None)?;
            let dense = crate::device::cuda::embedding::sparse_to_dense(&self.rows, &values, num_rows)?;
            return Ok(Tensor::from_data(Data::Cuda(dense)));
        }
        let vs = self.values.shape();
        let d = vs.get(1).copied().unwrap_or(0);
        let data = match self.values.data().contiguous() {
            Data::F32(a) => Data::F32(scatter(a.as_slice().unwrap_or(&[]), &self.rows, num_rows, d)?),
            Data::F64(a) => Data::F64(scatter(a.as_slice().unwrap_or(&[]), &self.rows, num_rows, d)?),
            other => {
                return Err(Error::UnsupportedDType {
                    op: "sparse_grad",
                    dtype: other.dtype(),
                    shape: vs,
                    expected: "f32 or f64",
                });
            }
        };
        Ok(Tensor::from_data(data))
    }

    /// The sum of two sparse gradients of one table: the union of their rows.
    pub fn add(&self, other: &SparseGrad) -> Result<SparseGrad> {
        #[cfg(feature = "cuda")]
        if self.values.device().is_cuda() || other.values.device().is_cuda() {
            use crate::device::cuda::embedding::{sparse_add, sparse_values};
            let op = "sparse_grad";
            let va = sparse_values(op, &cuda_input(op, &self.values, None)?, self.rows.len())?;
            let vb = sparse_values(op, &cuda_input(op, &other.values, Some(va.gpu()))?, other.rows.len())?;
            let (rows, values) = sparse_add(&self.rows, &va, &other.rows, &vb)?;
            return Ok(SparseGrad { rows, values: Tensor::from_data(Data::Cuda(values)) });
        }
        let (sa, sb) = (self.values.shape(), other.values.shape());
        if sa.len() != 2 || sb.len() != 2 || sa[1] != sb[1] {
            return Err(Error::mismatch("sparse_grad", &sa, &sb, "values must both be (rows, D) with one D"));
        }
        let d = sa[1];
        fn merge<T: Float>(ra: &[i64], a: &[T], rb: &[i64], b: &[T], d: usize) -> (Vec<i64>, Vec<T>) {
            let (mut rows, mut vals) = (Vec::new(), Vec::new());
            let (mut i, mut j) = (0, 0);
            while i < ra.len() || j < rb.len() {
                if j == rb.len() || (i < ra.len() && ra[i] < rb[j]) {
                    rows.push(ra[i]);
                    vals.extend_from_slice(&a[i * d..(i + 1) * d]);
                    i += 1;
                } else if i == ra.len() || rb[j] < ra[i] {
                    rows.push(rb[j]);
                    vals.extend_from_slice(&b[j * d..(j + 1) * d]);
                    j += 1;
                } else {
                    rows.push(ra[i]);
                    vals.extend(
                        a[i * d..(i + 1) * d].iter().zip(&b[j * d..(j + 1) * d]).map(|(&x, &y)| x + y),
                    );
                    i += 1;
                    j += 1;
                }
            }
            (rows, vals)
        }
        let (rows, values) = match (self.values.data().contiguous(), other.values.data().contiguous()) {
            (Data::F32(a), Data::F32(b)) => {
                let (r, v) = merge(
                    &self.rows,
                    a.as_slice().unwrap_or(&[]),
                    &other.rows,
                    b.as_slice().unwrap_or(&[]),
                    d,
                );
                let n = r.len();
                (r, Tensor::from_vec(v, &[n, d])?)
            }
            (Data::F64(a), Data::F64(b)) => {
                let (r, v) = merge(
                    &self.rows,
                    a.as_slice().unwrap_or(&[]),
                    &other.rows,
                    b.as_slice().unwrap_or(&[]),
                    d,
                );
                let n = r.len();
                (r, Tensor::from_vec(v, &[n, d])?)
            }
            (a, b) => return Err(crate::ops::common::dtype_error("sparse_grad", &a, &b)),
        };
        Ok(SparseGrad { rows, values })
    }
}

impl Tensor {
    /// `F.embedding(indices, weight, padding_idx)`: the rows of `weight (V, D)` named by the i64
    /// `indices` (any shape); output `indices.shape + [D]`. A negative `padding_idx` counts from
    /// the end, as in PyTorch. The gradient is dense (see the module docs).
    pub fn embedding(indices: &Tensor, weight: &Tensor, padding_idx: Option<i64>) -> Result<Tensor> {
        embedding_op(indices, weight, padding_idx, false)
    }

    /// Like [`Tensor::embedding`], but the weight's gradient is row-sparse: it accumulates into
    /// [`Tensor::sparse_grad`] of `weight` (a leaf), and `weight.grad()` stays untouched.
    pub fn embedding_sparse_grad(
        indices: &Tensor,
        weight: &Tensor,
        padding_idx: Option<i64>,
    ) -> Result<Tensor> {
        if weight.requires_grad() && !weight.is_leaf() {
            return Err(Error::invalid(
                "embedding",
                "a sparse gradient needs a leaf weight (a parameter), not the result of another op",
            ));
        }
        embedding_op(indices, weight, padding_idx, true)
    }

    /// The accumulated row-sparse gradient of a table used by [`Tensor::embedding_sparse_grad`].
    pub fn sparse_grad(&self) -> Option<SparseGrad> {
        self.0.sparse_grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Returns and clears the row-sparse gradient (what an optimizer step does).
    pub fn take_sparse_grad(&self) -> Option<SparseGrad> {
        self.0.sparse_grad.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Forgets the row-sparse gradient.
    pub fn zero_sparse_grad(&self) {
        let _ = self.take_sparse_grad();
    }

    /// `sparse_grad += g`.
    pub(crate) fn accumulate_sparse_grad(&self, g: SparseGrad) -> Result<()> {
        let mut slot = self.0.sparse_grad.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(match slot.take() {
            Some(old) => old.add(&g)?,
            None => g,
        });
        Ok(())
    }
}

fn embedding_op(indices: &Tensor, weight: &Tensor, padding_idx: Option<i64>, sparse: bool) -> Result<Tensor> {
    const OP: &str = "embedding";
    let ws = weight.shape();
    if ws.len() != 2 {
        return Err(Error::shape(
            OP,
            &ws,
            "the weight must be a (V, D) table: vocabulary size × embedding size",
        ));
    }
    let (v, d) = (ws[0], ws[1]);
    // Ids on a GPU are copied to the host: they are validated there (and the CUDA backward builds
    // its CSR from them).
    let ids = match indices.data().to_host()? {
        Data::I64(a) => a.iter().copied().collect::<Vec<i64>>(),
        other => {
            return Err(Error::UnsupportedDType {
                op: OP,
                dtype: other.dtype(),
                shape: other.shape().to_vec(),
                expected: "int64 token ids",
            });
        }
    };
    let is = indices.shape();
    if let Some(&bad) = ids.iter().find(|&&id| id < 0 || id as u64 >= v as u64) {
        return Err(Error::Index {
            op: OP,
            index: bad,
            size: v,
            shape: is,
            msg: format!("token id {bad} is outside the vocabulary of the (V, D) = {ws:?} table"),
        });
    }
    let pad = match padding_idx {
        None => None,
        Some(p) if p >= -(v as i64) && p < v as i64 => Some(if p < 0 { p + v as i64 } else { p }),
        Some(p) => {
            return Err(Error::Index {
                op: OP,
                index: p,
                size: v,
                shape: ws,
                msg: "padding_idx must lie in -V..V".into(),
            });
        }
    };
    let mut out_shape = is.clone();
    out_shape.push(d);
    #[cfg(feature = "cuda")]
    if let (i @ Data::Cuda(_), w) = (indices.data(), weight.data())
        && !matches!(w, Data::Cuda(_))
    {
        return Err(crate::ops::common::device_mismatch(OP, &i, &w));
    }
    let (y, saved) = match weight.data() {
        #[cfg(feature = "cuda")]
        Data::Cuda(_) => cuda_forward(indices, weight, &ids, &out_shape)?,
        _ => match weight.data().contiguous() {
            Data::F32(w) => (forward::<f32>(w.as_slice().unwrap_or(&[]), &ids, d, &out_shape)?, Saved::F32),
            Data::F64(w) => (forward::<f64>(w.as_slice().unwrap_or(&[]), &ids, d, &out_shape)?, Saved::F64),
            other => {
                return Err(Error::UnsupportedDType {
                    op: OP,
                    dtype: other.dtype(),
                    shape: ws,
                    expected: "f32 or f64",
                });
            }
        },
    };
    // The one record of the op, for both devices; the backward runs where the forward ran.
    let table = sparse.then(|| weight.clone());
    Ok(record(y, OP, &[indices, weight], move |g| {
        let sparse = table.is_some();
        let grad = match &saved {
            Saved::F32 => backward::<f32>(g, &ids, pad, (v, d), sparse)?,
            Saved::F64 => backward::<f64>(g, &ids, pad, (v, d), sparse)?,
            #[cfg(feature = "cuda")]
            Saved::Cuda { gpu, dtype } => cuda_backward(g, gpu, *dtype, &ids, pad, (v, d), sparse)?,
        };
        match grad {
            // Sparse exactly when there is a table to accumulate into.
            WeightGrad::Sparse(sg) => {
                if let Some(table) = &table {
                    table.accumulate_sparse_grad(sg)?;
                }
                Ok(vec![None, None])
            }
            WeightGrad::Dense(dw) => Ok(vec![None, Some(dw)]),
        }
    }))
}

/// What the backward needs besides the ids: the device and dtype the forward ran in.
enum Saved {
    F32,
    F64,
    #[cfg(feature = "cuda")]
    Cuda {
        gpu: std::sync::Arc<crate::device::cuda::Gpu>,
        dtype: DType,
    },
}

/// The weight's gradient: dense $(V, D)$, or row-sparse for `embedding_sparse_grad`.
enum WeightGrad {
    Dense(Tensor),
    Sparse(SparseGrad),
}

/// The CPU forward: the rows of `w` $(V, D)$ named by the (checked) `ids`, shape `out_shape`.
fn forward<T: Float>(w: &[T], ids: &[i64], d: usize, out_shape: &[usize]) -> Result<Data> {
    let mut y = vec![T::zero(); ids.len() * d];
    if d > 0 {
        y.par_chunks_mut(d).zip(ids.par_iter()).with_min_len(min_rows(d)).for_each(|(row, &id)| {
            let id = id as usize;
            row.copy_from_slice(&w[id * d..(id + 1) * d]);
        });
    }
    let y = ArrayD::from_shape_vec(IxDyn(out_shape), y)
        .map_err(|e| Error::shape("embedding", out_shape, e.to_string()))?;
    Ok(T::wrap(y.into_shared()))
}

/// The CPU backward for the upstream gradient `g`: the rows' sums of [`grouped_grad`], scattered
/// into a dense $(V, D)$ gradient or kept as a row-sparse one.
fn backward<T: Float>(
    g: &Tensor,
    ids: &[i64],
    pad: Option<i64>,
    (v, d): (usize, usize),
    sparse: bool,
) -> Result<WeightGrad> {
    let g = g.to_vec::<T>()?;
    let (rows, values) = grouped_grad(ids, pad, &g, d);
    Ok(if sparse {
        let n = rows.len();
        WeightGrad::Sparse(SparseGrad { rows, values: Tensor::from_vec(values, &[n, d])? })
    } else {
        WeightGrad::Dense(Tensor::from_data(T::wrap(scatter(&values, &rows, v, d)?)))
    })
}

/// The forward with the weight on a GPU (`device::cuda::embedding`): the ids are used from the
/// weight's GPU or uploaded from `ids`, their host copy.
#[cfg(feature = "cuda")]
fn cuda_forward(
    indices: &Tensor,
    weight: &Tensor,
    ids: &[i64],
    out_shape: &[usize],
) -> Result<(Data, Saved)> {
    use crate::device::cuda::{copy::contiguous, launch::float_dtype};
    const OP: &str = "embedding";
    let w = cuda_input(OP, weight, None)?;
    let gpu = w.gpu().clone();
    let dtype = float_dtype(OP, &w)?;
    let w = contiguous(&w)?;
    let dev_ids = crate::ops::device_data::ids_on(OP, indices, ids, &gpu)?;
    let y = crate::device::cuda::embedding::forward(&dev_ids, &w, out_shape)?;
    Ok((Data::Cuda(y), Saved::Cuda { gpu, dtype }))
}

/// The backward with the weight on `gpu` (`device::cuda::embedding`): the same sums, in the same
/// order, as the CPU's.
#[cfg(feature = "cuda")]
fn cuda_backward(
    g: &Tensor,
    gpu: &std::sync::Arc<crate::device::cuda::Gpu>,
    dtype: DType,
    ids: &[i64],
    pad: Option<i64>,
    (v, d): (usize, usize),
    sparse: bool,
) -> Result<WeightGrad> {
    let dy = crate::ops::device_data::grad_on(g, gpu)?;
    let (rows, dw) = crate::device::cuda::embedding::backward(ids, pad, &dy, dtype, (v, d), !sparse)?;
    let dw = Tensor::from_data(Data::Cuda(dw));
    Ok(if sparse { WeightGrad::Sparse(SparseGrad { rows, values: dw }) } else { WeightGrad::Dense(dw) })
}

/// The gradient as (sorted distinct ids, their summed upstream rows): each id's positions are
/// added in position order.
fn grouped_grad<T: Float>(ids: &[i64], pad: Option<i64>, g: &[T], d: usize) -> (Vec<i64>, Vec<T>) {
    let mut order: Vec<usize> = (0..ids.len()).filter(|&p| Some(ids[p]) != pad).collect();
    order.sort_by_key(|&p| ids[p]); // stable: positions of one id stay in order
    let mut rows: Vec<i64> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for (k, &p) in order.iter().enumerate() {
        if rows.last() != Some(&ids[p]) {
            rows.push(ids[p]);
            starts.push(k);
        }
    }
    starts.push(order.len());
    let mut values = vec![T::zero(); rows.len() * d];
    if d > 0 {
        values.par_chunks_mut(d).enumerate().with_min_len(min_rows(d)).for_each(|(k, acc)| {
            for &p in &order[starts[k]..starts[k + 1]] {
                for (a, &x) in acc.iter_mut().zip(&g[p * d..(p + 1) * d]) {
                    *a += x;
                }
            }
        });
    }
    (rows, values)
}

/// A dense $(V \times D)$ array holding `values[k]` in row `rows[k]`.
fn scatter<T: Float>(values: &[T], rows: &[i64], v: usize, d: usize) -> Result<ndarray::ArcArray<T, IxDyn>> {
    let mut dense = vec![T::zero(); v * d];
    for (k, &r) in rows.iter().enumerate() {
        if r < 0 || r as usize >= v || values.len() < (k + 1) * d {
            return Err(Error::Index {
                op: "embedding",
                index: r,
                size: v,
                shape: vec![rows.len(), d],
                msg: "sparse gradient row outside the table".into(),
            });
        }
        let r = r as usize;
        dense[r * d..(r + 1) * d].copy_from_slice(&values[k * d..(k + 1) * d]);
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&[v, d]), dense)
        .map_err(|e| Error::shape("embedding", &[v, d], e.to_string()))?
        .into_shared())
}
