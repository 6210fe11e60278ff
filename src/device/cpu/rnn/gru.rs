//! The GRU cell's fused elementwise steps (the formulas are in `ops::gru`), one batch row per
//! rayon task: the gate activations $r, z, n$ and $h_s$ forward; $\bar p_s$, $\bar q_s$ and the
//! direct part of $\bar h_{s-1}$ backward.

use rayon::prelude::*;

use super::types::{BwdStep, FwdStep};
use crate::device::cpu::float::CpuFloat;
use crate::device::cpu::threads::min_rows;

/// Forward at step `s`, one batch row per task. `p` holds $p_s$ in and $r, z, n$ out; `extra`
/// gets $q^n_s$.
pub(crate) fn forward_step<T: CpuFloat>(st: FwdStep<'_, T>) {
    let (s, t, h) = (st.s, st.d.t, st.d.h);
    let gh = 3 * h;
    let one = T::one();
    st.p.par_chunks_mut(t * gh)
        .zip(st.y.par_chunks_mut(t * h))
        .zip(st.extra.par_chunks_mut(t * h))
        .zip(st.hh.par_chunks(gh))
        .zip(st.h0.par_chunks(h))
        .with_min_len(min_rows(gh))
        .for_each(|((((p, y), qn), q), h0)| {
            let a = &mut p[s * gh..(s + 1) * gh];
            // r, z = σ(p + q) in place (vectorised for f32), then n = tanh(p_n + r ⊙ q_n).
            for (aj, &qj) in a[..2 * h].iter_mut().zip(&q[..2 * h]) {
                *aj += qj;
            }
            T::sigmoid_slice(&mut a[..2 * h]);
            for j in 0..h {
                a[2 * h + j] += a[j] * q[2 * h + j];
            }
            T::tanh_slice(&mut a[2 * h..]);
            for j in 0..h {
                let (z_s, n_s) = (a[h + j], a[2 * h + j]);
                let h_prev = if s == 0 { h0[j] } else { y[(s - 1) * h + j] };
                y[s * h + j] = (one - z_s) * n_s + z_s * h_prev;
                qn[s * h + j] = q[2 * h + j];
            }
        });
}

/// Backward at step `s`, one batch row per task: $\bar p_s$, $\bar q_s$, and the direct part
/// $\bar h_s \odot z_s$ of $\bar h_{s-1}$ left in `dh`.
pub(crate) fn backward_step<T: CpuFloat>(st: BwdStep<'_, T>) {
    let (s, t, h) = (st.s, st.d.t, st.d.h);
    let gh = 3 * h;
    let one = T::one();
    let tape = st.tape;
    st.da
        .par_chunks_mut(t * gh)
        .zip(st.dah.par_chunks_mut(t * gh))
        .zip(st.dh.par_chunks_mut(h))
        .zip(tape.acts.par_chunks(t * gh))
        .zip(tape.extra.par_chunks(t * h))
        .zip(tape.y.par_chunks(t * h))
        .zip(tape.h0.par_chunks(h))
        .zip(st.dy.par_chunks(t * h))
        .with_min_len(min_rows(gh))
        .for_each(|(((((((dp, dq), dh), acts), qn), y), h0), dy)| {
            let act = &acts[s * gh..(s + 1) * gh];
            let dp = &mut dp[s * gh..(s + 1) * gh];
            let dq = &mut dq[s * gh..(s + 1) * gh];
            for j in 0..h {
                let (r_s, z_s, n_s) = (act[j], act[h + j], act[2 * h + j]);
                let h_prev = if s == 0 { h0[j] } else { y[(s - 1) * h + j] };
                let dh_s = dh[j] + dy[s * h + j];
                let da_n = dh_s * (one - z_s) * (one - n_s * n_s);
                let da_z = dh_s * (h_prev - n_s) * z_s * (one - z_s);
                let da_r = da_n * qn[s * h + j] * r_s * (one - r_s);
                dp[j] = da_r;
                dp[h + j] = da_z;
                dp[2 * h + j] = da_n;
                dq[j] = da_r;
                dq[h + j] = da_z;
                dq[2 * h + j] = da_n * r_s;
                dh[j] = dh_s * z_s;
            }
        });
}
