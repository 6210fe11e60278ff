"""The PyTorch numbers pasted into tests/join.rs and tests/index.rs (run with any PyTorch >= 2)."""
import torch

torch.set_printoptions(precision=10)
f64 = torch.float64

print("# stack of three 2x2 along dim 2, and its gradient")
a = torch.tensor([[1., 2.], [3., 4.]], dtype=f64, requires_grad=True)
b = torch.tensor([[5., 6.], [7., 8.]], dtype=f64, requires_grad=True)
c = torch.tensor([[9., 10.], [11., 12.]], dtype=f64, requires_grad=True)
y = torch.stack([a, b, c], dim=2)
print(y.flatten().tolist(), list(y.shape))
g = torch.arange(12, dtype=f64).reshape(2, 2, 3)
y.backward(g)
print(a.grad.flatten().tolist(), b.grad.flatten().tolist(), c.grad.flatten().tolist())

print("# chunk and split sizes")
print([t.shape[0] for t in torch.arange(5.).chunk(4)], [t.shape[0] for t in torch.arange(6.).chunk(4)],
      [t.shape[0] for t in torch.arange(7.).split(3)], len(torch.zeros(2, 0).chunk(3, 1)),
      len(torch.zeros(2, 0).split(2, 1)))

print("# index_select, dim 1, repeated indices")
x = torch.arange(12, dtype=f64).reshape(3, 4).requires_grad_()
idx = torch.tensor([3, 0, 3, 1])
y = x.index_select(1, idx)
print(y.flatten().tolist())
g = torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 10., 11., 12.]], dtype=f64)
y.backward(g)
print(x.grad.flatten().tolist())

print("# gather dim 0 and dim 1")
x = torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 10., 11., 12.]], dtype=f64, requires_grad=True)
i0 = torch.tensor([[2, 0, 1], [2, 2, 0]])
y0 = x.gather(0, i0)
print(y0.flatten().tolist())
y0.backward(torch.tensor([[1., 2., 3.], [4., 5., 6.]], dtype=f64))
print(x.grad.flatten().tolist())
x.grad = None
i1 = torch.tensor([[3, 3, 0, 1, 0], [1, 2, 2, 2, 2]])
y1 = x.gather(1, i1)
print(y1.flatten().tolist())
y1.backward(torch.tensor([[1., 2., 3., 4., 5.], [6., 7., 8., 9., 10.]], dtype=f64))
print(x.grad.flatten().tolist())

print("# scatter_add dim 0 and dim 1")
x = torch.tensor([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]], dtype=f64, requires_grad=True)
s = torch.tensor([[10., 20., 30.], [40., 50., 60.]], dtype=f64, requires_grad=True)
i = torch.tensor([[2, 0, 2], [2, 1, 0]])
y = x.scatter_add(0, i, s)
print(y.flatten().tolist())
g = torch.tensor([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]], dtype=f64)
y.backward(g)
print(x.grad.flatten().tolist(), s.grad.flatten().tolist())
x.grad = None
s.grad = None
i = torch.tensor([[0, 0], [2, 1], [1, 1]])
s2 = torch.tensor([[1., 2.], [3., 4.], [5., 6.]], dtype=f64, requires_grad=True)
y = x.scatter_add(1, i, s2)
print(y.flatten().tolist())
y.backward(g)
print(x.grad.flatten().tolist(), s2.grad.flatten().tolist())

print("# one_hot")
print(torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 1]]), 3).flatten().tolist())
