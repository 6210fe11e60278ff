"""Writes the PyTorch conformance cases of the ops that make_cases.py does not cover: statistics
(var, std, max/min over everything and with ties, argmax, argmin), sorting (sort, topk),
comparisons and selection (eq ne lt le gt ge, where, masked_fill, maximum, minimum), joining
(cat, stack, chunk, split), indexing (gather, scatter_add, index_select, one_hot), logsumexp,
clamp, more pow edge cases, the activations (gelu, leaky_relu, elu, softplus, silu), dropout,
nll_loss, and a few more layer_norm and mse_loss cases. Format: CASES.md.

Run from the repository root with the PyTorch environment, AFTER make_cases.py and
make_cases_seqnn.py (those clear the whole folders of max/, min/, pow/, mse_loss/ and write
layer_norm/; this script writes its extra cases of those ops into a `more/` subfolder):

    /tmp/torchvenv/bin/python tests/cases/make_cases_more.py

Naming: ops that are not in CASES.md's table take PyTorch's functional name and parameter names
(`where(condition, input, other)`, `torch.cat(tensors, dim)` -> input.tensors.0, input.tensors.1,
..., `torch.split(tensor, split_size_or_sections, dim)`, `F.one_hot(tensor, num_classes)`).
Outputs that are not float (bool masks, i64 indices) are compared exactly and get no
grad_output. Seeded: running it twice writes the same bytes. The folders it owns are removed
first, so a renamed case does not linger.

Ties, where PyTorch defines them and where it does not:
- max / min along a dim: PyTorch returns (and routes the gradient to) the first index among ties
  on the CPU; the full reductions x.max() / x.min() split the gradient evenly among ties.
- sort: the cases with ties use stable=True (equal values keep their input order, also when
  descending); without ties stable=False gives the same result.
- topk: PyTorch does not specify which of tied elements it picks (on this CPU build, top-2 of
  [5, 5, 0, 5] returns indices [1, 3]); glassgrad picks the earlier ones. The tie case therefore
  compares the values only (no indices, no gradient: the gradient follows the indices).
  sorted=False is not recorded: PyTorch leaves that order unspecified.
- maximum / minimum: where input == other PyTorch gives each operand half of the gradient.
- clamp with scalar bounds: PyTorch 2.15 gives zero gradient where x equals a bound (strictly
  inside only); the boundary cases record that.
"""

import json
import os
import shutil

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from make_cases import canonical_header

ROOT = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20240613)

F32, F64 = torch.float32, torch.float64
DTYPES = (F32, F64)
written = []

# Ops whose whole folder this script owns; for the others it owns only <op>/more/.
OWNED = ["var", "std", "min", "argmax", "argmin", "sort", "topk", "eq", "ne", "lt", "le", "gt", "ge",
         "where", "masked_fill", "maximum", "minimum", "cat", "stack", "chunk", "split", "gather",
         "scatter_add", "index_select", "one_hot", "logsumexp", "clamp", "gelu", "leaky_relu", "elu",
         "softplus", "silu", "dropout", "nll_loss"]
SHARED = ["max", "pow", "layer_norm", "mse_loss"]


def dname(dtype):
    return "f32" if dtype == F32 else "f64"


def randn(*shape, dtype=F32):
    return torch.randn(shape, dtype=F64).to(dtype)


def ints(*shape, low=-2, high=3, dtype=F32):
    """Small integers as floats: many exact ties."""
    return torch.randint(low, high, shape).to(dtype)


def case(op, name, fn, inputs, attrs=None, compare=None, no_grad_output=(), const=(), sub=None, atol=None,
         rtol=None):
    """Evaluates fn(inputs) (a dict of leaves -> a tensor or a tuple) and writes the case file.

    Every float input requires a gradient, except those in `const` (constants such as nll_loss's
    class weights: PyTorch has no gradient for them, so none is recorded). Each float output k that PyTorch can differentiate gets
    a seeded random grad_output.k (unless k is in `no_grad_output`: then its gradient counts as
    zero). The expected gradients are the vector-Jacobian product. `compare` lists the outputs to
    record (default all); with a restricted list no gradient is recorded either.
    """
    attrs = attrs or {}
    leaves = {}
    for k, v in inputs.items():
        v = v.detach().clone()
        if v.is_floating_point() and k not in const:
            v.requires_grad_(True)
        leaves[k] = v
    outs = fn(leaves)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    outs = tuple(outs)
    keep = range(len(outs)) if compare is None else compare
    tensors = {f"input.{k}": v.detach() for k, v in leaves.items()}
    diff_outs, diff_grads = [], []
    for i, y in enumerate(outs):
        if i in keep:
            tensors[f"expected.output.{i}"] = y.detach()
        if compare is None and y.is_floating_point() and y.requires_grad and i not in no_grad_output:
            g = torch.randn(y.shape, dtype=F64).to(y.dtype)
            tensors[f"grad_output.{i}"] = g
            diff_outs.append(y)
            diff_grads.append(g)
    floats = [k for k, v in leaves.items() if v.is_floating_point() and k not in const]
    if compare is None and floats and diff_outs:
        grads = torch.autograd.grad(diff_outs, [leaves[k] for k in floats], diff_grads, allow_unused=True)
        for k, g in zip(floats, grads):
            tensors[f"expected.grad.{k}"] = torch.zeros_like(leaves[k]) if g is None else g
    meta = {"op": op}
    meta.update({k: json.dumps(v) for k, v in attrs.items()})
    if atol is not None:
        meta["atol"] = repr(atol)
    if rtol is not None:
        meta["rtol"] = repr(rtol)
    tensors = {k: v.detach().clone().contiguous() for k, v in tensors.items()}
    folder = os.path.join(ROOT, op, sub) if sub else os.path.join(ROOT, op)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    canonical_header(path)
    written.append(path)


# ---------------------------------------------------------------- statistics

def var_std():
    for op, f in (("var", torch.var), ("std", torch.std)):
        for dt in DTYPES:
            d = dname(dt)
            case(op, f"all_{d}", lambda t: f(t["input"]), {"input": randn(3, 4, dtype=dt)})
            case(op, f"dim1_{d}", lambda t: f(t["input"], dim=[1]), {"input": randn(3, 5, dtype=dt)}, {"dim": [1]})
            case(op, f"biased_dim0_{d}", lambda t: f(t["input"], dim=[0], correction=0),
                 {"input": randn(4, 3, dtype=dt)}, {"dim": [0], "correction": 0})
        case(op, "dims_neg_keepdim_f64", lambda t: f(t["input"], dim=[-1, 0], keepdim=True),
             {"input": randn(2, 3, 4, dtype=F64)}, {"dim": [-1, 0], "keepdim": True})
        case(op, "correction2_f64", lambda t: f(t["input"], dim=[-1], correction=2),
             {"input": randn(3, 6, dtype=F64)}, {"dim": [-1], "correction": 2})
        case(op, "int_dim_biased_keepdim_f32", lambda t: f(t["input"], dim=2, correction=0, keepdim=True),
             {"input": randn(2, 2, 5, dtype=F32)}, {"dim": 2, "correction": 0, "keepdim": True})


def max_min():
    # max: more cases beside make_cases.py's (ties along a dim, and the full reduction).
    for op, dim_f, all_f in (("max", lambda x, *a: x.max(*a).values, torch.max),
                             ("min", lambda x, *a: x.min(*a).values, torch.min)):
        sub = "more" if op == "max" else None
        if op == "min":
            for dt in DTYPES:
                d = dname(dt)
                case(op, f"dim1_{d}", lambda t: dim_f(t["x"], 1), {"x": randn(3, 5, dtype=dt)}, {"dim": 1}, sub=sub)
                case(op, f"dim_neg1_keepdim_{d}", lambda t: dim_f(t["x"], -1, True),
                     {"x": randn(2, 3, 4, dtype=dt)}, {"dim": -1, "keepdim": True}, sub=sub)
        for dt in DTYPES:
            d = dname(dt)
            # Ties along the dim: the first index gets the value's gradient.
            case(op, f"ties_dim1_{d}", lambda t: dim_f(t["x"], 1), {"x": ints(4, 6, dtype=dt)}, {"dim": 1}, sub=sub)
            # No dim: every element; the gradient is split evenly among ties.
            case(op, f"all_{d}", lambda t: all_f(t["x"]), {"x": randn(3, 4, dtype=dt)}, sub=sub)
            case(op, f"all_ties_{d}", lambda t: all_f(t["x"]), {"x": ints(3, 5, low=0, high=2, dtype=dt)}, sub=sub)
        case(op, "ties_dim0_rank3_f64", lambda t: dim_f(t["x"], 0), {"x": ints(3, 2, 4, dtype=F64)}, {"dim": 0},
             sub=sub)


def arg_best():
    for op, f in (("argmax", torch.argmax), ("argmin", torch.argmin)):
        for dt in DTYPES:
            d = dname(dt)
            # Ties: the first index, as PyTorch's CPU kernel.
            case(op, f"ties_dim1_{d}", lambda t: f(t["input"], dim=1), {"input": ints(4, 6, dtype=dt)}, {"dim": 1})
            case(op, f"flat_{d}", lambda t: f(t["input"]), {"input": randn(3, 4, dtype=dt)})
        case(op, "neg_dim_keepdim_f64", lambda t: f(t["input"], dim=-2, keepdim=True),
             {"input": randn(2, 5, 3, dtype=F64)}, {"dim": -2, "keepdim": True})
        case(op, "flat_ties_f32", lambda t: f(t["input"]), {"input": ints(3, 4, low=0, high=2, dtype=F32)})


# ---------------------------------------------------------------- sorting

def sorting():
    for dt in DTYPES:
        d = dname(dt)
        case("sort", f"last_dim_{d}", lambda t: torch.sort(t["input"]), {"input": randn(3, 5, dtype=dt)})
        case("sort", f"dim0_descending_{d}", lambda t: torch.sort(t["input"], dim=0, descending=True),
             {"input": randn(4, 3, dtype=dt)}, {"dim": 0, "descending": True})
        # Ties: stable, both directions.
        case("sort", f"ties_stable_{d}", lambda t: torch.sort(t["input"], stable=True),
             {"input": ints(3, 7, dtype=dt)}, {"stable": True})
        case("sort", f"ties_stable_descending_{d}", lambda t: torch.sort(t["input"], descending=True, stable=True),
             {"input": ints(3, 7, dtype=dt)}, {"descending": True, "stable": True})
    case("sort", "neg_dim_rank3_f64", lambda t: torch.sort(t["input"], dim=-2),
         {"input": randn(2, 5, 3, dtype=F64)}, {"dim": -2})

    for dt in DTYPES:
        d = dname(dt)
        case("topk", f"largest_{d}", lambda t: torch.topk(t["input"], 3), {"input": randn(3, 6, dtype=dt)}, {"k": 3})
        case("topk", f"smallest_dim0_{d}", lambda t: torch.topk(t["input"], 2, dim=0, largest=False),
             {"input": randn(5, 3, dtype=dt)}, {"k": 2, "dim": 0, "largest": False})
    case("topk", "k_all_rank3_f64", lambda t: torch.topk(t["input"], 4, dim=1),
         {"input": randn(2, 4, 3, dtype=F64)}, {"k": 4, "dim": 1})
    case("topk", "neg_dim_f64", lambda t: torch.topk(t["input"], 1, dim=-2), {"input": randn(2, 5, 3, dtype=F64)},
         {"k": 1, "dim": -2})
    # Ties: PyTorch leaves the choice among equal values unspecified; values only.
    case("topk", "ties_values_only_f32", lambda t: torch.topk(t["input"], 3), {"input": ints(4, 6, dtype=F32)},
         {"k": 3}, compare=[0])


# ---------------------------------------------------------------- comparisons and selection

def comparisons():
    fns = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge}
    for op, f in fns.items():
        fn = lambda t, f=f: f(t["input"], t["other"])  # noqa: E731
        case(op, "ties_f32", fn, {"input": ints(3, 4, dtype=F32), "other": ints(3, 4, dtype=F32)})
        case(op, "broadcast_f64", fn, {"input": ints(2, 1, 4, dtype=F64), "other": ints(3, 1, dtype=F64)})
        case(op, "i64", fn, {"input": torch.randint(-2, 3, (3, 4)), "other": torch.randint(-2, 3, (4,))})


def selection():
    for dt in DTYPES:
        d = dname(dt)
        w = lambda t: torch.where(t["condition"], t["input"], t["other"])  # noqa: E731
        case("where", f"same_shape_{d}", w, {"condition": torch.rand(3, 4) < 0.5, "input": randn(3, 4, dtype=dt),
                                             "other": randn(3, 4, dtype=dt)})
        case("where", f"broadcast_{d}", w, {"condition": torch.rand(3, 1) < 0.5, "input": randn(3, 4, dtype=dt),
                                            "other": randn(4, dtype=dt)})
        case("where", f"broadcast_all_{d}", w, {"condition": torch.rand(1, 4) < 0.5, "input": randn(3, 1, dtype=dt),
                                                "other": randn(dtype=dt)})
        case("masked_fill", f"same_shape_{d}", lambda t: t["input"].masked_fill(t["mask"], 2.5),
             {"input": randn(3, 4, dtype=dt), "mask": torch.rand(3, 4) < 0.5}, {"value": 2.5})
        case("masked_fill", f"broadcast_mask_{d}", lambda t: t["input"].masked_fill(t["mask"], -1e9),
             {"input": randn(2, 3, 4, dtype=dt), "mask": torch.rand(1, 4) < 0.5}, {"value": -1e9})
    for op, f in (("maximum", torch.maximum), ("minimum", torch.minimum)):
        fn = lambda t, f=f: f(t["input"], t["other"])  # noqa: E731
        for dt in DTYPES:
            d = dname(dt)
            case(op, f"same_shape_{d}", fn, {"input": randn(3, 4, dtype=dt), "other": randn(3, 4, dtype=dt)})
            case(op, f"broadcast_{d}", fn, {"input": randn(2, 1, 4, dtype=dt), "other": randn(3, 1, dtype=dt)})
            # Ties: each operand receives half of the gradient (PyTorch's rule).
            case(op, f"ties_{d}", fn, {"input": ints(3, 5, dtype=dt), "other": ints(3, 5, dtype=dt)})
        case(op, "ties_broadcast_f64", fn, {"input": ints(4, 3, dtype=F64), "other": ints(3, dtype=F64)})


# ---------------------------------------------------------------- joining and cutting

def joining():
    def tensors(shapes, dt):
        return {f"tensors.{i}": randn(*s, dtype=dt) for i, s in enumerate(shapes)}

    def listed(t):
        return [t[f"tensors.{i}"] for i in range(len(t))]

    for dt in DTYPES:
        d = dname(dt)
        case("cat", f"dim0_{d}", lambda t: torch.cat(listed(t), 0), tensors([(2, 3), (1, 3), (3, 3)], dt), {"dim": 0})
        case("cat", f"neg_dim_{d}", lambda t: torch.cat(listed(t), -1), tensors([(2, 3, 1), (2, 3, 4)], dt),
             {"dim": -1})
        case("stack", f"dim0_{d}", lambda t: torch.stack(listed(t), 0), tensors([(2, 3)] * 3, dt), {"dim": 0})
        case("stack", f"neg_dim_{d}", lambda t: torch.stack(listed(t), -1), tensors([(2, 3)] * 2, dt), {"dim": -1})
    case("cat", "default_dim_single_f64", lambda t: torch.cat(listed(t)), tensors([(2, 2)], F64))
    case("cat", "middle_dim_f64", lambda t: torch.cat(listed(t), 1), tensors([(2, 1, 3), (2, 2, 3), (2, 1, 3)], F64),
         {"dim": 1})
    case("stack", "middle_dim_f64", lambda t: torch.stack(listed(t), 1), tensors([(2, 3)] * 4, F64), {"dim": 1})

    for dt in DTYPES:
        d = dname(dt)
        case("chunk", f"even_{d}", lambda t: torch.chunk(t["input"], 3), {"input": randn(6, 2, dtype=dt)},
             {"chunks": 3})
        # 5 rows in 3 chunks: sizes 2, 2, 1.
        case("chunk", f"uneven_{d}", lambda t: torch.chunk(t["input"], 3, dim=1), {"input": randn(2, 5, dtype=dt)},
             {"chunks": 3, "dim": 1})
    # 4 rows in 3 chunks: ceil(4/3) = 2, so only two chunks come back.
    case("chunk", "fewer_chunks_f64", lambda t: torch.chunk(t["input"], 3, dim=-1), {"input": randn(3, 4, dtype=F64)},
         {"chunks": 3, "dim": -1})
    # The middle output has no grad_output: its gradient counts as zero.
    case("chunk", "absent_grad_output_f64", lambda t: torch.chunk(t["input"], 3), {"input": randn(3, 2, dtype=F64)},
         {"chunks": 3}, no_grad_output=(1,))
    for dt in DTYPES:
        d = dname(dt)
        case("split", f"size2_{d}", lambda t: torch.split(t["tensor"], 2), {"tensor": randn(5, 3, dtype=dt)},
             {"split_size_or_sections": 2})
    case("split", "neg_dim_f64", lambda t: torch.split(t["tensor"], 3, dim=-1), {"tensor": randn(2, 7, dtype=F64)},
         {"split_size_or_sections": 3, "dim": -1})
    case("split", "size_larger_than_dim_f64", lambda t: torch.split(t["tensor"], 10, dim=0),
         {"tensor": randn(3, 2, dtype=F64)}, {"split_size_or_sections": 10})


# ---------------------------------------------------------------- indexing

def indexing():
    for dt in DTYPES:
        d = dname(dt)
        case("gather", f"dim0_{d}", lambda t: torch.gather(t["input"], 0, t["index"]),
             {"input": randn(3, 4, dtype=dt), "index": torch.randint(0, 3, (5, 4))}, {"dim": 0})
        # Repeated indices along dim 1 and an index smaller than the input: the gradient adds up.
        case("gather", f"dim1_repeats_{d}", lambda t: torch.gather(t["input"], 1, t["index"]),
             {"input": randn(3, 5, dtype=dt), "index": torch.tensor([[0, 0, 4], [2, 2, 2]])}, {"dim": 1})
        case("scatter_add", f"dim0_{d}", lambda t: torch.scatter_add(t["input"], 0, t["index"], t["src"]),
             {"input": randn(3, 4, dtype=dt), "index": torch.randint(0, 3, (5, 4)), "src": randn(5, 4, dtype=dt)},
             {"dim": 0})
        # An index smaller than the input, repeated targets (the additions pile up). (A src larger
        # than the index is fine forward, but PyTorch's backward rejects it, so it is not recorded.)
        case("scatter_add", f"dim1_repeats_{d}", lambda t: torch.scatter_add(t["input"], 1, t["index"], t["src"]),
             {"input": randn(3, 5, dtype=dt), "index": torch.tensor([[0, 0, 4], [1, 1, 1]]),
              "src": randn(2, 3, dtype=dt)}, {"dim": 1})
        case("index_select", f"dim0_repeats_{d}", lambda t: torch.index_select(t["input"], 0, t["index"]),
             {"input": randn(4, 3, dtype=dt), "index": torch.tensor([3, 0, 3, 1, 3])}, {"dim": 0})
        case("index_select", f"neg_dim_{d}", lambda t: torch.index_select(t["input"], -1, t["index"]),
             {"input": randn(2, 3, 5, dtype=dt), "index": torch.tensor([4, 1])}, {"dim": -1})
    case("gather", "neg_dim_rank3_f64", lambda t: torch.gather(t["input"], -2, t["index"]),
         {"input": randn(2, 4, 3, dtype=F64), "index": torch.randint(0, 4, (2, 6, 3))}, {"dim": -2})
    case("scatter_add", "rank3_dim2_f64", lambda t: torch.scatter_add(t["input"], 2, t["index"], t["src"]),
         {"input": randn(2, 3, 4, dtype=F64), "index": torch.randint(0, 4, (2, 2, 6)),
          "src": randn(2, 2, 6, dtype=F64)}, {"dim": 2})
    case("one_hot", "explicit", lambda t: F.one_hot(t["tensor"], 5), {"tensor": torch.tensor([0, 4, 2, 2])},
         {"num_classes": 5})
    case("one_hot", "inferred", lambda t: F.one_hot(t["tensor"]), {"tensor": torch.tensor([1, 3, 0])})
    case("one_hot", "rank2", lambda t: F.one_hot(t["tensor"], 4), {"tensor": torch.randint(0, 4, (2, 3))},
         {"num_classes": 4})


# ---------------------------------------------------------------- logsumexp, clamp, pow

def logsumexp():
    for dt in DTYPES:
        d = dname(dt)
        case("logsumexp", f"last_dim_{d}", lambda t: torch.logsumexp(t["input"], -1), {"input": randn(3, 5, dtype=dt)},
             {"dim": -1})
        case("logsumexp", f"dim0_keepdim_{d}", lambda t: torch.logsumexp(t["input"], 0, keepdim=True),
             {"input": randn(4, 3, dtype=dt)}, {"dim": 0, "keepdim": True})
        big = randn(3, 4, dtype=dt) + torch.tensor([[1000.0], [-1000.0], [0.0]], dtype=dt)
        case("logsumexp", f"large_{d}", lambda t: torch.logsumexp(t["input"], 1), {"input": big}, {"dim": 1})
    case("logsumexp", "rank3_dim1_f64", lambda t: torch.logsumexp(t["input"], 1), {"input": randn(2, 3, 4, dtype=F64)},
         {"dim": 1})


def clamp():
    for dt in DTYPES:
        d = dname(dt)
        case("clamp", f"both_{d}", lambda t: torch.clamp(t["input"], -0.5, 0.7), {"input": randn(3, 4, dtype=dt)},
             {"min": -0.5, "max": 0.7})
        case("clamp", f"min_only_{d}", lambda t: torch.clamp(t["input"], min=0.1), {"input": randn(3, 4, dtype=dt)},
             {"min": 0.1})
        case("clamp", f"max_only_{d}", lambda t: torch.clamp(t["input"], max=-0.2), {"input": randn(3, 4, dtype=dt)},
             {"max": -0.2})
        # Elements exactly at a bound: PyTorch's gradient there is zero.
        at = torch.tensor([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0], dtype=dt)
        case("clamp", f"at_bounds_{d}", lambda t: torch.clamp(t["input"], -0.5, 0.5), {"input": at},
             {"min": -0.5, "max": 0.5})
    at = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=F64)
    case("clamp", "min_at_bound_f64", lambda t: torch.clamp(t["input"], min=0.0), {"input": at}, {"min": 0.0})
    case("clamp", "max_at_bound_f64", lambda t: torch.clamp(t["input"], max=0.5), {"input": at}, {"max": 0.5})


def power():
    for dt in DTYPES:
        d = dname(dt)
        neg = -torch.rand(2, 3, dtype=F64).to(dt) - 0.2
        case("pow", f"negative_base_cube_{d}", lambda t: t["x"] ** 3, {"x": neg}, {"exponent": 3}, sub="more")
        case("pow", f"exponent0_{d}", lambda t: t["x"] ** 0, {"x": randn(2, 3, dtype=dt)}, {"exponent": 0}, sub="more")
        case("pow", f"exponent1_{d}", lambda t: t["x"] ** 1, {"x": randn(2, 3, dtype=dt)}, {"exponent": 1}, sub="more")
    zero = torch.tensor([0.0, -1.5, 2.0], dtype=F64)
    case("pow", "zero_base_square_f64", lambda t: t["x"] ** 2, {"x": zero}, {"exponent": 2}, sub="more")
    case("pow", "zero_base_cube_f64", lambda t: t["x"] ** 3, {"x": zero}, {"exponent": 3}, sub="more")
    case("pow", "negative_base_minus2_f64", lambda t: t["x"] ** -2, {"x": torch.tensor([-0.5, -2.0, 1.5], dtype=F64)},
         {"exponent": -2}, sub="more")


# ---------------------------------------------------------------- activations

def activations():
    wide = lambda dt: torch.cat([randn(10, dtype=dt) * 3, torch.tensor([0.0, -30.0, 30.0, -1e-3], dtype=dt)])  # noqa
    for dt in DTYPES:
        d = dname(dt)
        case("gelu", f"exact_{d}", lambda t: F.gelu(t["input"]), {"input": wide(dt)})
        case("gelu", f"tanh_{d}", lambda t: F.gelu(t["input"], approximate="tanh"), {"input": wide(dt)},
             {"approximate": "tanh"})
        case("leaky_relu", f"default_{d}", lambda t: F.leaky_relu(t["input"]), {"input": wide(dt)})
        case("leaky_relu", f"slope0.2_{d}", lambda t: F.leaky_relu(t["input"], 0.2), {"input": randn(3, 4, dtype=dt)},
             {"negative_slope": 0.2})
        case("elu", f"default_{d}", lambda t: F.elu(t["input"]), {"input": wide(dt)})
        case("elu", f"alpha0.5_{d}", lambda t: F.elu(t["input"], 0.5), {"input": randn(3, 4, dtype=dt)},
             {"alpha": 0.5})
        case("softplus", f"default_{d}", lambda t: F.softplus(t["input"]), {"input": wide(dt)})
        # beta 2, threshold 5: x above 2.5 takes the linear branch.
        xs = torch.tensor([-4.0, -1.0, 0.0, 1.0, 2.4, 2.5, 2.6, 8.0], dtype=dt)
        case("softplus", f"beta2_threshold5_{d}", lambda t: F.softplus(t["input"], beta=2.0, threshold=5.0),
             {"input": xs}, {"beta": 2.0, "threshold": 5.0})
        case("silu", f"wide_{d}", lambda t: F.silu(t["input"]), {"input": wide(dt)})
    case("gelu", "rank3_f64", lambda t: F.gelu(t["input"]), {"input": randn(2, 3, 4, dtype=F64)},
         {"approximate": "none"})
    case("silu", "rank3_f32", lambda t: F.silu(t["input"]), {"input": randn(2, 3, 4, dtype=F32)})


# ---------------------------------------------------------------- dropout, losses, layer_norm

def dropout():
    # Only the deterministic settings: PyTorch's masks come from its own generator, so a
    # training-mode case with 0 < p < 1 could not be compared (the runner refuses one).
    for dt in DTYPES:
        d = dname(dt)
        case("dropout", f"eval_{d}", lambda t: F.dropout(t["input"], 0.5, training=False),
             {"input": randn(3, 4, dtype=dt)}, {"p": 0.5, "training": False})
    case("dropout", "p0_training_f64", lambda t: F.dropout(t["input"], 0.0, training=True),
         {"input": randn(3, 4, dtype=F64)}, {"p": 0.0})
    case("dropout", "p1_training_f32", lambda t: F.dropout(t["input"], 1.0, training=True),
         {"input": randn(3, 4, dtype=F32)}, {"p": 1.0, "training": True})


def nll_loss():
    for dt in DTYPES:
        d = dname(dt)
        for red in ("mean", "sum", "none"):
            case("nll_loss", f"{red}_{d}", lambda t: F.nll_loss(t["input"], t["target"], reduction=red),
                 {"input": F.log_softmax(randn(5, 4, dtype=dt), 1), "target": torch.randint(0, 4, (5,))},
                 {"reduction": red})
    case("nll_loss", "weighted_mean_f64", lambda t: F.nll_loss(t["input"], t["target"], weight=t["weight"]),
         {"input": randn(6, 3, dtype=F64), "target": torch.tensor([0, 2, 2, 1, 0, 2]),
          "weight": torch.tensor([0.2, 1.0, 3.0], dtype=F64)}, const=("weight",))
    case("nll_loss", "ignore_index_f64", lambda t: F.nll_loss(t["input"], t["target"], ignore_index=1),
         {"input": randn(5, 3, dtype=F64), "target": torch.tensor([1, 0, 1, 2, 2])}, {"ignore_index": 1})
    case("nll_loss", "default_ignore_f32", lambda t: F.nll_loss(t["input"], t["target"], reduction="sum"),
         {"input": randn(4, 3, dtype=F32), "target": torch.tensor([2, -100, 0, -100])}, {"reduction": "sum"})


def layer_norm_mse_more():
    for dt in DTYPES:
        d = dname(dt)
        case("layer_norm", f"rank3_two_dims_{d}",
             lambda t: F.layer_norm(t["input"], (3, 4), t["weight"], t["bias"]),
             {"input": randn(2, 3, 4, dtype=dt), "weight": randn(3, 4, dtype=dt), "bias": randn(3, 4, dtype=dt)},
             {"normalized_shape": [3, 4]}, sub="more")
        case("mse_loss", f"none_{d}", lambda t: F.mse_loss(t["input"], t["target"], reduction="none"),
             {"input": randn(3, 4, dtype=dt), "target": randn(3, 4, dtype=dt)}, {"reduction": "none"}, sub="more")
    case("layer_norm", "weight_only_f32", lambda t: F.layer_norm(t["input"], (5,), t["weight"]),
         {"input": randn(4, 5, dtype=F32), "weight": randn(5, dtype=F32)}, {"normalized_shape": [5]}, sub="more")
    case("layer_norm", "large_offset_eps_f64", lambda t: F.layer_norm(t["input"], (6,), eps=0.1),
         {"input": randn(3, 6, dtype=F64) + 1000.0}, {"normalized_shape": [6], "eps": 0.1}, sub="more")


GENERATORS = [var_std, max_min, arg_best, sorting, comparisons, selection, joining, indexing, logsumexp, clamp,
              power, activations, dropout, nll_loss, layer_norm_mse_more]

if __name__ == "__main__":
    for op in OWNED:
        shutil.rmtree(os.path.join(ROOT, op), ignore_errors=True)
    for op in SHARED:
        shutil.rmtree(os.path.join(ROOT, op, "more"), ignore_errors=True)
    for gen in GENERATORS:
        gen()
    total = sum(os.path.getsize(p) for p in written)
    biggest = max(os.path.getsize(p) for p in written)
    print(f"wrote {len(written)} cases, {total / 1024:.1f} KiB (largest {biggest} B), under {ROOT}")
