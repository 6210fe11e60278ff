"""Prints the PyTorch values pasted into tests/softmax.rs, tests/loss.rs and tests/linear.rs.

Run: /tmp/torchvenv/bin/python tests/torch/softmax_loss_linear.py
Each block's snippet is repeated as a comment above the numbers in the Rust test.
"""
import torch
import torch.nn.functional as F

torch.set_printoptions(precision=17)
d = torch.float64


def show(name, t):
    print(name, [float(v) for v in t.detach().flatten()])


# softmax.rs
x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]], dtype=d, requires_grad=True)
g = torch.tensor([[0.5, -1.0, 2.0], [1.0, 3.0, -2.0]], dtype=d)
y = F.softmax(x, dim=-1); y.backward(g); show("softmax dim=-1", y); show("softmax dim=-1 grad", x.grad); x.grad = None
y = F.softmax(x, dim=0); y.backward(g); show("softmax dim=0", y); show("softmax dim=0 grad", x.grad); x.grad = None
y = F.log_softmax(x, dim=1); y.backward(g); show("log_softmax dim=1", y); show("log_softmax dim=1 grad", x.grad); x.grad = None
y = F.log_softmax(x, dim=0); y.backward(g); show("log_softmax dim=0", y); show("log_softmax dim=0 grad", x.grad); x.grad = None
y = torch.logsumexp(x, dim=1); y.backward(torch.tensor([2.0, -1.0], dtype=d)); show("logsumexp dim=1", y); show("logsumexp dim=1 grad", x.grad); x.grad = None
show("log_softmax [1000,-1000]", F.log_softmax(torch.tensor([1000.0, -1000.0]), 0))
show("softmax [1000,-1000,999]", F.softmax(torch.tensor([1000.0, -1000.0, 999.0], dtype=d), 0))

# loss.rs
x = torch.tensor([[1.0, 2.0, 0.5, -1.0], [0.0, -2.0, 3.0, 1.0], [2.5, 0.5, -0.5, 1.5]], dtype=d, requires_grad=True)
t = torch.tensor([0, 3, 1])
w = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=d)
for name, kw in [
    ("ce mean", dict()),
    ("ce sum", dict(reduction="sum")),
    ("ce none", dict(reduction="none")),
    ("ce weight mean", dict(weight=w)),
    ("ce ignore mean", dict(ignore_index=3)),
    ("ce smooth mean", dict(label_smoothing=0.1)),
    ("ce weight+ignore+smooth mean", dict(weight=w, ignore_index=3, label_smoothing=0.2)),
    ("ce weight+smooth sum", dict(weight=w, label_smoothing=0.3, reduction="sum")),
]:
    l = F.cross_entropy(x, t, **kw)
    l.backward(torch.ones_like(l) if l.dim() == 0 else torch.tensor([1.0, -2.0, 0.5], dtype=d))
    show(name, l); show(name + " grad", x.grad); x.grad = None
lp = F.log_softmax(x, 1).detach().requires_grad_()
l = F.nll_loss(lp, t, weight=w); l.backward(); show("nll weight mean", l); show("nll weight mean grad", lp.grad)
a = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=d)
b = torch.tensor([[0.5, 2.0], [1.0, 1.0]], dtype=d)
show("mse mean", F.mse_loss(a, b)); show("mse sum", F.mse_loss(a, b, reduction="sum")); show("mse none", F.mse_loss(a, b, reduction="none"))

# linear.rs
x = torch.arange(12, dtype=d).reshape(2, 2, 3).sub(5.0).div(4.0).requires_grad_()
W = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=d, requires_grad=True)
bias = torch.tensor([0.1, -0.2], dtype=d, requires_grad=True)
y = F.linear(x, W, bias)
gy = torch.tensor([[[1.0, -1.0], [0.5, 2.0]], [[-1.5, 0.0], [3.0, 1.0]]], dtype=d)
y.backward(gy)
show("linear y", y); show("linear dx", x.grad); show("linear dW", W.grad); show("linear db", bias.grad)
