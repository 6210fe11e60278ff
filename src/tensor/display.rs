//! `Display` and `Debug` for tensors, in the style of PyTorch's `print(tensor)`: nested brackets,
//! four decimals for floats, `...` in the middle of large dimensions.

use std::fmt;

use super::handle::Tensor;
use crate::dtype::DType;

const EDGE: usize = 3;
const SUMMARIZE_OVER: usize = 1000;

fn fmt_value(v: f64, dtype: DType) -> String {
    match dtype {
        DType::F32 | DType::F64 => {
            if v.is_nan() {
                "nan".into()
            } else if v.is_infinite() {
                if v > 0.0 { "inf".into() } else { "-inf".into() }
            } else if v != 0.0 && (v.abs() >= 1e8 || v.abs() < 1e-4) {
                format!("{v:.4e}")
            } else {
                format!("{v:.4}")
            }
        }
        DType::I64 => format!("{}", v as i64),
        DType::Bool => (if v != 0.0 { "true" } else { "false" }).into(),
    }
}

fn write_dim(
    out: &mut String,
    values: &[String],
    shape: &[usize],
    offset: usize,
    depth: usize,
    summarize: bool,
    width: usize,
) {
    if shape.is_empty() {
        out.push_str(&format!("{:>width$}", values[offset]));
        return;
    }
    let inner: usize = shape[1..].iter().product();
    out.push('[');
    let n = shape[0];
    let idx: Vec<Option<usize>> = if summarize && n > 2 * EDGE {
        (0..EDGE).map(Some).chain([None]).chain((n - EDGE..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    };
    for (k, i) in idx.iter().enumerate() {
        if k > 0 {
            out.push(',');
            if shape.len() > 1 {
                out.push_str(&"\n".repeat(shape.len() - 1));
                out.push_str(&" ".repeat(depth + 8));
            } else {
                out.push(' ');
            }
        }
        match i {
            Some(i) => write_dim(out, values, &shape[1..], offset + i * inner, depth + 1, summarize, width),
            None => out.push_str("..."),
        }
    }
    out.push(']');
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = self.shape();
        let dtype = self.dtype();
        let raw = self.to_f64_vec();
        let values: Vec<String> = raw.iter().map(|&v| fmt_value(v, dtype)).collect();
        let width = values.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut body = String::new();
        write_dim(&mut body, &values, &shape, 0, 0, raw.len() > SUMMARIZE_OVER, width);
        write!(f, "tensor({body}")?;
        if self.device() != crate::device::Device::Cpu {
            write!(f, ", device='{}'", self.device())?;
        }
        if dtype != DType::F32 {
            write!(f, ", dtype={dtype}")?;
        }
        if let Some(name) = self.grad_fn_name() {
            write!(f, ", grad_fn=<{name}>")?;
        } else if self.requires_grad() {
            write!(f, ", requires_grad=true")?;
        }
        write!(f, ")")
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tensor {{ shape: {:?}, dtype: {}, requires_grad: {} }}",
            self.shape(),
            self.dtype(),
            self.requires_grad()
        )
    }
}
