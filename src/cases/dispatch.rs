//! The dispatch table: op name → (attributes with their defaults, a function from the inputs and
//! attributes to the output tensors, in the table's output order).
//!
//! Adding an op is one entry in [`OPS`]:
//!
//! ```text
//! op("softmax", &[("dim", "-1")], |x, a| one(x.get("x")?.softmax(a.dim("dim")?))),
//! ```
//!
//! Inputs are read by name without the `input.` prefix ([`Inputs::get`], [`Inputs::opt`] for an
//! optional one); attributes through the typed accessors of [`Attrs`]. A case that holds an input
//! the entry never reads fails, so a misspelt name cannot be silently ignored.

use crate::models::cnn::SeedCnn;
use crate::models::{SeedLstm, SeedRnn};
use crate::nn::Module;
use crate::ops::activation::GeluApprox;
use crate::ops::batch_norm::BatchNormParams;
use crate::ops::conv2d::{Conv2dParams, ConvMode};
use crate::ops::loss::{NllOptions, Reduction};
use crate::ops::pool2d::Pool2dParams;
use crate::ops::rnn::RnnWeights;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::attrs::Attrs;
use super::failure::Failure;
use crate::error::Result as GgResult;
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// The function of one table entry.
pub type OpFn = fn(&Inputs, &Attrs) -> Result<Vec<Tensor>, Failure>;

/// One row of the dispatch table.
pub struct OpSpec {
    /// The op's name in the case's `op` metadata.
    pub name: &'static str,
    /// Every attribute the op accepts, with its default as JSON text (`"null"`: none, or required).
    pub attrs: &'static [(&'static str, &'static str)],
    /// Inputs and attributes → outputs.
    pub run: OpFn,
}

/// Builds a table row.
pub const fn op(name: &'static str, attrs: &'static [(&'static str, &'static str)], run: OpFn) -> OpSpec {
    OpSpec { name, attrs, run }
}

/// Wraps a single-output op's result.
pub fn one(t: GgResult<Tensor>) -> Result<Vec<Tensor>, Failure> {
    Ok(vec![t?])
}

/// The inputs of one case, by name (without the `input.` prefix), remembering which were read.
pub struct Inputs {
    tensors: BTreeMap<String, Tensor>,
    read: RefCell<BTreeSet<String>>,
}

impl Inputs {
    pub fn new(tensors: BTreeMap<String, Tensor>) -> Inputs {
        Inputs { tensors, read: RefCell::new(BTreeSet::new()) }
    }

    /// A required input; its absence is a [`Failure::MissingTensor`] naming `input.<name>`.
    pub fn get(&self, name: &str) -> Result<&Tensor, Failure> {
        self.opt(name).ok_or_else(|| Failure::MissingTensor(format!("input.{name}")))
    }

    /// An optional input (`linear`'s bias, an RNN's `h0`).
    pub fn opt(&self, name: &str) -> Option<&Tensor> {
        self.read.borrow_mut().insert(name.to_string());
        self.tensors.get(name)
    }

    /// The inputs present in the case that the op never read.
    pub fn unread(&self) -> Vec<String> {
        let read = self.read.borrow();
        self.tensors.keys().filter(|k| !read.contains(*k)).cloned().collect()
    }
}

/// Reads a `dim` list attribute (absent: every dimension) and `keepdim`.
fn reduction_dims(a: &Attrs) -> Result<(Option<Vec<isize>>, bool), Failure> {
    Ok((a.dims_opt("dim")?, a.bool("keepdim")?))
}

/// Reads the `reduction` attribute of a loss.
fn reduction(a: &Attrs) -> Result<Reduction, Failure> {
    Ok(match a.choice("reduction", &["mean", "sum", "none"])?.as_str() {
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        _ => Reduction::Mean,
    })
}

const NO_ATTRS: &[(&str, &str)] = &[];
const REDUCE_ATTRS: &[(&str, &str)] = &[("dim", "null"), ("keepdim", "false")];
const VAR_ATTRS: &[(&str, &str)] = &[("dim", "null"), ("correction", "1"), ("keepdim", "false")];
const ARG_ATTRS: &[(&str, &str)] = &[("dim", "null"), ("keepdim", "false")];
const DIM0: &[(&str, &str)] = &[("dim", "0")];
const DIM_REQUIRED: &[(&str, &str)] = &[("dim", "null")];

/// A non-negative integer attribute (`correction`, `k`, `chunks`, ...).
fn count(a: &Attrs, name: &str) -> Result<usize, Failure> {
    let v = a.int(name)?;
    usize::try_from(v).map_err(|_| Failure::BadAttribute {
        name: name.to_string(),
        msg: format!("expected a non-negative integer, got {v}"),
    })
}

/// `var`/`std`: `dim` (absent: all), `correction`, `keepdim`.
fn var_args(a: &Attrs) -> Result<(Option<Vec<isize>>, usize, bool), Failure> {
    Ok((a.dims_opt("dim")?, count(a, "correction")?, a.bool("keepdim")?))
}

/// `max`/`min`: with `dim`, the values along it (first index among ties); without, the
/// extreme of every element (`keepdim` must then be false, as `torch.max(x)` has none).
fn extreme(x: &Inputs, a: &Attrs, is_max: bool) -> Result<Vec<Tensor>, Failure> {
    let t = x.get("x")?;
    let keepdim = a.bool("keepdim")?;
    match a.int_opt("dim")? {
        Some(d) => {
            let (values, _) =
                if is_max { t.max_dim(d as isize, keepdim)? } else { t.min_dim(d as isize, keepdim)? };
            Ok(vec![values])
        }
        None if keepdim => Err(Failure::BadAttribute {
            name: "keepdim".into(),
            msg: "keepdim needs a dim (torch.max(x) over every element has none)".into(),
        }),
        None => one(if is_max { t.max() } else { t.min() }),
    }
}

/// The inputs `tensors.0`, `tensors.1`, ... of `cat` and `stack`, up to the first absent one.
fn tensor_list(x: &Inputs) -> Result<Vec<Tensor>, Failure> {
    let mut list = Vec::new();
    while let Some(t) = x.opt(&format!("tensors.{}", list.len())) {
        list.push(t.clone());
    }
    if list.is_empty() {
        return Err(Failure::MissingTensor("input.tensors.0".into()));
    }
    Ok(list)
}

/// `F.one_hot`'s class count: `num_classes`, or with `-1` the largest index plus one.
fn num_classes(index: &Tensor, a: &Attrs) -> Result<usize, Failure> {
    let n = a.int("num_classes")?;
    if n >= 0 {
        return Ok(n as usize);
    }
    if n != -1 {
        return Err(Failure::BadAttribute {
            name: "num_classes".into(),
            msg: format!("{n}: use -1 or a count"),
        });
    }
    let largest = index.to_f64_vec().into_iter().fold(f64::NEG_INFINITY, f64::max);
    if !largest.is_finite() || largest < 0.0 {
        return Err(Failure::BadAttribute {
            name: "num_classes".into(),
            msg: "-1 needs a non-empty index tensor with non-negative values".into(),
        });
    }
    Ok(largest as usize + 1)
}

/// `F.dropout`: only the deterministic settings can be compared with PyTorch (eval mode, or
/// `p` of 0 or 1); in training with $0 < p < 1$ the masks come from each engine's own generator.
fn dropout(x: &Inputs, a: &Attrs) -> Result<Vec<Tensor>, Failure> {
    let (p, training) = (a.number("p")?, a.bool("training")?);
    if training && p > 0.0 && p < 1.0 {
        return Err(Failure::BadAttribute {
            name: "training".into(),
            msg: format!(
                "dropout with p = {p} in training draws a random mask, which PyTorch and glassgrad \
                 draw differently; a case can record training = false, p = 0 or p = 1"
            ),
        });
    }
    one(x.get("input")?.dropout(p, training, &mut Generator::new(0)))
}

/// Every op the runner knows. Keep in the order of the op table in the module docs.
pub static OPS: &[OpSpec] = &[
    // Elementwise with broadcasting: a, b.
    op("add", NO_ATTRS, |x, _| one(x.get("a")?.add(x.get("b")?))),
    op("sub", NO_ATTRS, |x, _| one(x.get("a")?.sub(x.get("b")?))),
    op("mul", NO_ATTRS, |x, _| one(x.get("a")?.mul(x.get("b")?))),
    op("div", NO_ATTRS, |x, _| one(x.get("a")?.div(x.get("b")?))),
    // Elementwise, one input x.
    op("neg", NO_ATTRS, |x, _| one(x.get("x")?.neg())),
    op("exp", NO_ATTRS, |x, _| one(x.get("x")?.exp())),
    op("log", NO_ATTRS, |x, _| one(x.get("x")?.log())),
    op("tanh", NO_ATTRS, |x, _| one(x.get("x")?.tanh())),
    op("sigmoid", NO_ATTRS, |x, _| one(x.get("x")?.sigmoid())),
    op("relu", NO_ATTRS, |x, _| one(x.get("x")?.relu())),
    op("sqrt", NO_ATTRS, |x, _| one(x.get("x")?.sqrt())),
    op("pow", &[("exponent", "null")], |x, a| one(x.get("x")?.pow(a.number("exponent")?))),
    // Reductions.
    op("sum", REDUCE_ATTRS, |x, a| {
        let (dims, keepdim) = reduction_dims(a)?;
        one(x.get("x")?.sum_dims(dims.as_deref(), keepdim))
    }),
    op("mean", REDUCE_ATTRS, |x, a| {
        let (dims, keepdim) = reduction_dims(a)?;
        one(x.get("x")?.mean_dims(dims.as_deref(), keepdim))
    }),
    // Linear algebra and shapes.
    op("matmul", NO_ATTRS, |x, _| one(x.get("a")?.matmul(x.get("b")?))),
    op("transpose", &[("dim0", "null"), ("dim1", "null")], |x, a| {
        one(x.get("x")?.transpose(a.dim("dim0")?, a.dim("dim1")?))
    }),
    op("reshape", &[("shape", "null")], |x, a| {
        let shape: Vec<isize> = a.int_list("shape")?.into_iter().map(|s| s as isize).collect();
        one(x.get("x")?.reshape(&shape))
    }),
    // Statistics and sorting.
    op("max", &[("dim", "null"), ("keepdim", "false")], |x, a| extreme(x, a, true)),
    op("min", &[("dim", "null"), ("keepdim", "false")], |x, a| extreme(x, a, false)),
    op("var", VAR_ATTRS, |x, a| {
        let (dims, c, keepdim) = var_args(a)?;
        one(x.get("input")?.var_dims(dims.as_deref(), c, keepdim))
    }),
    op("std", VAR_ATTRS, |x, a| {
        let (dims, c, keepdim) = var_args(a)?;
        one(x.get("input")?.std_dims(dims.as_deref(), c, keepdim))
    }),
    op("argmax", ARG_ATTRS, |x, a| {
        one(x.get("input")?.argmax(a.int_opt("dim")?.map(|d| d as isize), a.bool("keepdim")?))
    }),
    op("argmin", ARG_ATTRS, |x, a| {
        one(x.get("input")?.argmin(a.int_opt("dim")?.map(|d| d as isize), a.bool("keepdim")?))
    }),
    op("sort", &[("dim", "-1"), ("descending", "false"), ("stable", "false")], |x, a| {
        // glassgrad always sorts stably, which is one of the orders `stable = false` allows.
        a.bool("stable")?;
        let (values, indices) = x.get("input")?.sort(a.dim("dim")?, a.bool("descending")?)?;
        Ok(vec![values, indices])
    }),
    op("topk", &[("k", "null"), ("dim", "-1"), ("largest", "true"), ("sorted", "true")], |x, a| {
        let t = x.get("input")?;
        let (values, indices) =
            t.topk(count(a, "k")?, a.dim("dim")?, a.bool("largest")?, a.bool("sorted")?)?;
        Ok(vec![values, indices])
    }),
    op("logsumexp", &[("dim", "null"), ("keepdim", "false")], |x, a| {
        one(x.get("input")?.logsumexp(a.dim("dim")?, a.bool("keepdim")?))
    }),
    // Comparisons and selection: input, other (broadcast).
    op("eq", NO_ATTRS, |x, _| one(x.get("input")?.eq(x.get("other")?))),
    op("ne", NO_ATTRS, |x, _| one(x.get("input")?.ne(x.get("other")?))),
    op("lt", NO_ATTRS, |x, _| one(x.get("input")?.lt(x.get("other")?))),
    op("le", NO_ATTRS, |x, _| one(x.get("input")?.le(x.get("other")?))),
    op("gt", NO_ATTRS, |x, _| one(x.get("input")?.gt(x.get("other")?))),
    op("ge", NO_ATTRS, |x, _| one(x.get("input")?.ge(x.get("other")?))),
    op("where", NO_ATTRS, |x, _| {
        one(Tensor::where_cond(x.get("condition")?, x.get("input")?, x.get("other")?))
    }),
    op("masked_fill", &[("value", "null")], |x, a| {
        one(x.get("input")?.masked_fill(x.get("mask")?, a.number("value")?))
    }),
    op("maximum", NO_ATTRS, |x, _| one(x.get("input")?.maximum(x.get("other")?))),
    op("minimum", NO_ATTRS, |x, _| one(x.get("input")?.minimum(x.get("other")?))),
    op("clamp", &[("min", "null"), ("max", "null")], |x, a| {
        one(x.get("input")?.clamp(a.number_opt("min")?, a.number_opt("max")?))
    }),
    // Joining and cutting.
    op("cat", DIM0, |x, a| one(Tensor::cat(&tensor_list(x)?, a.dim("dim")?))),
    op("stack", DIM0, |x, a| one(Tensor::stack(&tensor_list(x)?, a.dim("dim")?))),
    op("chunk", &[("chunks", "null"), ("dim", "0")], |x, a| {
        Ok(x.get("input")?.chunk(count(a, "chunks")?, a.dim("dim")?)?)
    }),
    op("split", &[("split_size_or_sections", "null"), ("dim", "0")], |x, a| {
        Ok(x.get("tensor")?.split(count(a, "split_size_or_sections")?, a.dim("dim")?)?)
    }),
    // Indexing (index: i64).
    op("gather", DIM_REQUIRED, |x, a| one(x.get("input")?.gather(a.dim("dim")?, x.get("index")?))),
    op("scatter_add", DIM_REQUIRED, |x, a| {
        one(x.get("input")?.scatter_add(a.dim("dim")?, x.get("index")?, x.get("src")?))
    }),
    op("index_select", DIM_REQUIRED, |x, a| {
        one(x.get("input")?.index_select(a.dim("dim")?, x.get("index")?))
    }),
    op("one_hot", &[("num_classes", "-1")], |x, a| {
        let t = x.get("tensor")?;
        one(Tensor::one_hot(t, num_classes(t, a)?, DType::I64))
    }),
    // Activations.
    op("gelu", &[("approximate", "\"none\"")], |x, a| {
        let approx = match a.choice("approximate", &["none", "tanh"])?.as_str() {
            "tanh" => GeluApprox::Tanh,
            _ => GeluApprox::None,
        };
        one(x.get("input")?.gelu(approx))
    }),
    op("leaky_relu", &[("negative_slope", "0.01")], |x, a| {
        one(x.get("input")?.leaky_relu(a.number("negative_slope")?))
    }),
    op("elu", &[("alpha", "1.0")], |x, a| one(x.get("input")?.elu(a.number("alpha")?))),
    op("softplus", &[("beta", "1.0"), ("threshold", "20.0")], |x, a| {
        one(x.get("input")?.softplus(a.number("beta")?, a.number("threshold")?))
    }),
    op("silu", NO_ATTRS, |x, _| one(x.get("input")?.silu())),
    op("dropout", &[("p", "0.5"), ("training", "true")], dropout),
    // Softmax and losses.
    op("softmax", &[("dim", "-1")], |x, a| one(x.get("x")?.softmax(a.dim("dim")?))),
    op("log_softmax", &[("dim", "-1")], |x, a| one(x.get("x")?.log_softmax(a.dim("dim")?))),
    op("cross_entropy", &[("reduction", "\"mean\"")], |x, a| {
        one(x.get("logits")?.cross_entropy(x.get("target")?, reduction(a)?))
    }),
    op("mse_loss", &[("reduction", "\"mean\"")], |x, a| {
        one(x.get("input")?.mse_loss(x.get("target")?, reduction(a)?))
    }),
    op("nll_loss", &[("ignore_index", "-100"), ("reduction", "\"mean\"")], |x, a| {
        let opts = NllOptions {
            reduction: reduction(a)?,
            weight: x.opt("weight").cloned(),
            ignore_index: a.int_opt("ignore_index")?,
        };
        one(x.get("input")?.nll_loss_with(x.get("target")?, &opts))
    }),
    op("binary_cross_entropy_with_logits", &[("reduction", "\"mean\"")], |x, a| {
        let (w, pw) = (x.opt("weight"), x.opt("pos_weight"));
        one(x.get("input")?.binary_cross_entropy_with_logits(x.get("target")?, w, pw, reduction(a)?))
    }),
    op("linear", NO_ATTRS, |x, _| one(x.get("x")?.linear(x.get("weight")?, x.opt("bias")))),
    // Convolution and pooling.
    op(
        "conv2d",
        &[
            ("stride", "[1, 1]"),
            ("padding", "[0, 0]"),
            ("dilation", "[1, 1]"),
            ("groups", "1"),
            ("mode", "\"cross_correlation\""),
        ],
        |x, a| {
            let p = Conv2dParams {
                stride: a.pair("stride")?,
                padding: a.pair("padding")?,
                dilation: a.pair("dilation")?,
                groups: a.int("groups")?.max(0) as usize,
                mode: match a.choice("mode", &["cross_correlation", "convolution"])?.as_str() {
                    "convolution" => ConvMode::Convolution,
                    _ => ConvMode::CrossCorrelation,
                },
            };
            one(x.get("x")?.conv2d(x.get("weight")?, x.opt("bias"), &p))
        },
    ),
    op("max_pool2d", &[("kernel_size", "null"), ("stride", "null"), ("padding", "[0, 0]")], |x, a| {
        one(x.get("x")?.max_pool2d(&pool_params(a)?))
    }),
    op(
        "avg_pool2d",
        &[("kernel_size", "null"), ("stride", "null"), ("padding", "[0, 0]"), ("count_include_pad", "true")],
        |x, a| one(x.get("x")?.avg_pool2d(&pool_params(a)?, a.bool("count_include_pad")?)),
    ),
    op("batch_norm", &[("training", "false"), ("momentum", "0.1"), ("eps", "1e-05")], |x, a| {
        let (rm, rv) = (x.opt("running_mean"), x.opt("running_var"));
        let p = BatchNormParams {
            training: a.bool("training")?,
            momentum: a.number("momentum")?,
            eps: a.number("eps")?,
        };
        let y = x.get("input")?.batch_norm(rm, rv, x.opt("weight"), x.opt("bias"), &p)?;
        // Outputs 1 and 2: the running statistics after the call (updated in place in training).
        let mut out = vec![y];
        out.extend(rm.map(Tensor::detach));
        out.extend(rv.map(Tensor::detach));
        Ok(out)
    }),
    // Sequences.
    op("embedding", &[("padding_idx", "null")], |x, a| {
        one(Tensor::embedding(x.get("indices")?, x.get("weight")?, a.int_opt("padding_idx")?))
    }),
    op("rnn_tanh", &[("num_layers", "1")], |x, a| {
        let (out, h_n) = Tensor::rnn_tanh(x.get("x")?, x.opt("h0"), &layers(x, a)?)?;
        Ok(vec![out, h_n])
    }),
    op("lstm", &[("num_layers", "1")], |x, a| {
        let (out, h_n, c_n) = Tensor::lstm(x.get("x")?, x.opt("h0"), x.opt("c0"), &layers(x, a)?)?;
        Ok(vec![out, h_n, c_n])
    }),
    op("gru", &[("num_layers", "1")], |x, a| {
        let (out, h_n) = Tensor::gru(x.get("x")?, x.opt("h0"), &layers(x, a)?)?;
        Ok(vec![out, h_n])
    }),
    op("layer_norm", &[("normalized_shape", "null"), ("eps", "1e-5")], |x, a| {
        let shape: Vec<usize> =
            a.int_list("normalized_shape")?.into_iter().map(|s| s.max(0) as usize).collect();
        one(x.get("input")?.layer_norm(&shape, x.opt("weight"), x.opt("bias"), a.number("eps")?))
    }),
    // The document's listings as whole models (parameters named as in their state_dict).
    op("seed_rnn", NO_ATTRS, |x, _| {
        let rnn = seq_layers(x, "rnn.", 1)?.remove(0);
        let m = SeedRnn::from_tensors(
            x.get("embedding.weight")?.clone(),
            rnn,
            x.get("fc.weight")?.clone(),
            x.get("fc.bias")?.clone(),
        )?;
        one(m.forward(x.get("tokens")?))
    }),
    op("seed_lstm", NO_ATTRS, |x, _| {
        let m = SeedLstm::from_tensors(
            x.get("embedding.weight")?.clone(),
            seq_layers(x, "rnn.", 2)?,
            x.get("fc.weight")?.clone(),
            x.get("fc.bias")?.clone(),
        )?;
        one(m.forward(x.get("tokens")?))
    }),
    // Recommenders (§1.3.4).
    op("mf_predict", NO_ATTRS, |x, _| {
        one(Tensor::mf_predict(
            x.get("user")?,
            x.get("item")?,
            x.get("user_factors")?,
            x.get("item_factors")?,
            x.get("user_bias")?,
            x.get("item_bias")?,
            x.get("global_bias")?,
        ))
    }),
    op("seed_recommender", NO_ATTRS, |x, _| {
        let m = crate::models::recommender::SeedRecommender::from_tensors(
            x.get("user_embedding.weight")?.clone(),
            x.get("item_embedding.weight")?.clone(),
            x.get("fc.weight")?.clone(),
            x.opt("fc.bias").cloned(),
        )?;
        one(m.forward_pair(x.get("user")?, x.get("item")?))
    }),
    // The document's listings as whole models.
    op("seed_cnn", NO_ATTRS, |x, _| {
        let mut params = BTreeMap::new();
        for name in SeedCnn::PARAM_NAMES {
            params.insert(name, x.get(name)?.clone());
        }
        let model = SeedCnn::from_state(|name| {
            params
                .get(name)
                .cloned()
                .ok_or_else(|| crate::error::Error::invalid("seed_cnn", format!("no {name}")))
        })?;
        one(model.forward(x.get("x")?))
    }),
];

/// `kernel_size`, `stride` (absent: the kernel size) and `padding` of a pooling op.
fn pool_params(a: &Attrs) -> Result<Pool2dParams, Failure> {
    let kernel = a.pair("kernel_size")?;
    Ok(Pool2dParams {
        kernel_size: kernel,
        stride: a.pair_opt("stride")?.unwrap_or(kernel),
        padding: a.pair("padding")?,
    })
}

/// The per-layer weights `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`.
fn layers(x: &Inputs, a: &Attrs) -> Result<Vec<RnnWeights>, Failure> {
    (0..a.int("num_layers")?.max(0))
        .map(|k| {
            Ok(RnnWeights {
                weight_ih: x.get(&format!("weight_ih_l{k}"))?.clone(),
                weight_hh: x.get(&format!("weight_hh_l{k}"))?.clone(),
                bias_ih: x.opt(&format!("bias_ih_l{k}")).cloned(),
                bias_hh: x.opt(&format!("bias_hh_l{k}")).cloned(),
            })
        })
        .collect()
}

/// The weights `{prefix}weight_ih_l{k}`, ... of `num_layers` layers (a model's recurrent part).
fn seq_layers(x: &Inputs, prefix: &str, num_layers: usize) -> Result<Vec<RnnWeights>, Failure> {
    (0..num_layers)
        .map(|k| {
            Ok(RnnWeights::new(
                x.get(&format!("{prefix}weight_ih_l{k}"))?.clone(),
                x.get(&format!("{prefix}weight_hh_l{k}"))?.clone(),
                x.get(&format!("{prefix}bias_ih_l{k}"))?.clone(),
                x.get(&format!("{prefix}bias_hh_l{k}"))?.clone(),
            ))
        })
        .collect()
}

/// The table row of `name`, if the runner knows the op.
pub fn lookup(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|s| s.name == name)
}
