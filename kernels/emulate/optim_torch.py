# Expected values for test_optim.cpp: 3 steps of torch.optim on 5 parameters (float64), with
# w0[k] = 0.3 k - 0.5 and the gradient of step t (1-based) g[k] = sin(k + t) * (t + 1) / 2.
# Run: /tmp/torchvenv/bin/python kernels/emulate/optim_torch.py  (prints the C++ table)
import math
import torch

torch.set_default_dtype(torch.float64)
configs = [
    ("sgd plain", torch.optim.SGD, dict(lr=0.1)),
    ("sgd momentum dampening decay", torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.25, weight_decay=0.01)),
    ("sgd nesterov maximize", torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)),
    ("adam", torch.optim.Adam, dict(lr=0.01)),
    ("adam l2 amsgrad", torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("adam beta1=0.3 maximize", torch.optim.Adam, dict(lr=0.02, betas=(0.3, 0.99), maximize=True)),
    ("adamw", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    ("adamw amsgrad", torch.optim.AdamW, dict(lr=0.03, weight_decay=0.2, amsgrad=True)),
]
for name, cls, kw in configs:
    w = torch.tensor([0.3 * k - 0.5 for k in range(5)], requires_grad=True)
    opt = cls([w], **kw)
    for t in range(1, 4):
        w.grad = torch.tensor([math.sin(k + t) * (t + 1) / 2 for k in range(5)])
        opt.step()
    vals = ", ".join(repr(v) for v in w.detach().tolist())
    print(f'  {{"{name}", {{{vals}}}}},')
