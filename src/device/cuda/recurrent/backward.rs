//! Backward through time of the fused recurrent ops on a GPU (see the parent module for the
//! composition): the pointwise backward kernel per step in reverse, then the weight, input and bias
//! gradients.

use cudarc::driver::{CudaSlice, PushKernelArg};

use super::types::{Grads, LayerGrads, Saved, copy, step_args, view};
use crate::device::cpu::rnn::{Dims, Kind};
use crate::device::cuda::context::{dev_err, elementwise_cfg};
use crate::device::cuda::launch::{block_mut, fresh};
use crate::device::cuda::matmul::{FloatElem, Gemm, gemm};
use crate::device::cuda::reduce::sum_dims;
use crate::device::cuda::storage::CudaData;
use crate::dtype::DType;
use crate::error::Result;

/// Backward through time of the stack, top layer first, from what [`super::forward()`] saved:
/// `g_y` is the upstream gradient of `output`, `g_hn` and `g_cn` (LSTM) those of the final states,
/// all contiguous on the forward's GPU. Returns `dx` (when `need_dx`), `dh0`, `dc0` (LSTM) and each
/// layer's weight and bias gradients.
pub(crate) fn backward(
    kind: Kind,
    d: Dims,
    sv: &Saved,
    g_y: CudaData,
    g_hn: &CudaData,
    g_cn: Option<&CudaData>,
    need_dx: bool,
) -> Result<Grads> {
    match sv.dtype {
        DType::F64 => backward_typed::<f64>(kind, d, sv, g_y, g_hn, g_cn, need_dx),
        _ => backward_typed::<f32>(kind, d, sv, g_y, g_hn, g_cn, need_dx),
    }
}

/// [`backward`] for one element type.
fn backward_typed<T: FloatElem>(
    kind: Kind,
    d: Dims,
    sv: &Saved,
    g_y: CudaData,
    g_hn: &CudaData,
    g_cn: Option<&CudaData>,
    need_dx: bool,
) -> Result<Grads> {
    let op = kind.op();
    let gpu = g_y.gpu().clone();
    let dtype = g_y.dtype();
    let (n, t, h) = (d.n, d.t, d.h);
    let (nh, gh, nt) = (n * h, kind.gates() * h, n * t);
    let lstm = kind == Kind::Lstm;
    let gru = kind == Kind::Gru;
    let (stem, fname) = match kind {
        Kind::RnnTanh => ("rnn", format!("rnn_tanh_bwd_{}", T::NAME)),
        Kind::Lstm => ("lstm", format!("lstm_bwd_{}", T::NAME)),
        Kind::Gru => ("gru", format!("gru_bwd_{}", T::NAME)),
    };
    let f = gpu.function(stem, &fname)?;
    let mut dh0_block = fresh::<T>(&gpu, d.l * nh)?;
    let mut dc0_block = if lstm { Some(fresh::<T>(&gpu, d.l * nh)?) } else { None };
    let g_hn_v = view::<T>(op, g_hn)?;
    let g_cn_v = g_cn.map(|c| view::<T>(op, c)).transpose()?;
    let h0v = view::<T>(op, &sv.h0)?;
    let c0v = sv.c0.as_ref().map(|c| view::<T>(op, c)).transpose()?;
    let mut dy = g_y;
    let mut dx = None;
    let mut grads = Vec::with_capacity(d.l);
    for k in (0..d.l).rev() {
        let (lt, w) = (&sv.layers[k], &sv.w[k]);
        let ik = if k == 0 { d.i } else { d.h };
        let h0k = h0v.slice(k * nh..(k + 1) * nh);
        let c0k = c0v.as_ref().map(|c| c.slice(k * nh..(k + 1) * nh));
        let mut dh_block = fresh::<T>(&gpu, nh)?;
        copy::<T>(op, &gpu, &g_hn_v, k * nh, block_mut::<T>(op, &mut dh_block)?, 0, nh)?;
        let mut dc_block = match &g_cn_v {
            Some(gc) if lstm => {
                let mut b = fresh::<T>(&gpu, nh)?;
                copy::<T>(op, &gpu, gc, k * nh, block_mut::<T>(op, &mut b)?, 0, nh)?;
                Some(b)
            }
            _ => None,
        };
        let mut da_block = fresh::<T>(&gpu, nt * gh)?;
        let mut dq_block = if gru { Some(fresh::<T>(&gpu, nt * gh)?) } else { None };
        let mut dwhh_block = fresh::<T>(&gpu, gh * h)?;
        let yv = view::<T>(op, &lt.y)?;
        let dyv = view::<T>(op, &dy)?;
        let whh = view::<T>(op, &w.w_hh)?;
        for s in (0..t).rev() {
            let (n_, t_, h_, s_, tm) = step_args(d, s);
            {
                let dh = block_mut::<T>(op, &mut dh_block)?;
                let da = block_mut::<T>(op, &mut da_block)?;
                let mut l = gpu.stream().launch_builder(&f);
                l.arg(&n_).arg(&t_).arg(&h_).arg(&s_).arg(&tm);
                match kind {
                    Kind::RnnTanh => {
                        l.arg(&yv).arg(&dyv).arg(&mut *dh).arg(&mut *da);
                        // SAFETY: matches `rnn_tanh_bwd_<t>(i64 n, i64 t, i64 h, i64 s, int
                        // time_major, const T* y, const T* dy, T* dh, T* da)`; `y`, `dy` hold
                        // N*T*H elements, `dh` N*H, `da` N*T*H; batch-first layout; step s only.
                        unsafe { l.launch(elementwise_cfg(nh)) }.map_err(dev_err(op))?;
                    }
                    Kind::Lstm => {
                        let acts = view::<T>(
                            op,
                            lt.acts
                                .as_ref()
                                .ok_or_else(|| crate::device::cuda::launch::internal(op, "acts"))?,
                        )?;
                        let c = view::<T>(
                            op,
                            lt.extra
                                .as_ref()
                                .ok_or_else(|| crate::device::cuda::launch::internal(op, "c"))?,
                        )?;
                        let c0 =
                            c0k.as_ref().ok_or_else(|| crate::device::cuda::launch::internal(op, "c0"))?;
                        let dc = block_mut::<T>(
                            op,
                            dc_block
                                .as_mut()
                                .ok_or_else(|| crate::device::cuda::launch::internal(op, "dc"))?,
                        )?;
                        l.arg(&acts).arg(&c).arg(c0).arg(&dyv).arg(&mut *dh).arg(&mut *dc).arg(&mut *da);
                        // SAFETY: matches `lstm_bwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major,
                        // const T* acts, const T* c, const T* c0, const T* dy, T* dh, T* dc,
                        // T* da)`; `acts`, `da` hold N*T*4H elements, `c`, `dy` N*T*H, `c0`, `dh`,
                        // `dc` N*H; batch-first layout; step s only.
                        unsafe { l.launch(elementwise_cfg(nh)) }.map_err(dev_err(op))?;
                    }
                    Kind::Gru => {
                        let acts = view::<T>(
                            op,
                            lt.acts
                                .as_ref()
                                .ok_or_else(|| crate::device::cuda::launch::internal(op, "acts"))?,
                        )?;
                        let qn = view::<T>(
                            op,
                            lt.extra
                                .as_ref()
                                .ok_or_else(|| crate::device::cuda::launch::internal(op, "qn"))?,
                        )?;
                        let dq = block_mut::<T>(
                            op,
                            dq_block
                                .as_mut()
                                .ok_or_else(|| crate::device::cuda::launch::internal(op, "dq"))?,
                        )?;
                        l.arg(&acts)
                            .arg(&qn)
                            .arg(&yv)
                            .arg(&h0k)
                            .arg(&dyv)
                            .arg(&mut *dh)
                            .arg(&mut *da)
                            .arg(&mut *dq);
                        // SAFETY: matches `gru_bwd_<t>(i64 n, i64 t, i64 h, i64 s, int time_major,
                        // const T* acts, const T* qn, const T* y, const T* h0, const T* dy, T* dh,
                        // T* dp, T* dq)`; `acts`, `dp` (= da), `dq` hold N*T*3H elements, `qn`,
                        // `y`, `dy` N*T*H, `h0`, `dh` N*H; batch-first layout; step s only.
                        unsafe { l.launch(elementwise_cfg(nh)) }.map_err(dev_err(op))?;
                    }
                }
            }
            // The gradient that goes through W_hh: dA_s (GRU: dQ_s).
            let dah: &CudaSlice<T> = match dq_block.as_ref() {
                Some(b) => b.slice::<T>().ok_or_else(|| crate::device::cuda::launch::internal(op, "dq"))?,
                None => {
                    da_block.slice::<T>().ok_or_else(|| crate::device::cuda::launch::internal(op, "da"))?
                }
            };
            let (hp, sb) =
                if s == 0 { (h0k.slice(..), [0, h, 1]) } else { (yv.slice((s - 1) * h..), [0, t * h, 1]) };
            // W̄_hh (+)= dA_sᵀ h_{s-1}: (GH x N)·(N x H), steps in reverse order.
            let mm = Gemm {
                m: gh,
                n: h,
                k: n,
                batch: 1,
                sa: [0, 1, t * gh],
                sb,
                sc: [0, h, 1],
                alpha: 1.0,
                beta: if s == t - 1 { 0.0 } else { 1.0 },
            };
            let dwhh = block_mut::<T>(op, &mut dwhh_block)?;
            gemm::<T>(op, &gpu, &dah.slice(s * gh..), &hp, &mut dwhh.slice_mut(..), &mm)?;
            // h̄_{s-1} += dA_s W_hh: (N x GH)·(GH x H).
            let mm = Gemm {
                m: n,
                n: h,
                k: gh,
                batch: 1,
                sa: [0, t * gh, 1],
                sb: [0, h, 1],
                sc: [0, h, 1],
                alpha: 1.0,
                beta: 1.0,
            };
            let dh = block_mut::<T>(op, &mut dh_block)?;
            gemm::<T>(op, &gpu, &dah.slice(s * gh..), &whh, &mut dh.slice_mut(..), &mm)?;
        }
        let dh = dh_block.slice::<T>().ok_or_else(|| crate::device::cuda::launch::internal(op, "dh"))?;
        copy::<T>(op, &gpu, &dh.slice(..), 0, block_mut::<T>(op, &mut dh0_block)?, k * nh, nh)?;
        if let (Some(dcb), Some(dc0b)) = (dc_block.as_ref(), dc0_block.as_mut()) {
            let dc = dcb.slice::<T>().ok_or_else(|| crate::device::cuda::launch::internal(op, "dc"))?;
            copy::<T>(op, &gpu, &dc.slice(..), 0, block_mut::<T>(op, dc0b)?, k * nh, nh)?;
        }
        let da = da_block.slice::<T>().ok_or_else(|| crate::device::cuda::launch::internal(op, "da"))?;
        let xv = view::<T>(op, &lt.x)?;
        // W̄_ih = dAᵀ X: (GH x NT)·(NT x I_k).
        let mut dwih_block = fresh::<T>(&gpu, gh * ik)?;
        let mm = Gemm {
            m: gh,
            n: ik,
            k: nt,
            batch: 1,
            sa: [0, 1, gh],
            sb: [0, ik, 1],
            sc: [0, ik, 1],
            alpha: 1.0,
            beta: 0.0,
        };
        gemm::<T>(
            op,
            &gpu,
            &da.slice(..),
            &xv,
            &mut block_mut::<T>(op, &mut dwih_block)?.slice_mut(..),
            &mm,
        )?;
        let new_dx = if k > 0 || need_dx {
            // X̄ = dA W_ih: (NT x GH)·(GH x I_k).
            let mut b = fresh::<T>(&gpu, nt * ik)?;
            let mm = Gemm {
                m: nt,
                n: ik,
                k: gh,
                batch: 1,
                sa: [0, gh, 1],
                sb: [0, ik, 1],
                sc: [0, ik, 1],
                alpha: 1.0,
                beta: 0.0,
            };
            let wih = view::<T>(op, &w.w_ih)?;
            gemm::<T>(op, &gpu, &da.slice(..), &wih, &mut block_mut::<T>(op, &mut b)?.slice_mut(..), &mm)?;
            Some(CudaData::new(b, dtype, &[n, t, ik]))
        } else {
            None
        };
        let da_c = CudaData::new(da_block, dtype, &[nt, gh]);
        let db_ih = if w.b_ih.is_some() { Some(sum_dims(&da_c, &[0], false, 1.0)?) } else { None };
        let db_hh = match (&w.b_hh, dq_block) {
            (None, _) => None,
            (Some(_), Some(dq)) => Some(sum_dims(&CudaData::new(dq, dtype, &[nt, gh]), &[0], false, 1.0)?),
            (Some(_), None) => Some(sum_dims(&da_c, &[0], false, 1.0)?),
        };
        grads.push(LayerGrads {
            dw_ih: CudaData::new(dwih_block, dtype, &[gh, ik]),
            dw_hh: CudaData::new(dwhh_block, dtype, &[gh, h]),
            db_ih,
            db_hh,
        });
        match new_dx {
            Some(g) if k > 0 => dy = g,
            g => dx = g,
        }
    }
    grads.reverse();
    let dh0 = CudaData::new(dh0_block, dtype, &[d.l, n, h]);
    let dc0 = dc0_block.map(|b| CudaData::new(b, dtype, &[d.l, n, h]));
    Ok(Grads { dx, dh0, dc0, layers: grads })
}
