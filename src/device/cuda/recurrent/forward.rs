//! Forward of the fused recurrent ops on a GPU (see the parent module for the composition): the
//! input projection of all steps, then per step the recurrence GEMM and the pointwise step kernel;
//! the outputs `output`, `h_n` (and `c_n`) and what backward needs.

use std::sync::Arc;

use cudarc::driver::{CudaView, PushKernelArg};

use super::types::{LayerTape, LayerW, Saved, copy, step_args, view};
use crate::device::cpu::rnn::{Dims, Kind};
use crate::device::cuda::context::{Block, Gpu, dev_err, elementwise_cfg};
use crate::device::cuda::copy::{contiguous, full};
use crate::device::cuda::launch::{block_mut, fresh};
use crate::device::cuda::matmul::{FloatElem, Gemm, gemm};
use crate::device::cuda::storage::CudaData;
use crate::dtype::DType;
use crate::error::Result;

/// A recurrent op's forward pass (validated into `d` by the op) on contiguous device data of one
/// GPU, f32 or f64 as `x`: the outputs (`output`, `h_n`, and `c_n` for the LSTM) and what
/// backward needs. `h0` and (LSTM) `c0` are `(L, N, H)`, zeros where the op was given none.
pub(crate) fn forward(
    kind: Kind,
    d: Dims,
    x: &CudaData,
    w: Vec<LayerW>,
    h0: CudaData,
    c0: Option<CudaData>,
) -> Result<(Vec<CudaData>, Saved)> {
    match x.dtype() {
        DType::F64 => forward_typed::<f64>(kind, d, x, w, h0, c0),
        _ => forward_typed::<f32>(kind, d, x, w, h0, c0),
    }
}

/// `C (rows x cols) (beta = 0: overwritten; 1: accumulated) += ones(rows) · b (cols)`: each row of
/// C gets the vector `b` added (a rank-1 GEMM with K = 1; exact: 1·b = b).
fn add_rows<T: FloatElem>(
    op: &'static str,
    gpu: &Arc<Gpu>,
    ones: &CudaView<'_, T>,
    b: &CudaView<'_, T>,
    c: &mut cudarc::driver::CudaViewMut<'_, T>,
    (rows, cols, row_stride): (usize, usize, usize),
    beta: f64,
) -> Result<()> {
    let mm = Gemm {
        m: rows,
        n: cols,
        k: 1,
        batch: 1,
        sa: [0, 1, 0],
        sb: [0, 0, 1],
        sc: [0, row_stride, 1],
        alpha: 1.0,
        beta,
    };
    gemm::<T>(op, gpu, ones, b, c, &mm)
}

/// Forward of one layer: the output sequence and what backward needs.
#[allow(clippy::too_many_arguments)]
fn forward_layer<T: FloatElem>(
    kind: Kind,
    d: Dims,
    x: &CudaData,
    ik: usize,
    w: &LayerW,
    h0: &CudaView<'_, T>,
    c0: Option<&CudaView<'_, T>>,
    ones: &CudaView<'_, T>,
) -> Result<LayerTape> {
    let op = kind.op();
    let gpu = x.gpu().clone();
    let dtype = x.dtype();
    let (n, t, h) = (d.n, d.t, d.h);
    let gh = kind.gates() * h;
    let nt = n * t;
    let (wih, whh) = (view::<T>(op, &w.w_ih)?, view::<T>(op, &w.w_hh)?);
    let mut p_block = fresh::<T>(&gpu, nt * gh)?;
    {
        let p = block_mut::<T>(op, &mut p_block)?;
        // P = 1·b_ih (+ 1·b_hh, not for the GRU) + X W_ihᵀ.
        let mut folded: Vec<&CudaData> = w.b_ih.iter().collect();
        if kind != Kind::Gru {
            folded.extend(w.b_hh.iter());
        }
        for (k, b) in folded.iter().enumerate() {
            let bv = view::<T>(op, b)?;
            let beta = if k == 0 { 0.0 } else { 1.0 };
            add_rows::<T>(op, &gpu, ones, &bv, &mut p.slice_mut(..), (nt, gh, gh), beta)?;
        }
        let mm = Gemm {
            m: nt,
            n: gh,
            k: ik,
            batch: 1,
            sa: [0, ik, 1],
            sb: [0, 1, ik],
            sc: [0, gh, 1],
            alpha: 1.0,
            beta: if folded.is_empty() { 0.0 } else { 1.0 },
        };
        gemm::<T>(op, &gpu, &view::<T>(op, x)?, &wih, &mut p.slice_mut(..), &mm)?;
    }
    let mut y_block = fresh::<T>(&gpu, nt * h)?;
    let mut extra_block = if kind == Kind::RnnTanh { None } else { Some(fresh::<T>(&gpu, nt * h)?) };
    let mut q_block = if kind == Kind::Gru { Some(fresh::<T>(&gpu, n * gh)?) } else { None };
    let fname = match kind {
        Kind::RnnTanh => format!("rnn_tanh_fwd_{}", T::NAME),
        Kind::Lstm => format!("lstm_fwd_{}", T::NAME),
        Kind::Gru => format!("gru_fwd_{}", T::NAME),
    };
    let stem = match kind {
        Kind::RnnTanh => "rnn",
        Kind::Lstm => "lstm",
        Kind::Gru => "gru",
    };
    let f = gpu.function(stem, &fname)?;
    for s in 0..t {
        // The recurrence GEMM: h_{s-1} W_hhᵀ (N x GH), h_{-1} = h0.
        {
            let y = block_mut::<T>(op, &mut y_block)?;
            let (hp, sa) =
                if s == 0 { (h0.slice(..), [0, h, 1]) } else { (y.slice((s - 1) * h..), [0, t * h, 1]) };
            match q_block.as_mut() {
                Some(qb) => {
                    // GRU: Q = 1·b_hh + h_{s-1} W_hhᵀ into the (N, 3H) scratch.
                    let q = block_mut::<T>(op, qb)?;
                    if let Some(b) = &w.b_hh {
                        add_rows::<T>(
                            op,
                            &gpu,
                            ones,
                            &view::<T>(op, b)?,
                            &mut q.slice_mut(..),
                            (n, gh, gh),
                            0.0,
                        )?;
                    }
                    let mm = Gemm {
                        m: n,
                        n: gh,
                        k: h,
                        batch: 1,
                        sa,
                        sb: [0, 1, h],
                        sc: [0, gh, 1],
                        alpha: 1.0,
                        beta: if w.b_hh.is_some() { 1.0 } else { 0.0 },
                    };
                    gemm::<T>(op, &gpu, &hp, &whh, &mut q.slice_mut(..), &mm)?;
                }
                None => {
                    let p = block_mut::<T>(op, &mut p_block)?;
                    let mm = Gemm {
                        m: n,
                        n: gh,
                        k: h,
                        batch: 1,
                        sa,
                        sb: [0, 1, h],
                        sc: [0, t * gh, 1],
                        alpha: 1.0,
                        beta: 1.0,
                    };
                    gemm::<T>(op, &gpu, &hp, &whh, &mut p.slice_mut(s * gh..), &mm)?;
                }
            }
        }
        // The fused pointwise step.
        let (n_, t_, h_, s_, tm) = step_args(d, s);
        let p = block_mut::<T>(op, &mut p_block)?;
        let y = block_mut::<T>(op, &mut y_block)?;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&n_).arg(&t_).arg(&h_).arg(&s_).arg(&tm);
        match kind {
            Kind::RnnTanh => {
                l.arg(&*p).arg(&mut *y);
                // SAFETY: matches `rnn_tanh_fwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major,
                // const T* p, T* y)`; `p` holds N*T*H and `y` N*T*H elements in the batch-first
                // layout (time_major = 0); the kernel touches step s of both (N*H threads).
                unsafe { l.launch(elementwise_cfg(n * h)) }.map_err(dev_err(op))?;
            }
            Kind::Lstm => {
                let c = block_mut::<T>(
                    op,
                    extra_block.as_mut().ok_or_else(|| crate::device::cuda::launch::internal(op, "c"))?,
                )?;
                let c0 = c0.ok_or_else(|| crate::device::cuda::launch::internal(op, "c0"))?;
                l.arg(&mut *p).arg(c0).arg(&mut *c).arg(&mut *y);
                // SAFETY: matches `lstm_fwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, T* p,
                // const T* c0, T* c, T* y)`; `p` holds N*T*4H elements, `c` and `y` N*T*H, `c0` is
                // this layer's (N, H) state (a view of at least N*H elements); batch-first layout.
                unsafe { l.launch(elementwise_cfg(n * h)) }.map_err(dev_err(op))?;
            }
            Kind::Gru => {
                let q = q_block
                    .as_ref()
                    .and_then(|b| b.slice::<T>())
                    .ok_or_else(|| crate::device::cuda::launch::internal(op, "q"))?;
                let qn = block_mut::<T>(
                    op,
                    extra_block.as_mut().ok_or_else(|| crate::device::cuda::launch::internal(op, "qn"))?,
                )?;
                l.arg(&mut *p).arg(q).arg(h0).arg(&mut *qn).arg(&mut *y);
                // SAFETY: matches `gru_fwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major, T* p,
                // const T* q, const T* h0, T* qn, T* y)`; `p` holds N*T*3H elements, `q` N*3H (this
                // step's), `h0` this layer's (N, H) state (a view of at least N*H elements), `qn`
                // and `y` N*T*H; batch-first layout.
                unsafe { l.launch(elementwise_cfg(n * h)) }.map_err(dev_err(op))?;
            }
        }
    }
    let seq = |b: Block| CudaData::new(b, dtype, &[n, t, h]);
    Ok(LayerTape {
        x: x.clone(),
        y: seq(y_block),
        acts: if kind == Kind::RnnTanh { None } else { Some(CudaData::new(p_block, dtype, &[n, t, gh])) },
        extra: extra_block.map(seq),
    })
}

/// The last step of each layer's (N, T, H) sequence, stacked to (L, N, H).
fn last_steps<T: FloatElem>(
    op: &'static str,
    gpu: &Arc<Gpu>,
    d: Dims,
    seqs: &[&CudaData],
) -> Result<CudaData> {
    let (n, t, h) = (d.n, d.t, d.h);
    let mut block = fresh::<T>(gpu, seqs.len() * n * h)?;
    let out = block_mut::<T>(op, &mut block)?;
    for (k, sq) in seqs.iter().enumerate() {
        let last = contiguous(&sq.narrowed(1, t - 1, 1))?;
        copy::<T>(op, gpu, &view::<T>(op, &last)?, 0, out, k * n * h, n * h)?;
    }
    Ok(CudaData::new(block, seqs.first().map_or(DType::F32, |s| s.dtype()), &[seqs.len(), n, h]))
}

/// Forward of the stack; returns the outputs (output, h_n, and c_n for the LSTM) and the tape.
fn forward_typed<T: FloatElem>(
    kind: Kind,
    d: Dims,
    x: &CudaData,
    saved_w: Vec<LayerW>,
    h0: CudaData,
    c0: Option<CudaData>,
) -> Result<(Vec<CudaData>, Saved)> {
    let op = kind.op();
    let gpu = x.gpu().clone();
    let nh = d.n * d.h;
    let ones_c = full(&gpu, &[d.n * d.t], x.dtype(), 1.0)?;
    let ones = view::<T>(op, &ones_c)?;
    let h0v = view::<T>(op, &h0)?;
    let c0v = c0.as_ref().map(|c| view::<T>(op, c)).transpose()?;
    let mut layers: Vec<LayerTape> = Vec::with_capacity(d.l);
    for (k, w) in saved_w.iter().enumerate() {
        let (input, ik) = if k == 0 { (x.clone(), d.i) } else { (layers[k - 1].y.clone(), d.h) };
        let h0k = h0v.slice(k * nh..(k + 1) * nh);
        let c0k = c0v.as_ref().map(|c| c.slice(k * nh..(k + 1) * nh));
        layers.push(forward_layer::<T>(kind, d, &input, ik, w, &h0k, c0k.as_ref(), &ones)?);
    }
    let ys: Vec<&CudaData> = layers.iter().map(|l| &l.y).collect();
    let mut outs = vec![layers[d.l - 1].y.clone(), last_steps::<T>(op, &gpu, d, &ys)?];
    if kind == Kind::Lstm {
        let cs: Vec<&CudaData> = layers.iter().filter_map(|l| l.extra.as_ref()).collect();
        outs.push(last_steps::<T>(op, &gpu, d, &cs)?);
    }
    drop(ys);
    Ok((outs, Saved { layers, w: saved_w, h0, c0, dtype: x.dtype() }))
}
