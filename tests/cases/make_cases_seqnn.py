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


def bidirectional_fixture():
    """tests/fixtures/seqnn_bidirectional.safetensors: 2-layer bidirectional RNN, LSTM and GRU
    (batch_first) with random states: inputs, parameters (prefixed with the kind), outputs, and the
    gradients of sum(output * gy) + sum(h_n * gh) for tests/nn_recurrent.rs."""
    out = {}
    for kind, cls in [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)]:
        torch.manual_seed(10)
        m = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
        g = torch.Generator().manual_seed(11)
        x = torch.randn(2, 5, 3, generator=g, dtype=torch.float64).requires_grad_()
        h0 = (0.5 * torch.randn(4, 2, 4, generator=g, dtype=torch.float64)).requires_grad_()
        if kind == "lstm":
            c0 = (0.5 * torch.randn(4, 2, 4, generator=g, dtype=torch.float64)).requires_grad_()
            y, (h_n, c_n) = m(x, (h0, c0))
            out[f"{kind}.c0"], out[f"{kind}.c_n"] = c0, c_n
        else:
            y, h_n = m(x, h0)
        gy = torch.randn(y.shape, generator=g, dtype=torch.float64)
        gh = torch.randn(h_n.shape, generator=g, dtype=torch.float64)
        ((y * gy).sum() + (h_n * gh).sum()).backward()
        out.update({f"{kind}.x": x, f"{kind}.h0": h0, f"{kind}.output": y, f"{kind}.h_n": h_n,
                    f"{kind}.gy": gy, f"{kind}.gh": gh, f"{kind}.grad.x": x.grad, f"{kind}.grad.h0": h0.grad})
        for k, p in m.named_parameters():
            out[f"{kind}.{k}"] = p
            out[f"{kind}.grad.{k}"] = p.grad
    path = os.path.join(ROOT, "..", "fixtures", "seqnn_bidirectional.safetensors")
    save_file({k: v.detach().contiguous() for k, v in out.items()}, path)
    print("fixtures/seqnn_bidirectional.safetensors:", len(out), "tensors")


if __name__ == "__main__":
    bidirectional_fixture()
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
