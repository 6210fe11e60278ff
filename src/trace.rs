//! `glassgrad trace OP`: one output element of an op, written out as its formula with the real
//! numbers in it, then the value the engine computed and the value of the literal f64 reference
//! (`reference/`). For learners: the formula in the docs, the arithmetic on screen, the kernel's
//! answer beside it.
//!
//! Inputs are small, seeded and rounded to two decimals so that the arithmetic can be followed by
//! hand.

use ndarray::{Array1, Array2};
use std::fmt::Write;

use crate::error::{Error, Result};
use crate::ops::conv2d::{Conv2dParams, ConvMode};
use crate::ops::loss::Reduction;
use crate::reference;
use crate::rng::Generator;
use crate::tensor::Tensor;

/// The ops `trace` knows.
pub const OPS: &[&str] = &["matmul", "linear", "softmax", "cross_entropy", "conv2d", "max_pool2d", "rnn"];

fn small(shape: &[usize], rng: &mut Generator) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| (rng.normal() * 100.0).round() / 100.0).collect();
    Tensor::from_vec(v, shape)
}

fn arr2(t: &Tensor) -> Result<Array2<f64>> {
    let s = t.shape();
    Array2::from_shape_vec((s[0], s[1]), t.to_f64_vec()).map_err(|e| Error::invalid("trace", e.to_string()))
}

fn show(name: &str, t: &Tensor) -> String {
    format!("{name} {:?} =\n{t}\n", t.shape())
}

fn verdict(out: &mut String, engine: f64, reference: f64) {
    let _ = writeln!(out, "engine (f64 kernel):    {engine:.10}");
    let _ = writeln!(out, "reference (f64 loops):  {reference:.10}");
    let _ = writeln!(out, "|engine - reference| = {:.3e}", (engine - reference).abs());
}

/// The trace of `op` with inputs drawn from `seed`.
pub fn trace(op: &str, seed: u64) -> Result<String> {
    let mut rng = Generator::new(seed);
    let mut out = String::new();
    match op {
        "matmul" => {
            let (a, b) = (small(&[2, 3], &mut rng)?, small(&[3, 2], &mut rng)?);
            let c = a.matmul(&b)?;
            let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
            let _ = writeln!(out, "matmul: C_ij = sum_k A_ik * B_kj\n");
            out += &show("A", &a);
            out += &show("B", &b);
            let (i, j) = (1, 0);
            let terms: Vec<String> =
                (0..3).map(|k| format!("({:.2})*({:.2})", av[i * 3 + k], bv[k * 2 + j])).collect();
            let sum: f64 = (0..3).map(|k| av[i * 3 + k] * bv[k * 2 + j]).sum();
            let _ = writeln!(out, "C_{i}{j} = A_{i}0*B_0{j} + A_{i}1*B_1{j} + A_{i}2*B_2{j}");
            let _ = writeln!(out, "     = {}\n     = {sum:.10}\n", terms.join(" + "));
            let r = reference::matmul(&arr2(&a)?, &arr2(&b)?)?;
            verdict(&mut out, c.to_f64_vec()[i * 2 + j], r[[i, j]]);
        }
        "linear" => {
            let (x, w, b) = (small(&[2, 3], &mut rng)?, small(&[2, 3], &mut rng)?, small(&[2], &mut rng)?);
            let y = x.linear(&w, Some(&b))?;
            let (xv, wv, bv) = (x.to_f64_vec(), w.to_f64_vec(), b.to_f64_vec());
            let _ = writeln!(out, "linear: y_nj = b_j + sum_k x_nk * W_jk   (y = x W^T + b)\n");
            out += &show("x", &x);
            out += &show("W", &w);
            out += &show("b", &b);
            let (n, j) = (0, 1);
            let terms: Vec<String> =
                (0..3).map(|k| format!("({:.2})*({:.2})", xv[n * 3 + k], wv[j * 3 + k])).collect();
            let sum = bv[j] + (0..3).map(|k| xv[n * 3 + k] * wv[j * 3 + k]).sum::<f64>();
            let _ = writeln!(out, "y_{n}{j} = ({:.2}) + {}\n     = {sum:.10}\n", bv[j], terms.join(" + "));
            let r = reference::linear(&arr2(&x)?, &arr2(&w)?, Some(&Array1::from(bv.clone())))?;
            verdict(&mut out, y.to_f64_vec()[n * 2 + j], r[[n, j]]);
        }
        "softmax" => {
            let x = small(&[1, 4], &mut rng)?;
            let y = x.softmax(-1)?;
            let xv = x.to_f64_vec();
            let m = xv.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(
                out,
                "softmax: y_j = exp(x_j - m) / sum_k exp(x_k - m),  m = max_k x_k (exact, and no overflow)\n"
            );
            out += &show("x", &x);
            let exps: Vec<f64> = xv.iter().map(|v| (v - m).exp()).collect();
            let z: f64 = exps.iter().sum();
            let _ = writeln!(out, "m = {m:.2}");
            let _ = writeln!(
                out,
                "sum_k exp(x_k - m) = {} = {z:.10}",
                xv.iter().map(|v| format!("exp({:.2})", v - m)).collect::<Vec<_>>().join(" + ")
            );
            let _ = writeln!(out, "y_0 = exp({:.2}) / {z:.6} = {:.10}\n", xv[0] - m, exps[0] / z);
            let r = reference::softmax(&arr2(&x)?);
            verdict(&mut out, y.to_f64_vec()[0], r[[0, 0]]);
        }
        "cross_entropy" => {
            let x = small(&[2, 3], &mut rng)?;
            let t = Tensor::from_vec(vec![2i64, 0], &[2])?;
            let l = x.cross_entropy(&t, Reduction::Mean)?;
            let xv = x.to_f64_vec();
            let _ = writeln!(out, "cross_entropy: L = (1/N) sum_n [ logsumexp_c(x_nc) - x_n,t_n ]\n");
            out += &show("logits x", &x);
            let _ = writeln!(out, "targets t = [2, 0]\n");
            let mut total = 0.0;
            for (n, tn) in [(0usize, 2usize), (1, 0)] {
                let row = &xv[n * 3..n * 3 + 3];
                let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                let _ = writeln!(
                    out,
                    "row {n}: logsumexp = {lse:.6}, x_{n},{tn} = {:.2}, loss = {:.6}",
                    row[tn],
                    lse - row[tn]
                );
                total += lse - row[tn];
            }
            let _ = writeln!(out, "L = ({total:.6}) / 2 = {:.10}\n", total / 2.0);
            let r = reference::cross_entropy(&arr2(&x)?, &[2, 0])?;
            verdict(&mut out, l.item()?, r);
        }
        "conv2d" => {
            // The document's formula, 1-based: y_ij = sum_k sum_l x_(i-k+1)(j-l+1) * k_kl.
            let x = small(&[1, 1, 4, 4], &mut rng)?;
            let k = small(&[1, 1, 2, 2], &mut rng)?;
            let p = Conv2dParams { mode: ConvMode::Convolution, ..Default::default() };
            let y = x.conv2d(&k, None, &p)?;
            let (xv, kv) = (x.to_f64_vec(), k.to_f64_vec());
            let _ = writeln!(out, "conv2d (mode Convolution, the document's formula, 1-based indices):");
            let _ = writeln!(out, "  y_ij = sum_k sum_l x_(i-k+1)(j-l+1) * k_kl   (the kernel is flipped)\n");
            out += &show("x", &x);
            out += &show("kernel", &k);
            // Output element (i, j) = (2, 2) in 1-based indices of the valid range starts at i = kH.
            let (i, j) = (2usize, 3usize);
            let mut terms = Vec::new();
            let mut sum = 0.0;
            for kk in 1..=2usize {
                for ll in 1..=2usize {
                    let (xi, xj) = (i - kk + 1, j - ll + 1);
                    let (xval, kval) = (xv[(xi - 1) * 4 + (xj - 1)], kv[(kk - 1) * 2 + (ll - 1)]);
                    terms.push(format!("x_{xi}{xj}*k_{kk}{ll} = ({xval:.2})*({kval:.2})"));
                    sum += xval * kval;
                }
            }
            let _ = writeln!(out, "y_{i}{j} = {}\n     = {sum:.10}", terms.join("\n       + "));
            let _ =
                writeln!(out, "(the engine's output row {}, column {} in 0-based indices)\n", i - 2, j - 2);
            let yv = y.to_f64_vec();
            let r = reference::conv::conv2d_convolution(
                &ndarray::Array4::from_shape_vec((1, 1, 4, 4), xv)
                    .map_err(|e| Error::invalid("trace", e.to_string()))?,
                &ndarray::Array4::from_shape_vec((1, 1, 2, 2), kv)
                    .map_err(|e| Error::invalid("trace", e.to_string()))?,
                None,
                [1, 1],
                [0, 0],
            );
            verdict(&mut out, yv[(i - 2) * 3 + (j - 2)], r[[0, 0, i - 2, j - 2]]);
        }
        "max_pool2d" => {
            let x = small(&[1, 1, 4, 4], &mut rng)?;
            let p = crate::ops::pool2d::Pool2dParams::new([2, 2]);
            let y = x.max_pool2d(&p)?;
            let xv = x.to_f64_vec();
            let _ = writeln!(out, "max_pool2d (2x2, stride 2): p_ij = max over the window of y\n");
            out += &show("x", &x);
            let win: Vec<f64> = vec![xv[2], xv[3], xv[6], xv[7]];
            let m = win.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(
                out,
                "p_01 = max({}) = {m:.2}\n",
                win.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(", ")
            );
            let r = reference::conv::max_pool(
                &ndarray::Array4::from_shape_vec((1, 1, 4, 4), xv)
                    .map_err(|e| Error::invalid("trace", e.to_string()))?,
                [2, 2],
                [2, 2],
                [0, 0],
            );
            verdict(&mut out, y.to_f64_vec()[1], r[[0, 0, 0, 1]]);
        }
        "rnn" => {
            // h_t = tanh(W h_(t-1) + U x_t + b), the document's RNN, H = 2, I = 2.
            let x = small(&[1, 2, 2], &mut rng)?;
            let (u, w, b) = (small(&[2, 2], &mut rng)?, small(&[2, 2], &mut rng)?, small(&[2], &mut rng)?);
            let layer = crate::ops::rnn::RnnWeights {
                weight_ih: u.clone(),
                weight_hh: w.clone(),
                bias_ih: Some(b.clone()),
                bias_hh: None,
            };
            let (outp, _) = Tensor::rnn_tanh(&x, None, &[layer])?;
            let (xv, uv, wv, bv) = (x.to_f64_vec(), u.to_f64_vec(), w.to_f64_vec(), b.to_f64_vec());
            let _ =
                writeln!(out, "rnn_tanh (the document's RNN): h_t = tanh(W h_(t-1) + U x_t + b), h_0 = 0\n");
            out += &show("x", &x);
            out += &show("U", &u);
            out += &show("W", &w);
            out += &show("b", &b);
            let h1: Vec<f64> =
                (0..2).map(|j| (bv[j] + uv[j * 2] * xv[0] + uv[j * 2 + 1] * xv[1]).tanh()).collect();
            let _ = writeln!(out, "h_1 = tanh(U x_1 + b) = [{:.6}, {:.6}]", h1[0], h1[1]);
            let j = 0;
            let pre =
                wv[j * 2] * h1[0] + wv[j * 2 + 1] * h1[1] + uv[j * 2] * xv[2] + uv[j * 2 + 1] * xv[3] + bv[j];
            let _ = writeln!(
                out,
                "h_2[0] = tanh(W_00 h_1[0] + W_01 h_1[1] + U_00 x_2[0] + U_01 x_2[1] + b_0)\n       = tanh(({:.2})({:.6}) + ({:.2})({:.6}) + ({:.2})({:.2}) + ({:.2})({:.2}) + {:.2})\n       = tanh({pre:.6}) = {:.10}\n",
                wv[0],
                h1[0],
                wv[1],
                h1[1],
                uv[0],
                xv[2],
                uv[1],
                xv[3],
                bv[0],
                pre.tanh()
            );
            let seq = vec![vec![xv[0], xv[1]], vec![xv[2], xv[3]]];
            let rows = |v: &[f64]| vec![vec![v[0], v[1]], vec![v[2], v[3]]];
            let r = reference::rnn::rnn_tanh(&seq, &[0.0, 0.0], &rows(&wv), &rows(&uv), &bv);
            verdict(&mut out, outp.to_f64_vec()[2], r[1][0]);
        }
        other => {
            return Err(Error::invalid("trace", format!("unknown op {other:?}; known: {}", OPS.join(", "))));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_trace_agrees_with_its_reference() {
        for op in super::OPS {
            let t = super::trace(op, 1).unwrap();
            let diff: f64 = t.lines().last().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
            assert!(diff < 1e-12, "{op}: {t}");
        }
        assert!(super::trace("nope", 1).is_err());
    }
}
