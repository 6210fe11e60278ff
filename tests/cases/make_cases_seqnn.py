"""Writes the PyTorch conformance cases of the corrected listings 1.4.2 (`seed_rnn`) and 1.4.3
(`seed_lstm`), and of `layer_norm`, in the format of CASES.md (tests/cases/<op>/<name>.safetensors).

Run from the repository root:  /tmp/torchvenv/bin/python tests/cases/make_cases_seqnn.py
"""

import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.abspath(__file__))


def save(op, name, tensors, metadata):
    folder = os.path.join(ROOT, op)
    os.makedirs(folder, exist_ok=True)
    meta = {"op": op}
    meta.update(metadata)
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    save_file(tensors, os.path.join(folder, name + ".safetensors"), metadata=meta)
    print(f"{op}/{name}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in sorted(tensors.items())))


# Listing 1.4.2, corrected: the RNN gets h0 alone (the listing passed (h0, c0) to nn.RNN). The
# listing's RNN reads vectors of size 8, made by an embedding of the vocabulary of 10.
class SeedRnn(nn.Module):
    def __init__(self, vocab_size=10, input_size=8, hidden_size=8, output_size=2):
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, input_size)
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, tokens):
        x = self.embedding(tokens)
        h0 = torch.zeros(1, x.size(0), self.hidden_size, dtype=x.dtype)
        out, _ = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


# Listing 1.4.3, corrected: super().__init__(), and forward uses the model's own sizes.
class NLPModel(nn.Module):
    def __init__(self, vocab_size=1000, embedding_dim=64, hidden_dim=128, output_dim=10, n_layers=2):
        super().__init__()
        self.n_layers, self.hidden_dim = n_layers, hidden_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, tokens):
        x = self.embedding(tokens)
        h0 = torch.zeros(self.n_layers, x.size(0), self.hidden_dim, dtype=x.dtype)
        c0 = torch.zeros(self.n_layers, x.size(0), self.hidden_dim, dtype=x.dtype)
        out, _ = self.rnn(x, (h0, c0))
        return self.fc(out[:, -1, :])


def model_case(op, name, model, vocab, n, t, dtype, seed, meta=None):
    model = model.to(dtype)
    g = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, vocab, (n, t), generator=g)
    out = model(tokens)
    gy = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
    out.backward(gy)
    tensors = {"input.tokens": tokens, "grad_output.0": gy, "expected.output.0": out}
    for k, p in model.named_parameters():
        tensors["input." + k] = p
        tensors["expected.grad." + k] = p.grad
    save(op, name, tensors, meta or {})


def layer_norm_case(name, shape, normalized_shape, affine, dtype, seed, eps=1e-5):
    g = torch.Generator().manual_seed(seed)
    x = (2.0 * torch.randn(shape, generator=g, dtype=torch.float64) + 0.5).to(dtype).requires_grad_()
    inputs = {"input": x}
    w = b = None
    if affine:
        w = (1.0 + 0.3 * torch.randn(normalized_shape, generator=g, dtype=torch.float64)).to(dtype).requires_grad_()
        b = (0.3 * torch.randn(normalized_shape, generator=g, dtype=torch.float64)).to(dtype).requires_grad_()
        inputs["weight"], inputs["bias"] = w, b
    y = F.layer_norm(x, normalized_shape, w, b, eps)
    gy = torch.randn(y.shape, generator=g, dtype=torch.float64).to(dtype)
    y.backward(gy)
    tensors = {"grad_output.0": gy, "expected.output.0": y}
    for k, v in inputs.items():
        tensors["input." + k] = v
        tensors["expected.grad." + k] = v.grad
    save("layer_norm", name, tensors, {"normalized_shape": str(list(normalized_shape)), "eps": repr(eps)})


if __name__ == "__main__":
    torch.manual_seed(0)
    model_case("seed_rnn", "listing_f32", SeedRnn(), 10, 4, 7, torch.float32, 1)
    torch.manual_seed(1)
    model_case("seed_rnn", "listing_f64", SeedRnn(), 10, 3, 12, torch.float64, 2)
    torch.manual_seed(2)
    model_case("seed_lstm", "listing_f32", NLPModel(), 1000, 3, 6, torch.float32, 3)
    layer_norm_case("last_dim_f32", (4, 6), (6,), True, torch.float32, 4)
    layer_norm_case("last_dim_f64", (2, 3, 5), (5,), True, torch.float64, 5)
    layer_norm_case("two_dims_f64", (3, 4, 5), (4, 5), True, torch.float64, 6, eps=1e-3)
    layer_norm_case("no_affine_f64", (5, 7), (7,), False, torch.float64, 7)
