//! The tanh cell's fused elementwise steps (the formulas are in `ops::rnn`): forward
//! $h_s = \tanh(a_s)$, backward $\bar a_s = (\bar h_s + \bar y_s) \odot (1 - h_s^2)$, one batch row
//! per rayon task.

use rayon::prelude::*;

use super::types::{BwdStep, FwdStep};
use crate::device::cpu::float::CpuFloat;
use crate::device::cpu::threads::min_rows;

/// Forward of the tanh cell at step `s`: $h_s = \tanh(a_s)$.
pub(crate) fn forward_step<T: CpuFloat>(st: FwdStep<'_, T>) {
    let (s, t, h) = (st.s, st.d.t, st.d.h);
    st.y.par_chunks_mut(t * h).zip(st.p.par_chunks(t * h)).with_min_len(min_rows(h)).for_each(|(y, p)| {
        let ys = &mut y[s * h..(s + 1) * h];
        ys.copy_from_slice(&p[s * h..(s + 1) * h]);
        T::tanh_slice(ys);
    });
}

/// Backward of the tanh cell at step `s`: $\bar a_s = (\bar h_s + \bar y_s) \odot (1 - h_s^2)$.
pub(crate) fn backward_step<T: CpuFloat>(st: BwdStep<'_, T>) {
    let (s, t, h) = (st.s, st.d.t, st.d.h);
    st.da
        .par_chunks_mut(t * h)
        .zip(st.dh.par_chunks_mut(h))
        .zip(st.tape.y.par_chunks(t * h))
        .zip(st.dy.par_chunks(t * h))
        .with_min_len(min_rows(h))
        .for_each(|(((da, dh), y), dy)| {
            for j in 0..h {
                let g = dh[j] + dy[s * h + j];
                let h_s = y[s * h + j];
                da[s * h + j] = g * (T::one() - h_s * h_s);
                dh[j] = T::zero();
            }
        });
}
