//! Matrix-factorization prediction (§1.3.4, the "SVD" of the Netflix-prize literature): for a
//! batch of $N$ (user, item) pairs $(u_n, i_n)$,
//!
//! $$\hat r_n = \mu + b_{u_n} + b_{i_n} + \sum_{k=1}^{K} P_{u_n k}\, Q_{i_n k}.$$
//!
//! Shapes: `user`, `item` $(N)$ i64; user factors $P$ $(U \times K)$; item factors $Q$
//! $(I \times K)$; user bias $b^{(u)}$ $(U)$; item bias $b^{(i)}$ $(I)$; global bias $\mu$ a
//! scalar (shape `[]`); output $\hat r$ $(N)$. All floats share one dtype (f32 or f64).
//!
//! **Backward.** For the upstream gradient $g$ $(N)$, every gradient lands only in the rows the
//! batch touched (all other rows are zero):
//!
//! $$\bar P_{u,:} = \sum_{n:\,u_n = u} g_n\, Q_{i_n,:}, \qquad
//!   \bar Q_{i,:} = \sum_{n:\,i_n = i} g_n\, P_{u_n,:},$$
//! $$\bar b^{(u)}_u = \sum_{n:\,u_n = u} g_n, \qquad \bar b^{(i)}_i = \sum_{n:\,i_n = i} g_n,
//!   \qquad \bar\mu = \sum_n g_n.$$
//!
//! The indices get no gradient. Saved for backward: the ids and the forward-time $P$, $Q$.
//!
//! **Kernel.** Forward: one dot product per pair (rayon over pairs from 2^19 multiply-adds); the factors are saved for the
//! backward as the shared (copy-on-write) arrays of the inputs, not copied. Backward: one pass over
//! the positions in order per table, $\bar P_{u_n,:} \mathrel{+}= g_n Q_{i_n,:}$, so each id's rows
//! are summed in position order whatever the thread count; $\bar\mu$ is one sequential sum. Both
//! passes run on the calling thread: at the bench's batch (4096 × 50) a `rayon::join` of the two
//! tables measured 0.32 ms per training step against 0.26 ms without it (waking the second
//! thread costs more than it saves).
//!
//! **On a GPU** (feature `cuda`, factors on the device): `kernels/factorization.cu` through
//! `cuda::factorization`, forward and backward, with the CPU's order of additions for the rows
//! (a CSR of the ids built on the host); $\bar\mu$ is a fixed-tree sum there. The ids may be on
//! the CPU or on the factors' GPU; they are validated on the host. [`mf_sgd_epoch`] works on host
//! tables and has no GPU path.
//!
//! **Fused SGD** ([`mf_sgd_epoch`]). Training with squared error and L2 regularisation, one
//! rating at a time (Funk's SGD, as scikit-surprise's `SVD`): with $e = r - \hat r$,
//!
//! $$b_u \mathrel{+}= \eta_b (e - \lambda_b b_u), \quad b_i \mathrel{+}= \eta_b (e - \lambda_b b_i),$$
//! $$P_{u,:} \mathrel{+}= \eta (e\, Q_{i,:} - \lambda P_{u,:}), \quad
//!   Q_{i,:} \mathrel{+}= \eta (e\, P_{u,:} - \lambda Q_{i,:})$$
//!
//! (both factor updates read the old values). These are the steps $-\eta\,\partial/\partial\theta$
//! of $\tfrac12 e^2 + \tfrac{\lambda}{2}\lVert\theta\rVert^2$, whose $\partial \hat r/\partial\theta$
//! is exactly the backward above with $g = 1$. Sequential by nature (each step reads the last),
//! hence deterministic; the order of the ratings is the caller's (a seeded shuffle).

use ndarray::{ArcArray, ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::{Data, Float, Tensor};

const OP: &str = "mf_predict";

impl Tensor {
    /// $\hat r_n = \mu + b_{u_n} + b_{i_n} + P_{u_n,:} \cdot Q_{i_n,:}$ for every pair (see the
    /// module docs). `global_bias` has shape `[]` (shape `[1]` is accepted too).
    pub fn mf_predict(
        user: &Tensor,
        item: &Tensor,
        user_factors: &Tensor,
        item_factors: &Tensor,
        user_bias: &Tensor,
        item_bias: &Tensor,
        global_bias: &Tensor,
    ) -> Result<Tensor> {
        let users = ids_of(user, "user")?;
        let items = ids_of(item, "item")?;
        if users.len() != items.len() {
            return Err(Error::mismatch(OP, &user.shape(), &item.shape(), "user and item must both be (N)"));
        }
        let (ps, qs) = (user_factors.shape(), item_factors.shape());
        if ps.len() != 2 || qs.len() != 2 || ps[1] != qs[1] {
            return Err(Error::mismatch(
                OP,
                &ps,
                &qs,
                "user_factors must be (U, K) and item_factors (I, K) with one K",
            ));
        }
        let (nu, ni, k) = (ps[0], qs[0], ps[1]);
        if user_bias.shape() != [nu] {
            return Err(Error::mismatch(OP, &user_bias.shape(), &ps, "user_bias must be (U)"));
        }
        if item_bias.shape() != [ni] {
            return Err(Error::mismatch(OP, &item_bias.shape(), &qs, "item_bias must be (I)"));
        }
        let gs = global_bias.shape();
        if !(gs.is_empty() || gs == [1]) {
            return Err(Error::shape(OP, &gs, "global_bias must be a scalar (shape [])"));
        }
        check_range(&users, nu, &user.shape(), "user")?;
        check_range(&items, ni, &item.shape(), "item")?;
        let tensors = [user_factors, item_factors, user_bias, item_bias, global_bias];
        let dt = user_factors.dtype();
        if let Some(bad) = tensors.iter().find(|t| t.dtype() != dt) {
            return Err(Error::DTypeMismatch {
                op: OP,
                lhs: dt,
                rhs: bad.dtype(),
                lhs_shape: ps.clone(),
                rhs_shape: bad.shape(),
            });
        }
        let inputs = [user, item, user_factors, item_factors, user_bias, item_bias, global_bias];
        let (y, saved) = forward_on_device(users, items, (nu, ni, k), &inputs, dt, ps)?;
        // The one record of the op, for both devices; the backward runs where the forward ran.
        let mu_shape = global_bias.shape();
        Ok(record(y, OP, &inputs, move |g| match &saved {
            Saved::F32(s) => backward::<f32>(g, s, (nu, ni, k), &mu_shape),
            Saved::F64(s) => backward::<f64>(g, s, (nu, ni, k), &mu_shape),
            #[cfg(feature = "cuda")]
            Saved::Cuda(s) => cuda_backward(g, s, &mu_shape),
        }))
    }
}

/// What the backward reads, per device: on the CPU the ids and the forward-time $P$, $Q$.
enum Saved {
    F32(CpuSaved<f32>),
    F64(CpuSaved<f64>),
    #[cfg(feature = "cuda")]
    Cuda(Box<CudaSaved>),
}

/// On the CPU: the ids and the forward-time factors (shared with the inputs: an optimizer step
/// that writes the factors afterwards copies them first, so these keep the forward's values).
struct CpuSaved<T> {
    users: Vec<usize>,
    items: Vec<usize>,
    p: ArcArray<T, IxDyn>,
    q: ArcArray<T, IxDyn>,
}

/// The values of `t` as a contiguous shared array: the tensor's own storage when it is
/// contiguous, a copy otherwise.
fn shared<T: Float>(t: &Tensor) -> Result<ArcArray<T, IxDyn>> {
    let a = t.array::<T>(OP)?;
    Ok(if a.is_standard_layout() { a } else { a.as_standard_layout().to_owned().into_shared() })
}

/// The row-major values of a contiguous array (see [`shared`]).
fn values<T: Float>(a: &ArcArray<T, IxDyn>) -> &[T] {
    // ok: `shared` returns standard-layout arrays only, whose `as_slice` is always `Some`.
    a.as_slice().expect("shared() returns standard-layout arrays")
}

/// On a GPU: the device ids and factors, the sizes, and the host ids (for the CSRs).
#[cfg(feature = "cuda")]
struct CudaSaved {
    gpu: std::sync::Arc<crate::device::cuda::Gpu>,
    factors: crate::device::cuda::factorization::Factors,
    dims: crate::device::cuda::factorization::Dims,
    users: Vec<i64>,
    items: Vec<i64>,
}

/// The forward where the factors live: the CUDA kernels when any factor or bias is on a GPU (ids
/// on a GPU with factors on the CPU are a device error), else the CPU loop in dtype `dt`.
fn forward_on_device(
    users: Vec<usize>,
    items: Vec<usize>,
    sizes: (usize, usize, usize),
    inputs: &[&Tensor; 7],
    dt: DType,
    ps: Vec<usize>,
) -> Result<(Data, Saved)> {
    #[cfg(feature = "cuda")]
    {
        let on_gpu = |t: &Tensor| matches!(t.data(), Data::Cuda(_));
        if inputs[2..].iter().any(|t| on_gpu(t)) {
            let (y, s) = cuda_forward(&users, &items, sizes, inputs)?;
            return Ok((y, Saved::Cuda(Box::new(s))));
        }
        if let Some(t) = inputs[..2].iter().find(|t| on_gpu(t)) {
            return Err(crate::ops::common::device_mismatch(OP, &t.data(), &inputs[2].data()));
        }
    }
    let k = sizes.2;
    match dt {
        DType::F32 => forward::<f32>(users, items, k, inputs).map(|(y, s)| (y, Saved::F32(s))),
        DType::F64 => forward::<f64>(users, items, k, inputs).map(|(y, s)| (y, Saved::F64(s))),
        other => Err(Error::UnsupportedDType { op: OP, dtype: other, shape: ps, expected: "f32 or f64" }),
    }
}

fn ids_of(t: &Tensor, name: &str) -> Result<Vec<usize>> {
    if t.dims() != 1 {
        return Err(Error::shape(OP, &t.shape(), format!("{name} must be a (N) vector of i64 ids")));
    }
    // Ids on a GPU are copied to the host: they are validated there (and the CUDA backward builds
    // its CSR from them).
    match t.data().to_host()? {
        Data::I64(a) => {
            let mut out = Vec::with_capacity(a.len());
            for &v in a.iter() {
                if v < 0 {
                    return Err(Error::Index {
                        op: OP,
                        index: v,
                        size: 0,
                        shape: t.shape(),
                        msg: format!("negative {name} id"),
                    });
                }
                out.push(v as usize);
            }
            Ok(out)
        }
        other => Err(Error::UnsupportedDType {
            op: OP,
            dtype: other.dtype(),
            shape: t.shape(),
            expected: "int64 ids",
        }),
    }
}

fn check_range(ids: &[usize], n: usize, shape: &[usize], name: &str) -> Result<()> {
    match ids.iter().find(|&&v| v >= n) {
        Some(&bad) => Err(Error::Index {
            op: OP,
            index: bad as i64,
            size: n,
            shape: shape.to_vec(),
            msg: format!("{name} id {bad} is outside the table of {n} rows"),
        }),
        None => Ok(()),
    }
}

fn flat<T: Float>(t: &Tensor) -> Result<Vec<T>> {
    t.to_vec::<T>()
}

/// Multiply-adds (N·K) from which the forward runs on rayon's threads.
const FORWARD_PARALLEL: usize = 1 << 19;

fn forward<T: Float>(
    users: Vec<usize>,
    items: Vec<usize>,
    k: usize,
    inputs: &[&Tensor; 7],
) -> Result<(Data, CpuSaved<T>)> {
    let (p_arr, q_arr) = (shared::<T>(inputs[2])?, shared::<T>(inputs[3])?);
    let (p, q) = (values(&p_arr), values(&q_arr));
    let bu = flat::<T>(inputs[4])?;
    let bi = flat::<T>(inputs[5])?;
    let mu = flat::<T>(inputs[6])?.first().copied().unwrap_or_else(T::zero);
    let n = users.len();
    let mut y = vec![T::zero(); n];
    let one = |(j, y): (usize, &mut T)| {
        let (u, i) = (users[j], items[j]);
        *y = mu + bu[u] + bi[i] + dot(&p[u * k..(u + 1) * k], &q[i * k..(i + 1) * k]);
    };
    // Below FORWARD_PARALLEL multiply-adds one thread is faster than waking the pool.
    if n * k < FORWARD_PARALLEL {
        y.iter_mut().enumerate().for_each(one);
    } else {
        y.par_iter_mut().enumerate().with_min_len(1024).for_each(one);
    }
    let y = ArrayD::from_shape_vec(IxDyn(&[n]), y).map_err(|e| Error::shape(OP, &[n], e.to_string()))?;
    Ok((T::wrap(y.into_shared()), CpuSaved { users, items, p: p_arr, q: q_arr }))
}

/// The CPU backward for the upstream gradient `g` (module docs): each id's rows summed in position
/// order, $\bar\mu$ one sequential sum.
fn backward<T: Float>(
    g: &Tensor,
    s: &CpuSaved<T>,
    (nu, ni, k): (usize, usize, usize),
    mu_shape: &[usize],
) -> Result<Vec<Option<Tensor>>> {
    let g = g.to_vec::<T>()?;
    // P̄_u = Σ_{n: u_n = u} g_n Q_{i_n}; b̄_u = Σ_{n: u_n = u} g_n.
    // Q̄_i = Σ_{n: i_n = i} g_n P_{u_n}; b̄_i = Σ_{n: i_n = i} g_n.
    let (dp, dbu) = scatter_rows(&s.users, &s.items, &g, values(&s.q), nu, k);
    let (dq, dbi) = scatter_rows(&s.items, &s.users, &g, values(&s.p), ni, k);
    // μ̄ = Σ_n g_n, in position order.
    let dmu = g.iter().fold(T::zero(), |a, &x| a + x);
    Ok(vec![
        None,
        None,
        Some(Tensor::from_vec(dp, &[nu, k])?),
        Some(Tensor::from_vec(dq, &[ni, k])?),
        Some(Tensor::from_vec(dbu, &[nu])?),
        Some(Tensor::from_vec(dbi, &[ni])?),
        Some(Tensor::from_vec(vec![dmu], mu_shape)?),
    ])
}

/// The forward with the factors on a GPU (`device::cuda::factorization`): every float input on
/// the factors' GPU (contiguous), the ids used from there or uploaded from their host copies.
#[cfg(feature = "cuda")]
fn cuda_forward(
    users: &[usize],
    items: &[usize],
    (nu, ni, k): (usize, usize, usize),
    inputs: &[&Tensor; 7],
) -> Result<(Data, CudaSaved)> {
    use crate::device::cuda::CudaData;
    use crate::device::cuda::copy::contiguous;
    use crate::device::cuda::factorization::{Biases, Dims, Factors, forward};
    use crate::ops::device_data::{cuda_input, ids_on};
    let p = cuda_input(OP, inputs[2], None)?;
    let gpu = p.gpu().clone();
    crate::device::cuda::launch::float_dtype(OP, &p)?;
    let on = |t: &Tensor| -> Result<CudaData> { contiguous(&cuda_input(OP, t, Some(&gpu))?) };
    let uh: Vec<i64> = users.iter().map(|&u| u as i64).collect();
    let ih: Vec<i64> = items.iter().map(|&i| i as i64).collect();
    let factors = Factors {
        user: ids_on(OP, inputs[0], &uh, &gpu)?,
        item: ids_on(OP, inputs[1], &ih, &gpu)?,
        p: contiguous(&p)?,
        q: on(inputs[3])?,
    };
    let biases = Biases { bu: on(inputs[4])?, bi: on(inputs[5])?, mu: on(inputs[6])? };
    let dims = Dims { n: uh.len(), k, nu, ni };
    let y = forward(&factors, &biases, dims)?;
    Ok((Data::Cuda(y), CudaSaved { gpu, factors, dims, users: uh, items: ih }))
}

/// The backward with the factors on a GPU: the row sums in the CPU's order, $\bar\mu$ a fixed tree.
#[cfg(feature = "cuda")]
fn cuda_backward(g: &Tensor, s: &CudaSaved, mu_shape: &[usize]) -> Result<Vec<Option<Tensor>>> {
    let g = crate::ops::device_data::grad_on(g, &s.gpu)?;
    let d =
        crate::device::cuda::factorization::backward(&s.factors, s.dims, &s.users, &s.items, &g, mu_shape)?;
    let t = |c| Some(Tensor::from_data(Data::Cuda(c)));
    Ok(vec![None, None, t(d.dp), t(d.dq), t(d.dbu), t(d.dbi), t(d.dmu)])
}

/// $\sum_k a_k b_k$ in index order.
#[inline]
pub fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y)
}

/// For each row id $r$ touched by `rows`: $\bar A_r = \sum_{n: \text{rows}_n = r} g_n
/// B_{\text{other}_n}$ and $\bar b_r = \sum g_n$; a dense $(R \times K)$ and $(R)$ pair, zero
/// in untouched rows. One pass over the positions in order: each id's terms are added in
/// position order (the order the CUDA backward reproduces), on one thread.
fn scatter_rows<T: Float>(
    rows: &[usize],
    other: &[usize],
    g: &[T],
    b: &[T],
    r: usize,
    k: usize,
) -> (Vec<T>, Vec<T>) {
    let mut da = vec![T::zero(); r * k];
    let mut db = vec![T::zero(); r];
    for ((&row, &o), &gn) in rows.iter().zip(other).zip(g) {
        for (a, &x) in da[row * k..(row + 1) * k].iter_mut().zip(&b[o * k..(o + 1) * k]) {
            *a += gn * x;
        }
        db[row] += gn;
    }
    (da, db)
}

/// The literal transcription of the forward formula, in f64 plain loops: the oracle for tests.
/// `p` is $(U \times K)$ and `q` $(I \times K)$, row-major.
#[allow(clippy::too_many_arguments)]
pub fn mf_predict_reference(
    user: &[usize],
    item: &[usize],
    p: &[f64],
    q: &[f64],
    k: usize,
    bu: &[f64],
    bi: &[f64],
    mu: f64,
) -> Vec<f64> {
    let mut r_hat = Vec::with_capacity(user.len());
    for n in 0..user.len() {
        let (u, i) = (user[n], item[n]);
        let mut s = mu + bu[u] + bi[i];
        for kk in 0..k {
            s += p[u * k + kk] * q[i * k + kk];
        }
        r_hat.push(s);
    }
    r_hat
}

/// The parameters of a biased MF model as plain row-major f64 tables (what [`mf_sgd_epoch`]
/// updates in place).
#[derive(Clone, Debug)]
pub struct MfParams {
    /// $P$, $(U \times K)$.
    pub p: Vec<f64>,
    /// $Q$, $(I \times K)$.
    pub q: Vec<f64>,
    /// $b^{(u)}$, $(U)$.
    pub bu: Vec<f64>,
    /// $b^{(i)}$, $(I)$.
    pub bi: Vec<f64>,
    /// $\mu$.
    pub mu: f64,
    /// $K$.
    pub k: usize,
}

impl MfParams {
    /// $\hat r_{ui}$ for one pair (no range check: callers check `u < U`, `i < I`).
    #[inline]
    pub fn predict(&self, u: usize, i: usize) -> f64 {
        let k = self.k;
        self.mu + self.bu[u] + self.bi[i] + dot(&self.p[u * k..(u + 1) * k], &self.q[i * k..(i + 1) * k])
    }
}

/// Learning rates and L2 weights of the fused SGD (module docs): $\eta_b, \lambda_b$ for the
/// biases, $\eta, \lambda$ for the factors. `biased = false` keeps $\mu$, $b$ at zero.
#[derive(Clone, Copy, Debug)]
pub struct MfSgd {
    pub lr_bias: f64,
    pub reg_bias: f64,
    pub lr_factors: f64,
    pub reg_factors: f64,
    pub biased: bool,
}

/// One epoch of the fused SGD over the ratings `(users[n], items[n], ratings[n])` in the order
/// `order` (indices into them). Returns the sum of squared errors seen before each step.
/// Errors when an id is out of range or the slices disagree in length.
pub fn mf_sgd_epoch(
    m: &mut MfParams,
    users: &[u32],
    items: &[u32],
    ratings: &[f64],
    order: &[usize],
    c: &MfSgd,
) -> Result<f64> {
    let k = m.k;
    let (nu, ni) = (m.bu.len(), m.bi.len());
    if users.len() != items.len() || users.len() != ratings.len() {
        return Err(Error::invalid("mf_sgd", "users, items and ratings must have one length"));
    }
    if m.p.len() != nu * k || m.q.len() != ni * k {
        return Err(Error::invalid("mf_sgd", "P must be (U, K) and Q (I, K)"));
    }
    let mut sse = 0.0;
    for &n in order {
        let (u, i, r) = (
            *users.get(n).unwrap_or(&u32::MAX) as usize,
            items.get(n).copied().unwrap_or(u32::MAX) as usize,
            ratings.get(n).copied().unwrap_or(0.0),
        );
        if u >= nu || i >= ni {
            return Err(Error::invalid(
                "mf_sgd",
                format!("rating {n}: user {u} or item {i} outside ({nu}, {ni})"),
            ));
        }
        let e = r - m.predict(u, i);
        sse += e * e;
        if c.biased {
            m.bu[u] += c.lr_bias * (e - c.reg_bias * m.bu[u]);
            m.bi[i] += c.lr_bias * (e - c.reg_bias * m.bi[i]);
        }
        let (pu, qi) = (&mut m.p[u * k..(u + 1) * k], &mut m.q[i * k..(i + 1) * k]);
        for (pf, qf) in pu.iter_mut().zip(qi.iter_mut()) {
            let (p0, q0) = (*pf, *qf);
            *pf += c.lr_factors * (e * q0 - c.reg_factors * p0);
            *qf += c.lr_factors * (e * p0 - c.reg_factors * q0);
        }
    }
    Ok(sse)
}
