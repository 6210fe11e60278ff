"""Writes the PyTorch conformance cases of the sequence ops (embedding, rnn_tanh, lstm, gru) in the
format of CASES.md: one .safetensors file per case, under tests/cases/<op>/.

Run from the repository root:  /tmp/torchvenv/bin/python tests/cases/make_cases_seq.py
"""

import os

import torch
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


def embedding_case(name, indices, v, d, padding_idx, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(v, d, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    out = F.embedding(indices, weight, padding_idx=padding_idx)
    gy = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
    out.backward(gy)
    meta = {} if padding_idx is None else {"padding_idx": str(padding_idx)}
    save(
        "embedding",
        name,
        {
            "input.indices": indices,
            "input.weight": weight,
            "grad_output.0": gy,
            "expected.output.0": out,
            "expected.grad.weight": weight.grad,
        },
        meta,
    )


def recurrent_case(op, name, n, t, i, h, layers, with_state, dtype, seed):
    torch.manual_seed(seed)
    cls = {"rnn_tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[op]
    kwargs = {"nonlinearity": "tanh"} if op == "rnn_tanh" else {}
    m = cls(i, h, num_layers=layers, batch_first=True, **kwargs).to(dtype)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, t, i, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    inputs = {"x": x}
    if with_state:
        inputs["h0"] = (0.5 * torch.randn(layers, n, h, generator=g, dtype=torch.float64)).to(dtype).requires_grad_()
        if op == "lstm":
            inputs["c0"] = (0.5 * torch.randn(layers, n, h, generator=g, dtype=torch.float64)).to(dtype).requires_grad_()
    if op == "lstm":
        state = (inputs["h0"], inputs["c0"]) if with_state else None
        output, (h_n, c_n) = m(x, state)
        outs = [output, h_n, c_n]
    else:
        output, h_n = m(x, inputs.get("h0"))
        outs = [output, h_n]
    gys = [torch.randn(o.shape, generator=g, dtype=torch.float64).to(dtype) for o in outs]
    torch.autograd.backward(outs, gys)
    tensors = {}
    for k, v in inputs.items():
        tensors["input." + k] = v
        tensors["expected.grad." + k] = v.grad
    for k, p in m.named_parameters():
        tensors["input." + k] = p
        tensors["expected.grad." + k] = p.grad
    for k, (o, gy) in enumerate(zip(outs, gys)):
        tensors[f"expected.output.{k}"] = o
        tensors[f"grad_output.{k}"] = gy
    save(op, name, tensors, {"num_layers": str(layers)})


def main():
    # embedding: repeated ids; padding_idx (positive and negative); f32 and f64.
    ids = torch.tensor([[1, 3, 1, 0], [5, 3, 3, 2]], dtype=torch.int64)
    embedding_case("repeated_ids_f32", ids, 6, 3, None, torch.float32, 10)
    embedding_case("repeated_ids_f64", ids, 6, 3, None, torch.float64, 11)
    ids = torch.tensor([[0, 2, 0, 4], [2, 2, 1, 0], [4, 4, 4, 3]], dtype=torch.int64)
    embedding_case("padding_idx_f64", ids, 5, 4, 0, torch.float64, 12)
    embedding_case("padding_idx_negative_f32", ids, 5, 4, -1, torch.float32, 13)
    embedding_case("one_dim_f64", torch.tensor([7, 0, 7, 7, 2], dtype=torch.int64), 8, 2, None, torch.float64, 14)

    for op in ["rnn_tanh", "lstm", "gru"]:
        recurrent_case(op, "one_layer_zero_state_f32", 2, 5, 3, 4, 1, False, torch.float32, 20)
        recurrent_case(op, "one_layer_f64", 3, 4, 2, 3, 1, True, torch.float64, 21)
        recurrent_case(op, "two_layers_f64", 3, 6, 3, 4, 2, True, torch.float64, 22)
        recurrent_case(op, "two_layers_f32", 2, 7, 4, 5, 2, True, torch.float32, 23)
        recurrent_case(op, "three_layers_zero_state_f64", 2, 5, 2, 3, 3, False, torch.float64, 24)


if __name__ == "__main__":
    main()
