"""Writes the PyTorch conformance cases of the recommender ops (mf_predict, seed_recommender) in the
format of CASES.md: one .safetensors file per case, under tests/cases/<op>/.

Run from the repository root:  /tmp/torchvenv/bin/python tests/cases/make_cases_recsys.py
"""

import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.abspath(__file__))


def save(op, name, tensors, metadata=None):
    folder = os.path.join(ROOT, op)
    os.makedirs(folder, exist_ok=True)
    meta = {"op": op}
    meta.update(metadata or {})
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    save_file(tensors, os.path.join(folder, name + ".safetensors"), metadata=meta)
    print(f"{op}/{name}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in sorted(tensors.items())))


def mf_case(name, n, nu, ni, k, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    user = torch.randint(0, nu, (n,), generator=g)
    item = torch.randint(0, ni, (n,), generator=g)
    if n >= 4:  # a repeated user and item, so gradients must accumulate
        user[0] = user[1]
        item[2] = item[3]
    p = torch.randn(nu, k, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    q = torch.randn(ni, k, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    bu = torch.randn(nu, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    bi = torch.randn(ni, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    mu = torch.tensor(3.5, dtype=dtype).requires_grad_()
    out = (p[user] * q[item]).sum(1) + bu[user] + bi[item] + mu
    gy = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
    out.backward(gy)
    save(
        "mf_predict",
        name,
        {
            "input.user": user,
            "input.item": item,
            "input.user_factors": p,
            "input.item_factors": q,
            "input.user_bias": bu,
            "input.item_bias": bi,
            "input.global_bias": mu,
            "grad_output.0": gy,
            "expected.output.0": out,
            "expected.grad.user_factors": p.grad,
            "expected.grad.item_factors": q.grad,
            "expected.grad.user_bias": bu.grad,
            "expected.grad.item_bias": bi.grad,
            "expected.grad.global_bias": mu.grad,
        },
    )


class Recommender(nn.Module):
    """Listing 1.4.4 with its bug fixed: fc takes the concatenated 2*n_factors input."""

    def __init__(self, n_users, n_items, n_factors=50):
        super().__init__()
        self.user_embedding = nn.Embedding(n_users, n_factors)
        self.item_embedding = nn.Embedding(n_items, n_factors)
        self.fc = nn.Linear(2 * n_factors, 1)  # the listing's nn.Linear(n_factors, 1) cannot take cat(user, item)

    def forward(self, user, item):
        x = torch.cat([self.user_embedding(user), self.item_embedding(item)], dim=1)
        return self.fc(x)


def seed_case(name, n, dtype, seed):
    torch.manual_seed(seed)
    model = Recommender(1000, 1000).to(dtype)
    g = torch.Generator().manual_seed(seed + 1)
    user = torch.randint(0, 1000, (n,), generator=g)
    item = torch.randint(0, 1000, (n,), generator=g)
    user[1] = user[0]
    out = model(user, item)
    gy = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
    out.backward(gy)
    tensors = {"input.user": user, "input.item": item, "grad_output.0": gy, "expected.output.0": out}
    for k, v in model.state_dict().items():
        tensors["input." + k] = v
    for k, v in model.named_parameters():
        tensors["expected.grad." + k] = v.grad
    save("seed_recommender", name, tensors)


if __name__ == "__main__":
    mf_case("batch_f64", 12, 5, 7, 4, torch.float64, 1)
    mf_case("batch_f32", 32, 9, 6, 8, torch.float32, 2)
    mf_case("single_f64", 1, 2, 3, 3, torch.float64, 3)
    seed_case("listing_f32", 16, torch.float32, 4)
