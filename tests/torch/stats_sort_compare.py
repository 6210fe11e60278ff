"""The PyTorch numbers pasted into tests/stats.rs, tests/sort.rs and tests/compare.rs.

Run: /tmp/torchvenv/bin/python tests/torch/stats_sort_compare.py
Each block prints what one test asserts; the snippet is repeated as a comment above the numbers.
"""
import torch

torch.set_printoptions(precision=17)
nan = float("nan")


def show(name, v):
    print(f"{name}: {v.tolist() if isinstance(v, torch.Tensor) else v}")


# ---------------------------------------------------------------- stats
x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 9.0]], dtype=torch.float64)
show("var dim1 c1", x.var(dim=1))
show("var dim1 c0 keepdim", x.var(dim=1, correction=0, keepdim=True))
show("var dim0 c1", x.var(dim=0))
show("var all", x.var())
show("std all", x.std())
show("std dim1 c0", x.std(dim=1, correction=0))
show("var single", torch.tensor([5.0]).var())
show("var N<=c", torch.tensor([1.0, 3.0]).var(correction=2))
show("var N<=c equal", torch.tensor([2.0, 2.0]).var(correction=2))
x32 = x.float()
show("var f32 dim1", x32.var(dim=1))

m = torch.tensor([[3.0, 7.0, 7.0, 1.0], [nan, 2.0, nan, 5.0], [4.0, 4.0, -1.0, -1.0]])
v, i = m.max(dim=1)
show("max_dim vals", v)
show("max_dim idx", i)
v, i = m.min(dim=1)
show("min_dim vals", v)
show("min_dim idx", i)
v, i = m.max(dim=0, keepdim=True)
show("max_dim0 keep vals", v)
show("max_dim0 keep idx", i)
show("argmax none", m.argmax())
show("argmin none", m.argmin())
mi = torch.tensor([[3, 7, 7, 1], [0, 2, -4, 5]])
show("argmax i64 dim1", mi.argmax(dim=1))
show("argmin i64 dim0 keep", mi.argmin(dim=0, keepdim=True))
show("argmax none keep", mi.argmax(dim=None, keepdim=True))

t = torch.tensor([[1.0, 5.0, 5.0], [2.0, 5.0, 0.0]], dtype=torch.float64, requires_grad=True)
t.max().backward()
show("max full grad", t.grad)
t.grad = None
t.min().backward()
show("min full grad", t.grad)
t2 = torch.tensor([1.0, nan, 3.0, nan], dtype=torch.float64, requires_grad=True)
y = t2.max()
y.backward()
show("max nan value", y)
show("max nan grad", t2.grad)

# ---------------------------------------------------------------- sort
s = torch.tensor([[3.0, 1.0, nan, 1.0, -2.0, 3.0], [0.5, -0.5, 0.5, 7.0, nan, float("-inf")]])
v, i = s.sort(dim=1, stable=True)
show("sort asc vals", v)
show("sort asc idx", i)
v, i = s.sort(dim=1, descending=True, stable=True)
show("sort desc vals", v)
show("sort desc idx", i)
s0 = torch.tensor([[4.0, 1.0], [2.0, 3.0], [2.0, 0.0]])
v, i = s0.sort(dim=0, stable=True)
show("sort dim0 vals", v)
show("sort dim0 idx", i)
si = torch.tensor([5, -3, 5, 0, 2])
v, i = si.sort(descending=True, stable=True)
show("sort i64 desc vals", v)
show("sort i64 desc idx", i)

k = torch.tensor([[0.3, 2.5, -1.0, 4.0, 1.5], [9.0, -3.0, 0.0, 2.0, 8.0]])
v, i = k.topk(3, dim=1)
show("topk largest vals", v)
show("topk largest idx", i)
v, i = k.topk(2, dim=1, largest=False)
show("topk smallest vals", v)
show("topk smallest idx", i)
v, i = k.topk(1, dim=0)
show("topk dim0 vals", v)
show("topk dim0 idx", i)

# ---------------------------------------------------------------- compare
a = torch.tensor([[1.0, 2.0, nan], [4.0, 2.0, 0.0]])
b = torch.tensor([2.0, 2.0, nan])
for op in ["eq", "ne", "lt", "le", "gt", "ge"]:
    show(f"{op} bcast", getattr(a, op)(b))
ai = torch.tensor([1, 2, 3])
show("i64 lt 1.5", ai < 1.5)
show("i64 ge 2", ai >= 2)
show("f32 eq 0.1", torch.tensor([0.1, 0.2]) == 0.1)
c = torch.tensor([[True], [False]])
x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64, requires_grad=True)
y = torch.tensor([10.0, 20.0, 30.0], dtype=torch.float64, requires_grad=True)
z = torch.where(c, x, y)
show("where vals", z)
z.backward(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64))
show("where grad x", x.grad)
show("where grad y", y.grad)
mf = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).masked_fill(torch.tensor([True, False, True]), -1.5)
show("masked_fill", mf)
p = torch.tensor([1.0, 5.0, 3.0, nan, 2.0], dtype=torch.float64, requires_grad=True)
q = torch.tensor([4.0, 5.0, 1.0, 0.0, nan], dtype=torch.float64, requires_grad=True)
z = torch.maximum(p, q)
show("maximum", z)
z.sum().backward()
show("maximum grad p", p.grad)
show("maximum grad q", q.grad)
p.grad = None
q.grad = None
z = torch.minimum(p, q)
show("minimum", z)
z.sum().backward()
show("minimum grad p", p.grad)
show("minimum grad q", q.grad)
