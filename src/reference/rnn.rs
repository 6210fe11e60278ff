//! The recurrent cells transcribed literally: one layer, one sequence, f64 loops over plain
//! vectors, every index written out. The oracle for `ops::rnn`, `ops::lstm` and `ops::gru`
//! (which must agree to about `1e-12` in f64).
//!
//! A sequence is `x[t][k]` ($t < T$, $k < I$); a matrix is `m[row][col]`; the returned states
//! are $h_1 \dots h_T$ (and $c_1 \dots c_T$). Weights have PyTorch's layout: $G$ blocks of $H$ rows.

/// $\sigma(v) = 1 / (1 + e^{-v})$.
fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// Row `r` of `m` times `v`: $\sum_j m_{rj} v_j$.
fn row_dot(m: &[Vec<f64>], r: usize, v: &[f64]) -> f64 {
    let mut s = 0.0;
    for j in 0..v.len() {
        s += m[r][j] * v[j];
    }
    s
}

/// The document's RNN (§1.3.2.1): $h_t = \tanh(W h_{t-1} + U x_t + b)$, in its own letters:
/// `w` $= W_{hh}$ $(H \times H)$, `u` $= W_{ih}$ $(H \times I)$, `b` $= b_{ih} + b_{hh}$ $(H)$.
pub fn rnn_tanh(x: &[Vec<f64>], h0: &[f64], w: &[Vec<f64>], u: &[Vec<f64>], b: &[f64]) -> Vec<Vec<f64>> {
    let hidden = h0.len();
    let mut hs: Vec<Vec<f64>> = Vec::new();
    let mut h_prev = h0.to_vec();
    for x_t in x {
        let mut h_t = vec![0.0; hidden];
        for i in 0..hidden {
            let mut a = b[i];
            for j in 0..hidden {
                a += w[i][j] * h_prev[j];
            }
            for k in 0..x_t.len() {
                a += u[i][k] * x_t[k];
            }
            h_t[i] = a.tanh();
        }
        hs.push(h_t.clone());
        h_prev = h_t;
    }
    hs
}

/// The LSTM, gates in PyTorch's order $i, f, g, o$ (rows $0..H$, $H..2H$, $2H..3H$, $3H..4H$):
///
/// $i = \sigma(\cdot)$, $f = \sigma(\cdot)$, $g = \tanh(\cdot)$, $o = \sigma(\cdot)$ of
/// $W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}$;
/// $c_t = f c_{t-1} + i g$; $h_t = o \tanh(c_t)$. Returns $(h_1 \dots h_T,\ c_1 \dots c_T)$.
pub fn lstm(
    x: &[Vec<f64>],
    h0: &[f64],
    c0: &[f64],
    w_ih: &[Vec<f64>],
    w_hh: &[Vec<f64>],
    b_ih: &[f64],
    b_hh: &[f64],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let hidden = h0.len();
    let (mut hs, mut cs) = (Vec::new(), Vec::new());
    let (mut h_prev, mut c_prev) = (h0.to_vec(), c0.to_vec());
    for x_t in x {
        let pre = |r: usize| row_dot(w_ih, r, x_t) + b_ih[r] + row_dot(w_hh, r, &h_prev) + b_hh[r];
        let mut h_t = vec![0.0; hidden];
        let mut c_t = vec![0.0; hidden];
        for j in 0..hidden {
            let i = sigmoid(pre(j));
            let f = sigmoid(pre(hidden + j));
            let g = pre(2 * hidden + j).tanh();
            let o = sigmoid(pre(3 * hidden + j));
            c_t[j] = f * c_prev[j] + i * g;
            h_t[j] = o * c_t[j].tanh();
        }
        hs.push(h_t.clone());
        cs.push(c_t.clone());
        h_prev = h_t;
        c_prev = c_t;
    }
    (hs, cs)
}

/// The GRU, gates in PyTorch's order $r, z, n$ (rows $0..H$, $H..2H$, $2H..3H$):
///
/// $r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr})$, $z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz})$,
/// $n = \tanh(W_{in} x + b_{in} + r (W_{hn} h + b_{hn}))$, $h_t = (1 - z) n + z h_{t-1}$.
pub fn gru(
    x: &[Vec<f64>],
    h0: &[f64],
    w_ih: &[Vec<f64>],
    w_hh: &[Vec<f64>],
    b_ih: &[f64],
    b_hh: &[f64],
) -> Vec<Vec<f64>> {
    let hidden = h0.len();
    let mut hs = Vec::new();
    let mut h_prev = h0.to_vec();
    for x_t in x {
        let mut h_t = vec![0.0; hidden];
        for j in 0..hidden {
            let (jr, jz, jn) = (j, hidden + j, 2 * hidden + j);
            let r = sigmoid(row_dot(w_ih, jr, x_t) + b_ih[jr] + row_dot(w_hh, jr, &h_prev) + b_hh[jr]);
            let z = sigmoid(row_dot(w_ih, jz, x_t) + b_ih[jz] + row_dot(w_hh, jz, &h_prev) + b_hh[jz]);
            let n = (row_dot(w_ih, jn, x_t) + b_ih[jn] + r * (row_dot(w_hh, jn, &h_prev) + b_hh[jn])).tanh();
            h_t[j] = (1.0 - z) * n + z * h_prev[j];
        }
        hs.push(h_t.clone());
        h_prev = h_t;
    }
    hs
}
