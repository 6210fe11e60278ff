"""Writes the PyTorch conformance cases for conv2d, max_pool2d and avg_pool2d (format: CASES.md).

Run: /tmp/torchvenv/bin/python tests/cases/make_cases_conv.py   (from the repository root)
Writes tests/cases/{conv2d,max_pool2d,avg_pool2d}/<name>_<dtype>.safetensors. Deterministic
(torch.manual_seed per case). mode "convolution" is the document's formula, i.e. F.conv2d with the
weight flipped in both spatial dims.
"""
import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)))
DTYPES = {"f32": torch.float32, "f64": torch.float64}


def write(op, name, dtype_name, inputs, attrs, fn, atol=None, rtol=None):
    """inputs: dict name -> float tensor (None = absent); fn(**inputs) -> output tensor."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items() if v is not None}
    out = fn(**{k: leaves.get(k) for k in inputs})
    g = torch.randn(out.shape, dtype=out.dtype)
    out.backward(g)
    tensors = {f"input.{k}": v.detach().contiguous() for k, v in leaves.items()}
    tensors["grad_output.0"] = g.contiguous()
    tensors["expected.output.0"] = out.detach().contiguous()
    for k, v in leaves.items():
        tensors[f"expected.grad.{k}"] = v.grad.contiguous()
    meta = {"op": op, "device": "cpu"}
    meta.update({k: json.dumps(v) for k, v in attrs.items()})
    if atol is not None:
        meta["atol"] = str(atol)
    if rtol is not None:
        meta["rtol"] = str(rtol)
    folder = os.path.join(ROOT, op)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}_{dtype_name}.safetensors")
    save_file(tensors, path, metadata=meta)
    print(path)


def conv_cases():
    # name, x shape, weight shape, bias, stride, padding, dilation, groups, mode
    configs = [
        ("basic", (2, 3, 6, 6), (4, 3, 3, 3), True, [1, 1], [0, 0], [1, 1], 1, "cross_correlation"),
        ("stride2_pad1", (2, 3, 7, 8), (4, 3, 3, 3), True, [2, 2], [1, 1], [1, 1], 1, "cross_correlation"),
        ("dilation2", (1, 2, 8, 8), (3, 2, 3, 3), True, [1, 1], [2, 1], [2, 2], 1, "cross_correlation"),
        ("groups2", (2, 4, 6, 6), (6, 2, 3, 3), True, [1, 1], [1, 1], [1, 1], 2, "cross_correlation"),
        ("rect_kernel_nobias", (2, 3, 7, 9), (2, 3, 2, 4), False, [2, 1], [1, 2], [1, 1], 1, "cross_correlation"),
        ("pointwise", (2, 5, 4, 3), (3, 5, 1, 1), True, [1, 1], [0, 0], [1, 1], 1, "cross_correlation"),
        ("convolution_mode", (2, 3, 6, 7), (4, 3, 3, 2), True, [1, 1], [1, 1], [1, 1], 1, "convolution"),
        ("convolution_mode_stride2_groups2", (2, 4, 7, 7), (4, 2, 3, 3), False, [2, 2], [0, 1], [1, 1], 2, "convolution"),
        ("cnn_conv1", (1, 3, 28, 28), (32, 3, 3, 3), True, [1, 1], [1, 1], [1, 1], 1, "cross_correlation"),
        ("cnn_conv2", (1, 32, 14, 14), (64, 32, 3, 3), True, [1, 1], [1, 1], [1, 1], 1, "cross_correlation"),
    ]
    for name, xs, ws, has_bias, stride, padding, dilation, groups, mode in configs:
        for dn, dt in DTYPES.items():
            torch.manual_seed(len(name) * 7919 + groups)
            x = torch.randn(xs, dtype=dt)
            w = torch.randn(ws, dtype=dt) / (ws[1] * ws[2] * ws[3]) ** 0.5
            b = torch.randn(ws[0], dtype=dt) if has_bias else None

            def fn(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups, mode=mode):
                wt = weight.flip(-1, -2) if mode == "convolution" else weight
                return F.conv2d(x, wt, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)

            attrs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups, "mode": mode}
            # f32: the weight gradient sums N*OH*OW products (up to 1568 here); allow for f32 rounding.
            atol = 1e-4 if dn == "f32" else None
            write("conv2d", name, dn, {"x": x, "weight": w, "bias": b}, attrs, fn, atol=atol)


def pool_cases():
    max_configs = [
        ("k2", (2, 3, 8, 8), [2, 2], [2, 2], [0, 0]),
        ("k3_s2_overlap", (2, 2, 9, 9), [3, 3], [2, 2], [0, 0]),
        ("k3_s2_pad1", (1, 2, 7, 8), [3, 3], [2, 2], [1, 1]),
        ("rect_k2x3_s1x2_pad1", (2, 2, 6, 7), [2, 3], [1, 2], [1, 1]),
        ("ties_k3_s1", (1, 2, 6, 6), [3, 3], [1, 1], [0, 0]),
    ]
    for name, xs, k, s, p in max_configs:
        for dn, dt in DTYPES.items():
            torch.manual_seed(len(name) * 104729 + k[0])
            if name.startswith("ties"):
                x = torch.randint(0, 3, xs).to(dt)  # many equal values: the first max gets the gradient
            else:
                x = torch.randn(xs, dtype=dt)
            fn = lambda x, k=k, s=s, p=p: F.max_pool2d(x, k, s, p)
            write("max_pool2d", name, dn, {"x": x}, {"kernel_size": k, "stride": s, "padding": p}, fn)
    avg_configs = [
        ("k2", (2, 3, 8, 8), [2, 2], [2, 2], [0, 0], True),
        ("k3_s2_pad1_include_pad", (2, 2, 9, 8), [3, 3], [2, 2], [1, 1], True),
        ("k3_s2_pad1_exclude_pad", (2, 2, 9, 8), [3, 3], [2, 2], [1, 1], False),
        ("rect_k2x3_s2x1_pad1_exclude_pad", (1, 3, 7, 6), [2, 3], [2, 1], [1, 1], False),
    ]
    for name, xs, k, s, p, cip in avg_configs:
        for dn, dt in DTYPES.items():
            torch.manual_seed(len(name) * 15485863 + k[0])
            x = torch.randn(xs, dtype=dt)
            fn = lambda x, k=k, s=s, p=p, cip=cip: F.avg_pool2d(x, k, s, p, count_include_pad=cip)
            attrs = {"kernel_size": k, "stride": s, "padding": p, "count_include_pad": cip}
            write("avg_pool2d", name, dn, {"x": x}, attrs, fn)


if __name__ == "__main__":
    torch.set_num_threads(1)
    conv_cases()
    pool_cases()
