//! The layer loop of the recurrent CPU kernels, shared by RNN, LSTM and GRU (the formulas are in
//! `ops::rnn`, `ops::lstm` and `ops::gru`): GEMMs through the packed GEMM ([`crate::device::cpu::gemm`]) with in-order
//! accumulation, and per step the cell's fused elementwise pass (`tanh.rs`, `lstm.rs`, `gru.rs`
//! beside this file).
//!
//! Buffers are plain row-major `Vec`s (see [`super::types`]). The slice of step `s` of a sequence
//! is a strided $N \times W$ matrix that the GEMM reads and writes in place, without copies.

use rayon::prelude::*;

use super::types::{BwdStep, Dims, FwdStep, Grads, Kind, LayerGrads, LayerParams, LayerTape, Tape};
use super::{gru, lstm, tanh};
use crate::device::cpu::float::CpuFloat;
use crate::device::cpu::gemm::{PackedB, gemm_packed_b};
use crate::device::cpu::threads::{in_pool, on_this_thread};
use crate::error::{Error, Result};

/// Where a matrix lies in a slice: element $(r, c)$ at `off + r·rs + c·cs`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    off: usize,
    rs: usize,
    cs: usize,
}

impl View {
    /// A row-major matrix with `cols` columns.
    pub(crate) fn rows(cols: usize) -> View {
        View { off: 0, rs: cols, cs: 1 }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub(crate) fn transposed(cols: usize) -> View {
        View { off: 0, rs: 1, cs: cols }
    }
    /// Step `s` of an `(N, T, w)` sequence, as an $N \times w$ matrix.
    pub(crate) fn step(s: usize, t: usize, w: usize) -> View {
        View { off: s * w, rs: t * w, cs: 1 }
    }
    /// True when an `m×k` matrix at this view fits in `len` elements.
    fn fits(self, m: usize, k: usize, len: usize) -> bool {
        m == 0 || k == 0 || self.off + (m - 1) * self.rs + (k - 1) * self.cs < len
    }
}

/// $C \leftarrow A B + \beta C$ for $A$ $(m \times k)$, $B$ $(k \times n)$, $C$ $(m \times n)$, each
/// a strided view into a slice. One call of the packed GEMM: each element of $C$ is one dot
/// product in a fixed order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: CpuFloat>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    av: View,
    b: &[T],
    bv: View,
    beta: T,
    c: &mut [T],
    cv: View,
) -> Result<()> {
    if !(av.fits(m, k, a.len()) && bv.fits(k, n, b.len()) && cv.fits(m, n, c.len())) {
        return Err(Error::invalid(
            "gemm",
            format!("internal: a {m}×{k}·{k}×{n} product does not fit its buffers"),
        ));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    // SAFETY: the three views fit their slices (checked above); `c` is a unique borrow, so it
    // aliases neither `a` nor `b`.
    unsafe {
        T::gemm(
            m,
            k,
            n,
            T::one(),
            a.as_ptr().add(av.off),
            av.rs as isize,
            av.cs as isize,
            b.as_ptr().add(bv.off),
            bv.rs as isize,
            bv.cs as isize,
            beta,
            c.as_mut_ptr().add(cv.off),
            cv.rs as isize,
            cv.cs as isize,
        );
    }
    Ok(())
}

/// $C \leftarrow A B + \beta C$ with $B$ packed beforehand ([`PackedB`]), $A$ and $C$ strided views
/// as in [`gemm`]: the recurrence product of every step reuses one packing of $W_{hh}^\top$.
#[allow(clippy::too_many_arguments)]
fn gemm_packed<T: CpuFloat>(
    m: usize,
    a: &[T],
    av: View,
    b: &PackedB<T>,
    beta: T,
    c: &mut [T],
    cv: View,
) -> Result<()> {
    let (k, n) = (b.k(), b.n());
    if !(av.fits(m, k, a.len()) && cv.fits(m, n, c.len())) {
        return Err(Error::invalid(
            "gemm",
            format!("internal: a {m}×{k}·{k}×{n} product does not fit its buffers"),
        ));
    }
    // SAFETY: the views fit their slices (checked above); `c` is a unique borrow.
    unsafe {
        gemm_packed_b(
            m,
            T::one(),
            a.as_ptr().add(av.off),
            av.rs as isize,
            av.cs as isize,
            b,
            beta,
            c.as_mut_ptr().add(cv.off),
            cv.rs as isize,
            cv.cs as isize,
        )
    };
    Ok(())
}

/// $W_{hh}^\top$ ($H \times GH$, a transposed view of the $GH \times H$ weight) packed once.
fn pack_w_hh_t<T: CpuFloat>(w_hh: &[T], h: usize, gh: usize) -> Result<PackedB<T>> {
    if w_hh.len() < h * gh {
        return Err(Error::invalid("rnn", format!("internal: W_hh has {} values, not {gh}×{h}", w_hh.len())));
    }
    // SAFETY: w_hh holds gh×h values; Bᵀ's (kk, j) is w_hh[j·h + kk].
    Ok(unsafe { PackedB::new(h, gh, w_hh.as_ptr(), 1, h as isize) })
}

/// Column sums of a row-major matrix with `w` columns, rows added in order.
fn colsum<T: CpuFloat>(a: &[T], w: usize) -> Vec<T> {
    let mut s = vec![T::zero(); w];
    for row in a.chunks(w) {
        for (acc, &v) in s.iter_mut().zip(row) {
            *acc += v;
        }
    }
    s
}

/// $h_{s-1}$ as an $N \times H$ view: $h_0$ at the first step, else step $s-1$ of the output.
fn hprev<'a, T>(s: usize, d: Dims, y: &'a [T], h0: &'a [T]) -> (&'a [T], View) {
    if s == 0 { (h0, View::rows(d.h)) } else { (y, View::step(s - 1, d.t, d.h)) }
}

/// Forward of one layer over all steps.
fn forward_layer<T: CpuFloat>(
    kind: Kind,
    d: Dims,
    x: &[T],
    ik: usize,
    w: &LayerParams<T>,
    h0: &[T],
    c0: &[T],
) -> Result<LayerTape<T>> {
    let (n, t, h) = (d.n, d.t, d.h);
    let gh = kind.gates() * h;
    // Input projection of every step at once: P = X W_ihᵀ + b_ih (+ b_hh, except for the GRU,
    // whose b_hn sits inside r ⊙ (·)).
    let mut bias = vec![T::zero(); gh];
    let folded = [w.b_ih.as_ref(), if kind == Kind::Gru { None } else { w.b_hh.as_ref() }];
    for b in folded.into_iter().flatten() {
        for (acc, &v) in bias.iter_mut().zip(b) {
            *acc += v;
        }
    }
    // Every row starts as the bias (row copies: a `cycle().take()` iterator does not vectorise).
    let mut p: Vec<T> = Vec::with_capacity(n * t * gh);
    for _ in 0..n * t {
        p.extend_from_slice(&bias);
    }
    gemm(n * t, ik, gh, x, View::rows(ik), &w.w_ih, View::transposed(ik), T::one(), &mut p, View::rows(gh))?;

    let mut y = vec![T::zero(); n * t * h];
    let mut extra = if kind == Kind::RnnTanh { Vec::new() } else { vec![T::zero(); n * t * h] };
    let b_hh: Vec<T> = w.b_hh.clone().unwrap_or_else(|| vec![T::zero(); gh]);
    let mut hh = if kind == Kind::Gru { vec![T::zero(); n * gh] } else { Vec::new() };
    let w_hh_t = pack_w_hh_t(&w.w_hh, h, gh)?;
    let rows = chunk_rows(n);
    if rows >= n {
        let bufs = StepBufs { p: &mut p, y: &mut y, extra: &mut extra, hh: &mut hh, h0, c0 };
        return finish_layer(kind, time_loop(kind, d, bufs, &b_hh, &w_hh_t), p, y, extra, h0, c0);
    }
    // Rows are independent through time (row b of h_s depends on row b of h_{s-1} only), so each
    // chunk of rows runs every step on its own thread: no fork or join per step. Each element is
    // still the same GEMM tile's FMA chain and the same cell arithmetic: the same bits.
    let parts: Vec<StepBufs<'_, T>> = {
        let k = n.div_ceil(rows);
        let ps = split_rows(&mut p, rows * t * gh, k);
        let ys = split_rows(&mut y, rows * t * h, k);
        let es = split_rows(&mut extra, rows * t * h, k);
        let hs = split_rows(&mut hh, rows * gh, k);
        let h0s = h0.chunks(rows * h);
        let c0s: Vec<&[T]> = if c0.is_empty() { vec![&[]; k] } else { c0.chunks(rows * h).collect() };
        ps.into_iter()
            .zip(ys)
            .zip(es)
            .zip(hs)
            .zip(h0s)
            .zip(c0s)
            .map(|(((((p, y), extra), hh), h0), c0)| StepBufs { p, y, extra, hh, h0, c0 })
            .collect()
    };
    let done: Result<Vec<()>> = parts
        .into_par_iter()
        .map(|b| {
            let dc = Dims { n: b.p.len() / (t * gh), ..d };
            on_this_thread(|| time_loop(kind, dc, b, &b_hh, &w_hh_t))
        })
        .collect();
    finish_layer(kind, done.map(|_| ()), p, y, extra, h0, c0)
}

/// The layer's tape once its time loop has run.
fn finish_layer<T: CpuFloat>(
    kind: Kind,
    ran: Result<()>,
    p: Vec<T>,
    y: Vec<T>,
    extra: Vec<T>,
    h0: &[T],
    c0: &[T],
) -> Result<LayerTape<T>> {
    ran?;
    let acts = if kind == Kind::RnnTanh { Vec::new() } else { p };
    Ok(LayerTape { h0: h0.to_vec(), c0: c0.to_vec(), y, acts, extra })
}

/// Rows per chunk of the forward time loop: the batch cut into one chunk per thread, each a
/// multiple of 8 rows (the GEMM's micro-tile height); the whole batch when that leaves one chunk.
fn chunk_rows(n: usize) -> usize {
    let threads = rayon::current_num_threads();
    if threads <= 1 || n < 16 {
        return n;
    }
    n.div_ceil(threads).next_multiple_of(8)
}

/// `v` in chunks of `len` values, or (when `v` is empty: a buffer this cell does not use) as many
/// empty slices as a full-size buffer would have chunks.
fn split_rows<T>(v: &mut [T], len: usize, chunks: usize) -> Vec<&mut [T]> {
    if v.is_empty() {
        return (0..chunks).map(|_| <&mut [T]>::default()).collect();
    }
    v.chunks_mut(len.max(1)).collect()
}

/// The buffers of one chunk of rows of a layer's forward time loop (layouts as [`FwdStep`]).
struct StepBufs<'a, T> {
    p: &'a mut [T],
    y: &'a mut [T],
    extra: &'a mut [T],
    hh: &'a mut [T],
    h0: &'a [T],
    c0: &'a [T],
}

/// Every step of one layer for the rows of `b` (`d.n` of them): the recurrence product and the
/// cell's elementwise pass.
fn time_loop<T: CpuFloat>(
    kind: Kind,
    d: Dims,
    b: StepBufs<'_, T>,
    b_hh: &[T],
    w_hh_t: &PackedB<T>,
) -> Result<()> {
    let (n, t, gh) = (d.n, d.t, kind.gates() * d.h);
    let StepBufs { p, y, extra, hh, h0, c0 } = b;
    for s in 0..t {
        let (hp, hv) = hprev(s, d, y, h0);
        if kind == Kind::Gru {
            for row in hh.chunks_mut(gh) {
                row.copy_from_slice(b_hh);
            }
            gemm_packed(n, hp, hv, w_hh_t, T::one(), hh, View::rows(gh))?;
        } else {
            gemm_packed(n, hp, hv, w_hh_t, T::one(), p, View::step(s, t, gh))?;
        }
        let st = FwdStep { s, d, p, hh, y, extra, h0, c0 };
        match kind {
            Kind::RnnTanh => tanh::forward_step(st),
            Kind::Lstm => lstm::forward_step(st),
            Kind::Gru => gru::forward_step(st),
        }
    }
    Ok(())
}

/// Forward of the whole stack: layer $k$ reads layer $k-1$'s output.
pub(crate) fn forward<T: CpuFloat>(
    kind: Kind,
    d: Dims,
    x: Vec<T>,
    h0: &[T],
    c0: &[T],
    params: Vec<LayerParams<T>>,
) -> Result<Tape<T>> {
    // All steps on one worker: per step, the GEMM and the cell pass fork among the workers
    // instead of waking them from this thread (`in_pool`).
    in_pool(|| forward_stack(kind, d, x, h0, c0, params))
}

fn forward_stack<T: CpuFloat>(
    kind: Kind,
    d: Dims,
    x: Vec<T>,
    h0: &[T],
    c0: &[T],
    params: Vec<LayerParams<T>>,
) -> Result<Tape<T>> {
    let nh = d.n * d.h;
    let mut layers: Vec<LayerTape<T>> = Vec::with_capacity(d.l);
    for (k, w) in params.iter().enumerate() {
        let (input, ik) = if k == 0 { (&x[..], d.i) } else { (&layers[k - 1].y[..], d.h) };
        let c0k = if kind == Kind::Lstm { &c0[k * nh..(k + 1) * nh] } else { &[][..] };
        let lt = forward_layer(kind, d, input, ik, w, &h0[k * nh..(k + 1) * nh], c0k)?;
        layers.push(lt);
    }
    Ok(Tape { x, params, layers })
}

/// Backward through time of the whole stack, top layer first. `g_y` is the upstream gradient of
/// the output, `g_hn` and `g_cn` those of the final states $(L, N, H)$.
pub(crate) fn backward<T: CpuFloat>(
    kind: Kind,
    d: Dims,
    tape: &Tape<T>,
    g_y: Vec<T>,
    g_hn: &[T],
    g_cn: &[T],
    need_dx: bool,
) -> Result<Grads<T>> {
    in_pool(|| backward_stack(kind, d, tape, g_y, g_hn, g_cn, need_dx))
}

fn backward_stack<T: CpuFloat>(
    kind: Kind,
    d: Dims,
    tape: &Tape<T>,
    g_y: Vec<T>,
    g_hn: &[T],
    g_cn: &[T],
    need_dx: bool,
) -> Result<Grads<T>> {
    let (n, t, h) = (d.n, d.t, d.h);
    let (nh, gh) = (n * h, kind.gates() * h);
    let lstm = kind == Kind::Lstm;
    let gru = kind == Kind::Gru;
    let mut dh0 = vec![T::zero(); d.l * nh];
    let mut dc0 = if lstm { vec![T::zero(); d.l * nh] } else { Vec::new() };
    let mut layers = Vec::with_capacity(d.l);
    let mut dy = g_y;
    let mut dx = None;
    for k in (0..d.l).rev() {
        let (lt, w) = (&tape.layers[k], &tape.params[k]);
        let (input, ik) = if k == 0 { (&tape.x[..], d.i) } else { (&tape.layers[k - 1].y[..], d.h) };
        let mut dh = g_hn[k * nh..(k + 1) * nh].to_vec();
        let mut dc = if lstm { g_cn[k * nh..(k + 1) * nh].to_vec() } else { Vec::new() };
        let mut da = vec![T::zero(); n * t * gh];
        let mut dah = if gru { vec![T::zero(); n * t * gh] } else { Vec::new() };
        // W_hh (GH × H) packed once for every step's h̄_{s-1} += ā_s W_hh.
        // SAFETY: w_hh holds gh×h values, row-major.
        let w_hh = unsafe { PackedB::new(gh, h, w.w_hh.as_ptr(), h as isize, 1) };
        for s in (0..t).rev() {
            let st =
                BwdStep { s, d, tape: lt, dy: &dy, dh: &mut dh, dc: &mut dc, da: &mut da, dah: &mut dah };
            match kind {
                Kind::RnnTanh => tanh::backward_step(st),
                Kind::Lstm => lstm::backward_step(st),
                Kind::Gru => gru::backward_step(st),
            }
            let dah_s: &[T] = if gru { &dah } else { &da };
            // h̄_{s-1} += ā_s W_hh
            gemm_packed(n, dah_s, View::step(s, t, gh), &w_hh, T::one(), &mut dh, View::rows(h))?;
        }
        // W̄_hh = Σ_s ā_sᵀ h_{s-1}: one product over all steps, Āᵀ (GH × N·T) times the previous
        // states stacked in the same (sample, step) order (h_{-1} = h₀), summed in that order.
        let mut h_prev = vec![T::zero(); n * t * h];
        for (b, rows) in h_prev.chunks_mut(t * h).enumerate() {
            rows[..h].copy_from_slice(&lt.h0[b * h..(b + 1) * h]);
            if t > 1 {
                rows[h..].copy_from_slice(&lt.y[b * t * h..(b * t + t - 1) * h]);
            }
        }
        let mut dw_hh = vec![T::zero(); gh * h];
        let dah_all: &[T] = if gru { &dah } else { &da };
        gemm(
            gh,
            n * t,
            h,
            dah_all,
            View::transposed(gh),
            &h_prev,
            View::rows(h),
            T::zero(),
            &mut dw_hh,
            View::rows(h),
        )?;
        dh0[k * nh..(k + 1) * nh].copy_from_slice(&dh);
        if lstm {
            dc0[k * nh..(k + 1) * nh].copy_from_slice(&dc);
        }
        // W̄_ih = Āᵀ X over all steps at once.
        let mut dw_ih = vec![T::zero(); gh * ik];
        gemm(
            gh,
            n * t,
            ik,
            &da,
            View::transposed(gh),
            input,
            View::rows(ik),
            T::zero(),
            &mut dw_ih,
            View::rows(ik),
        )?;
        let db_ih = if w.b_ih.is_some() { colsum(&da, gh) } else { Vec::new() };
        let db_hh = if w.b_hh.is_some() { colsum(if gru { &dah } else { &da }, gh) } else { Vec::new() };
        // X̄ = Ā W_ih: the upstream gradient of the layer below, or x's gradient.
        if k > 0 || need_dx {
            let mut dxk = vec![T::zero(); n * t * ik];
            gemm(
                n * t,
                gh,
                ik,
                &da,
                View::rows(gh),
                &w.w_ih,
                View::rows(ik),
                T::zero(),
                &mut dxk,
                View::rows(ik),
            )?;
            if k > 0 {
                dy = dxk;
            } else {
                dx = Some(dxk);
            }
        }
        layers.push(LayerGrads { dw_ih, dw_hh, db_ih, db_hh });
    }
    layers.reverse();
    Ok(Grads { dx, dh0, dc0, layers })
}
