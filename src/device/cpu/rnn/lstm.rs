//! The LSTM cell's fused elementwise steps (the formulas are in `ops::lstm`), one batch row per
//! rayon task: the gate activations $i, f, g, o$, $c_s$ and $h_s$ forward; $\bar a_s$ and
//! $\bar c_{s-1}$ backward.

use rayon::prelude::*;

use super::types::{BwdStep, FwdStep};
use crate::device::cpu::float::CpuFloat;
use crate::device::cpu::threads::min_rows;

/// Forward at step `s`, one batch row per task: gates, $c_s$, $h_s$. The pre-activations in `p`
/// are replaced by the activations $i, f, g, o$ (saved for backward).
pub(crate) fn forward_step<T: CpuFloat>(st: FwdStep<'_, T>) {
    let (s, t, h) = (st.s, st.d.t, st.d.h);
    let gh = 4 * h;
    st.p.par_chunks_mut(t * gh)
        .zip(st.y.par_chunks_mut(t * h))
        .zip(st.extra.par_chunks_mut(t * h))
        .zip(st.c0.par_chunks(h))
        .with_min_len(min_rows(gh))
        .for_each(|(((p, y), c), c0)| {
            let a = &mut p[s * gh..(s + 1) * gh];
            // The gate activations, in place, one contiguous slice each (vectorised for f32).
            T::sigmoid_slice(&mut a[..2 * h]); // i, f
            T::tanh_slice(&mut a[2 * h..3 * h]); // g
            T::sigmoid_slice(&mut a[3 * h..]); // o
            let ys = &mut y[s * h..(s + 1) * h];
            for j in 0..h {
                let (i_s, f_s, g_s) = (a[j], a[h + j], a[2 * h + j]);
                let c_prev = if s == 0 { c0[j] } else { c[(s - 1) * h + j] };
                let c_s = f_s * c_prev + i_s * g_s;
                c[s * h + j] = c_s;
                ys[j] = c_s;
            }
            T::tanh_slice(ys);
            for (yj, &o_s) in ys.iter_mut().zip(&a[3 * h..]) {
                *yj = o_s * *yj;
            }
        });
}

/// Backward at step `s`, one batch row per task: $\bar a_s$ from $\bar h_s$ and $\bar c_s$;
/// $\bar c$ becomes $\bar c_{s-1}$; `dh` is left at zero (all of $\bar h_{s-1}$ goes through $W_{hh}$).
pub(crate) fn backward_step<T: CpuFloat>(st: BwdStep<'_, T>) {
    let (s, t, h) = (st.s, st.d.t, st.d.h);
    let gh = 4 * h;
    let one = T::one();
    let tape = st.tape;
    st.da
        .par_chunks_mut(t * gh)
        .zip(st.dh.par_chunks_mut(h))
        .zip(st.dc.par_chunks_mut(h))
        .zip(tape.acts.par_chunks(t * gh))
        .zip(tape.extra.par_chunks(t * h))
        .zip(tape.c0.par_chunks(h))
        .zip(st.dy.par_chunks(t * h))
        .with_min_len(min_rows(gh))
        .for_each(|((((((da, dh), dc), acts), c), c0), dy)| {
            let act = &acts[s * gh..(s + 1) * gh];
            let da = &mut da[s * gh..(s + 1) * gh];
            // tanh(c_s) staged in the o block of `da`, each read just before it is overwritten.
            da[3 * h..].copy_from_slice(&c[s * h..(s + 1) * h]);
            T::tanh_slice(&mut da[3 * h..]);
            for j in 0..h {
                let (i_s, f_s, g_s, o_s) = (act[j], act[h + j], act[2 * h + j], act[3 * h + j]);
                let c_prev = if s == 0 { c0[j] } else { c[(s - 1) * h + j] };
                let tc = da[3 * h + j];
                let dh_s = dh[j] + dy[s * h + j];
                let dc_s = dc[j] + dh_s * o_s * (one - tc * tc);
                da[j] = dc_s * g_s * i_s * (one - i_s);
                da[h + j] = dc_s * c_prev * f_s * (one - f_s);
                da[2 * h + j] = dc_s * i_s * (one - g_s * g_s);
                da[3 * h + j] = dh_s * tc * o_s * (one - o_s);
                dc[j] = dc_s * f_s;
                dh[j] = T::zero();
            }
        });
}
