"""Writes the PyTorch conformance cases of `binary_cross_entropy_with_logits` (CASES.md format).

Run from the repository root with the PyTorch environment:

    /tmp/torchvenv/bin/python tests/cases/make_cases_bce.py

Inputs: input (logits), target (same shape, in [0, 1]), weight and pos_weight (optional,
broadcast to the input; constants: no expected gradient, as PyTorch has none for them).
Attribute: reduction ("mean"). Expected gradients: of input and target.
Seeded: running it twice writes the same numbers; the op's old case folder is removed first.
"""

import json
import os
import shutil

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from make_cases import canonical_header

ROOT = os.path.dirname(os.path.abspath(__file__))
OP = "binary_cross_entropy_with_logits"
F32, F64 = torch.float32, torch.float64
torch.manual_seed(20240612)


def case(name, inputs, attrs, dtype):
    x = inputs["input"].to(dtype).requires_grad_(True)
    t = inputs["target"].to(dtype).requires_grad_(True)
    w = inputs.get("weight")
    pw = inputs.get("pos_weight")
    w = None if w is None else w.to(dtype)
    pw = None if pw is None else pw.to(dtype)
    y = F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw, reduction=attrs.get("reduction", "mean"))
    g = torch.randn(y.shape, dtype=F64).to(dtype)
    gx, gt = torch.autograd.grad(y, [x, t], g)
    tensors = {
        "input.input": x.detach(),
        "input.target": t.detach(),
        "grad_output.0": g,
        "expected.output.0": y.detach(),
        "expected.grad.input": gx,
        "expected.grad.target": gt,
    }
    if w is not None:
        tensors["input.weight"] = w
    if pw is not None:
        tensors["input.pos_weight"] = pw
    meta = {"op": OP}
    meta.update({k: json.dumps(v) for k, v in attrs.items()})
    tensors = {k: v.detach().clone().contiguous() for k, v in tensors.items()}
    folder = os.path.join(ROOT, OP)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    canonical_header(path)
    return path


def main():
    shutil.rmtree(os.path.join(ROOT, OP), ignore_errors=True)
    n = 0
    for dt, d in ((F32, "f32"), (F64, "f64")):
        x = torch.randn(4, 3, dtype=F64) * 3
        hard = (torch.rand(4, 3, dtype=F64) < 0.4).to(F64)
        soft = torch.rand(4, 3, dtype=F64)
        for red in ("mean", "sum", "none"):
            case(f"{red}_{d}", {"input": x, "target": hard}, {"reduction": red}, dt)
            n += 1
        case(f"soft_target_default_{d}", {"input": x, "target": soft}, {}, dt)
        case(f"pos_weight_{d}", {"input": x, "target": hard, "pos_weight": torch.rand(3, dtype=F64) * 3 + 0.2},
             {"reduction": "mean"}, dt)
        case(f"weight_{d}", {"input": x, "target": soft, "weight": torch.rand(4, 1, dtype=F64) * 2},
             {"reduction": "sum"}, dt)
        case(f"weight_pos_weight_none_{d}",
             {"input": x, "target": soft, "weight": torch.rand(3, dtype=F64) + 0.5,
              "pos_weight": torch.rand(3, dtype=F64) * 2 + 0.5}, {"reduction": "none"}, dt)
        n += 4
    # Large logits: stable where the naive formula overflows.
    x = torch.tensor([[-200.0, -30.0, 0.0, 30.0, 200.0]], dtype=F64)
    y = torch.tensor([[1.0, 0.0, 0.5, 1.0, 0.0]], dtype=F64)
    case("large_logits_f32", {"input": x, "target": y}, {"reduction": "none"}, F32)
    case("large_logits_f64", {"input": x, "target": y, "pos_weight": torch.tensor([2.0] * 5, dtype=F64)},
         {"reduction": "sum"}, F64)
    n += 2
    print(f"wrote {n} cases under {os.path.join(ROOT, OP)}")


if __name__ == "__main__":
    main()
