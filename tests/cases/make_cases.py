"""Writes the PyTorch conformance cases that `glassgrad check tests/cases` runs.

Run from the repository root with the PyTorch environment:

    /tmp/torchvenv/bin/python tests/cases/make_cases.py

One file per case, tests/cases/<op>/<case>.safetensors, in the format of CASES.md:
  input.<name>           the inputs (float inputs all f32 or all f64; index inputs i64)
  grad_output.<k>        the upstream gradient of output k (seeded random)
  expected.output.<k>    PyTorch's outputs
  expected.grad.<name>   PyTorch's vector-Jacobian product for every float input
  __metadata__           op, attributes as JSON text, optional atol / rtol

Seeded: running it twice writes the same numbers. Old case files of the ops it writes are
removed first, so a renamed case does not linger.
"""

import json
import os
import shutil
import struct

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20240611)

F32, F64 = torch.float32, torch.float64
written = []


def randn(*shape, dtype=F32):
    return torch.randn(shape, dtype=F64).to(dtype)


def positive(*shape, dtype=F32, low=0.2):
    """Values in [low, low + 2): for log, sqrt, fractional powers, denominators."""
    return (torch.rand(shape, dtype=F64) * 2 + low).to(dtype)


def away_from_zero(*shape, dtype=F32):
    """Random sign, magnitude in [0.5, 2.5): safe denominators."""
    sign = torch.where(torch.rand(shape) < 0.5, -1.0, 1.0).to(F64)
    return (sign * (torch.rand(shape, dtype=F64) * 2 + 0.5)).to(dtype)


def case(op, name, fn, inputs, attrs=None, atol=None, rtol=None):
    """Evaluates `fn(**inputs)` (a tensor or a tuple of tensors) and writes the case file.

    Every float input requires a gradient; the upstream gradient of each output is seeded
    random of the output's shape; the expected gradients are torch.autograd.grad of
    sum_k (output_k * grad_output_k).sum(), the vector-Jacobian product.
    """
    attrs = attrs or {}
    leaves = {}
    for k, v in inputs.items():
        v = v.detach().clone()
        if v.is_floating_point():
            v.requires_grad_(True)
        leaves[k] = v
    outs = fn(**leaves)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    tensors = {f"input.{k}": v.detach() for k, v in leaves.items()}
    grad_outputs = []
    for i, y in enumerate(outs):
        g = torch.randn(y.shape, dtype=F64).to(y.dtype)
        grad_outputs.append(g)
        tensors[f"grad_output.{i}"] = g
        tensors[f"expected.output.{i}"] = y.detach()
    floats = [k for k, v in leaves.items() if v.is_floating_point()]
    if floats:
        grads = torch.autograd.grad(outs, [leaves[k] for k in floats], grad_outputs, allow_unused=True)
        for k, g in zip(floats, grads):
            tensors[f"expected.grad.{k}"] = torch.zeros_like(leaves[k]) if g is None else g
    meta = {"op": op}
    meta.update({k: json.dumps(v) for k, v in attrs.items()})
    if atol is not None:
        meta["atol"] = repr(atol)
    if rtol is not None:
        meta["rtol"] = repr(rtol)
    tensors = {k: v.detach().clone().contiguous() for k, v in tensors.items()}
    folder = os.path.join(ROOT, op)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    canonical_header(path)
    written.append(f"{op}/{name}")


def canonical_header(path):
    """Rewrites the JSON header with sorted keys, so that the same case gives the same bytes
    (safetensors stores `__metadata__` in a hash map, whose order varies between runs)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def dname(dtype):
    return "f32" if dtype == F32 else "f64"


def elementwise_binary():
    fns = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    for op, f in fns.items():
        b = away_from_zero if op == "div" else randn
        for dt in (F32, F64):
            d = dname(dt)
            case(op, f"same_shape_{d}", lambda a, b: f(a, b), {"a": randn(3, 4, dtype=dt), "b": b(3, 4, dtype=dt)})
            case(op, f"broadcast_{d}", lambda a, b: f(a, b),
                 {"a": randn(2, 1, 4, dtype=dt), "b": b(3, 1, dtype=dt)})
        case(op, "broadcast_scalar_f64", lambda a, b: f(a, b), {"a": randn(2, 3, dtype=F64), "b": b(dtype=F64)})
        case(op, "broadcast_row_f32", lambda a, b: f(a, b), {"a": b(4, dtype=F32), "b": b(3, 4, dtype=F32)})


def elementwise_unary():
    fns = {
        "neg": (torch.neg, randn),
        "exp": (torch.exp, randn),
        "log": (torch.log, positive),
        "tanh": (torch.tanh, lambda *s, dtype: randn(*s, dtype=dtype) * 2),
        "sigmoid": (torch.sigmoid, lambda *s, dtype: randn(*s, dtype=dtype) * 3),
        "relu": (torch.relu, randn),
        "sqrt": (torch.sqrt, positive),
    }
    for op, (f, gen) in fns.items():
        for dt in (F32, F64):
            case(op, f"rank3_{dname(dt)}", lambda x: f(x), {"x": gen(2, 3, 4, dtype=dt)})
        case(op, "scalar_f64", lambda x: f(x), {"x": gen(dtype=F64)})


def power():
    for dt in (F32, F64):
        d = dname(dt)
        case("pow", f"square_{d}", lambda x: x ** 2, {"x": randn(3, 4, dtype=dt)}, {"exponent": 2})
        case("pow", f"cube_{d}", lambda x: x ** 3.0, {"x": randn(5, dtype=dt)}, {"exponent": 3.0})
        case("pow", f"half_{d}", lambda x: x ** 0.5, {"x": positive(2, 3, dtype=dt)}, {"exponent": 0.5})
        case("pow", f"neg_fraction_{d}", lambda x: x ** -1.5, {"x": positive(2, 3, dtype=dt)}, {"exponent": -1.5})


def reductions():
    for op, f in (("sum", torch.sum), ("mean", torch.mean)):
        for dt in (F32, F64):
            d = dname(dt)
            case(op, f"all_{d}", lambda x: f(x), {"x": randn(2, 3, 4, dtype=dt)})
            case(op, f"dim1_{d}", lambda x: f(x, dim=[1]), {"x": randn(2, 3, 4, dtype=dt)}, {"dim": [1]})
            case(op, f"dim_neg1_keepdim_{d}", lambda x: f(x, dim=[-1], keepdim=True),
                 {"x": randn(2, 3, 4, dtype=dt)}, {"dim": [-1], "keepdim": True})
            case(op, f"dims_0_2_{d}", lambda x: f(x, dim=[0, 2]), {"x": randn(2, 3, 4, dtype=dt)}, {"dim": [0, 2]})
        case(op, "dims_neg_keepdim_f64", lambda x: f(x, dim=[-3, -1], keepdim=True),
             {"x": randn(2, 3, 4, dtype=F64)}, {"dim": [-3, -1], "keepdim": True})
        case(op, "all_large_f32", lambda x: f(x), {"x": randn(64, 33, dtype=F32)})


def maximum():
    for dt in (F32, F64):
        d = dname(dt)
        case("max", f"dim1_{d}", lambda x: x.max(1).values, {"x": randn(3, 5, dtype=dt)}, {"dim": 1})
        case("max", f"dim_neg1_keepdim_{d}", lambda x: x.max(-1, keepdim=True).values,
             {"x": randn(2, 3, 4, dtype=dt)}, {"dim": -1, "keepdim": True})
        case("max", f"dim0_rank3_{d}", lambda x: x.max(0).values, {"x": randn(4, 2, 3, dtype=dt)}, {"dim": 0})


MM = lambda a, b: torch.matmul(a, b)  # noqa: E731


def matmul():
    for dt in (F32, F64):
        d = dname(dt)
        case("matmul", f"2d_{d}", MM, {"a": randn(3, 4, dtype=dt), "b": randn(4, 5, dtype=dt)})
        case("matmul", f"batched_{d}", MM, {"a": randn(2, 3, 4, dtype=dt), "b": randn(2, 4, 5, dtype=dt)})
        case("matmul", f"batched_by_2d_{d}", MM,
             {"a": randn(2, 3, 4, dtype=dt), "b": randn(4, 2, dtype=dt)})
        case("matmul", f"broadcast_batch_{d}", MM,
             {"a": randn(2, 1, 3, 4, dtype=dt), "b": randn(3, 4, 2, dtype=dt)})
    case("matmul", "matrix_vector_f64", MM, {"a": randn(3, 4, dtype=F64), "b": randn(4, dtype=F64)})
    case("matmul", "vector_matrix_f32", MM, {"a": randn(4, dtype=F32), "b": randn(4, 3, dtype=F32)})


def transpose():
    for dt in (F32, F64):
        d = dname(dt)
        case("transpose", f"dims_0_2_{d}", lambda x: x.transpose(0, 2), {"x": randn(2, 3, 4, dtype=dt)},
             {"dim0": 0, "dim1": 2})
        case("transpose", f"neg_dims_{d}", lambda x: x.transpose(-1, -2), {"x": randn(2, 3, 4, dtype=dt)},
             {"dim0": -1, "dim1": -2})
    case("transpose", "2d_f32", lambda x: x.transpose(1, 0), {"x": randn(3, 5, dtype=F32)}, {"dim0": 1, "dim1": 0})


def reshape():
    for dt in (F32, F64):
        d = dname(dt)
        case("reshape", f"merge_{d}", lambda x: x.reshape(6, 4), {"x": randn(2, 3, 4, dtype=dt)}, {"shape": [6, 4]})
        case("reshape", f"infer_{d}", lambda x: x.reshape(4, -1, 2), {"x": randn(2, 3, 4, dtype=dt)},
             {"shape": [4, -1, 2]})
    case("reshape", "flatten_f64", lambda x: x.reshape(-1), {"x": randn(3, 5, dtype=F64)}, {"shape": [-1]})


def softmaxes():
    for op, f in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        for dt in (F32, F64):
            d = dname(dt)
            case(op, f"last_dim_{d}", lambda x: f(x, dim=-1), {"x": randn(3, 5, dtype=dt)}, {"dim": -1})
            case(op, f"dim0_{d}", lambda x: f(x, dim=0), {"x": randn(4, 3, dtype=dt)}, {"dim": 0})
            case(op, f"rank3_dim1_{d}", lambda x: f(x, dim=1), {"x": randn(2, 3, 4, dtype=dt)}, {"dim": 1})
            big = randn(3, 4, dtype=dt) + torch.tensor([[1000.0], [-1000.0], [0.0]], dtype=dt)
            big[2, 1] = 1000.0
            case(op, f"large_logits_{d}", lambda x: f(x, dim=-1), {"x": big}, {"dim": -1})
        case(op, "default_dim_f64", lambda x: f(x, dim=-1), {"x": randn(2, 6, dtype=F64)})


def cross_entropy():
    for dt in (F32, F64):
        d = dname(dt)
        for red in ("mean", "sum"):
            target = torch.randint(0, 4, (5,))
            case("cross_entropy", f"{red}_{d}", lambda logits, target: F.cross_entropy(logits, target, reduction=red),
                 {"logits": randn(5, 4, dtype=dt), "target": target}, {"reduction": red})
        big = randn(3, 5, dtype=dt) * 500
        case("cross_entropy", f"large_logits_{d}", lambda logits, target: F.cross_entropy(logits, target),
             {"logits": big, "target": torch.tensor([0, 3, 4])}, {"reduction": "mean"})
    case("cross_entropy", "none_f64", lambda logits, target: F.cross_entropy(logits, target, reduction="none"),
         {"logits": randn(4, 3, dtype=F64), "target": torch.tensor([2, 0, 1, 2])}, {"reduction": "none"})
    case("cross_entropy", "default_reduction_f32", lambda logits, target: F.cross_entropy(logits, target),
         {"logits": randn(6, 3, dtype=F32), "target": torch.randint(0, 3, (6,))})


def mse_loss():
    for dt in (F32, F64):
        d = dname(dt)
        for red in ("mean", "sum"):
            case("mse_loss", f"{red}_{d}", lambda input, target: F.mse_loss(input, target, reduction=red),
                 {"input": randn(4, 3, dtype=dt), "target": randn(4, 3, dtype=dt)}, {"reduction": red})
    case("mse_loss", "default_reduction_f64", lambda input, target: F.mse_loss(input, target),
         {"input": randn(2, 3, 2, dtype=F64), "target": randn(2, 3, 2, dtype=F64)})


def linear():
    for dt in (F32, F64):
        d = dname(dt)
        case("linear", f"bias_{d}", lambda x, weight, bias: F.linear(x, weight, bias),
             {"x": randn(4, 3, dtype=dt), "weight": randn(5, 3, dtype=dt), "bias": randn(5, dtype=dt)})
        case("linear", f"no_bias_{d}", lambda x, weight: F.linear(x, weight),
             {"x": randn(4, 3, dtype=dt), "weight": randn(2, 3, dtype=dt)})
        case("linear", f"rank3_bias_{d}", lambda x, weight, bias: F.linear(x, weight, bias),
             {"x": randn(2, 3, 4, dtype=dt), "weight": randn(5, 4, dtype=dt), "bias": randn(5, dtype=dt)})


GENERATORS = [elementwise_binary, elementwise_unary, power, reductions, maximum, matmul, transpose, reshape,
              softmaxes, cross_entropy, mse_loss, linear]

if __name__ == "__main__":
    ops = ["add", "sub", "mul", "div", "neg", "exp", "log", "tanh", "sigmoid", "relu", "sqrt", "pow", "sum",
           "mean", "max", "matmul", "transpose", "reshape", "softmax", "log_softmax", "cross_entropy",
           "mse_loss", "linear"]
    for op in ops:
        shutil.rmtree(os.path.join(ROOT, op), ignore_errors=True)
    for gen in GENERATORS:
        gen()
    total = sum(os.path.getsize(os.path.join(ROOT, f"{w}.safetensors")) for w in written)
    print(f"wrote {len(written)} cases, {total / 1024:.1f} KiB, under {ROOT}")
