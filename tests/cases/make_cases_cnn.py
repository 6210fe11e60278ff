"""Writes the PyTorch conformance cases for batch_norm and the document's CNN, seed_cnn (format: CASES.md).

Run: /tmp/torchvenv/bin/python tests/cases/make_cases_cnn.py   (from the repository root)
Writes tests/cases/batch_norm/<name>_<dtype>.safetensors and tests/cases/seed_cnn/<name>_<dtype>.safetensors.
Deterministic (torch.manual_seed per case).

batch_norm: outputs 0 = F.batch_norm(...), 1 and 2 = running_mean and running_var after the call
(F.batch_norm updates them in place in training). seed_cnn: listing 1.4.1 as printed (ReLU after each
conv and after fc1, 2x2 max-pool after each conv, padding 1), inputs named input.x and
input.<state_dict name>.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)))
DTYPES = {"f32": torch.float32, "f64": torch.float64}


def save(op, name, dn, tensors, attrs, atol=None, rtol=None):
    meta = {"op": op, "device": "cpu"}
    meta.update({k: json.dumps(v) for k, v in attrs.items()})
    if atol is not None:
        meta["atol"] = str(atol)
    if rtol is not None:
        meta["rtol"] = str(rtol)
    folder = os.path.join(ROOT, op)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}_{dn}.safetensors")
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, path, metadata=meta)
    print(path)


def batch_norm_cases():
    # name, x shape, running stats, affine, training, momentum, eps
    configs = [
        ("train_4d", (4, 3, 5, 5), True, True, True, 0.1, 1e-5),
        ("train_2d", (6, 4), True, True, True, 0.1, 1e-5),
        ("train_3d_momentum_0.3_no_affine", (3, 2, 7), True, False, True, 0.3, 1e-3),
        ("train_no_running_stats", (2, 3, 4, 4), False, True, True, 0.1, 1e-5),
        ("eval_4d", (4, 3, 5, 5), True, True, False, 0.1, 1e-5),
        ("eval_2d_eps_0.01", (5, 3), True, True, False, 0.1, 1e-2),
    ]
    for name, xs, running, affine, training, momentum, eps in configs:
        for dn, dt in DTYPES.items():
            torch.manual_seed(len(name) * 131 + len(xs))
            c = xs[1]
            x = (torch.randn(xs, dtype=dt) * 2 + 0.5).requires_grad_()
            leaves = {"input": x}
            rm = rv = None
            if running:
                rm = torch.randn(c, dtype=dt) * 0.1
                rv = torch.rand(c, dtype=dt) + 0.5
            tensors = {}
            if running:
                tensors["input.running_mean"] = rm.clone()
                tensors["input.running_var"] = rv.clone()
            w = b = None
            if affine:
                w = (torch.rand(c, dtype=dt) + 0.5).requires_grad_()
                b = torch.randn(c, dtype=dt).requires_grad_()
                leaves["weight"], leaves["bias"] = w, b
            y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
            g = torch.randn(y.shape, dtype=dt)
            y.backward(g)
            for k, v in leaves.items():
                tensors[f"input.{k}"] = v
                tensors[f"expected.grad.{k}"] = v.grad
            tensors["grad_output.0"] = g
            tensors["expected.output.0"] = y
            if running:
                tensors["expected.output.1"] = rm
                tensors["expected.output.2"] = rv
            attrs = {"training": training, "momentum": momentum, "eps": eps}
            save("batch_norm", name, dn, tensors, attrs, atol=1e-4 if dn == "f32" else None)


class CNN(nn.Module):
    """Listing 1.4.1, as printed."""
    def __init__(self):
        super(CNN, self).__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 64 * 7 * 7)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x


def seed_cnn_cases():
    # One case per dtype (fc1's weight and its gradient alone are 2 x 401,408 values: ~3 MB in f32,
    # ~6.5 MB in f64, so the files are kept few).
    for name, n, dn in [("batch3", 3, "f32"), ("batch2", 2, "f64")]:
        dt = DTYPES[dn]
        if True:
            torch.manual_seed(1000 + n)
            model = CNN().to(dt)
            x = torch.randn(n, 3, 28, 28, dtype=dt).requires_grad_()
            out = model(x)
            g = torch.randn(out.shape, dtype=dt)
            out.backward(g)
            tensors = {"input.x": x, "expected.grad.x": x.grad, "grad_output.0": g, "expected.output.0": out}
            for k, p in model.named_parameters():
                tensors[f"input.{k}"] = p
                tensors[f"expected.grad.{k}"] = p.grad
            # f32: fc1's weight gradient and the conv sums run over thousands of products.
            save("seed_cnn", name, dn, tensors, {}, atol=1e-4 if dn == "f32" else None,
                 rtol=1e-3 if dn == "f32" else None)


if __name__ == "__main__":
    batch_norm_cases()
    seed_cnn_cases()
