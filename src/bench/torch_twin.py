"""The PyTorch twin of `glassgrad bench`: times the same case ids with torch.

`glassgrad bench --torch PYTHON` feeds this script to `PYTHON -` on stdin:

    PYTHON - [--device cpu|cuda] --threads N --samples N --budget-ms MS CASE_ID...

It prints one JSON line per case it knows, {"case": id, "median_ms": t, "torch_version": v}, and
nothing for the ids it does not know. The timing mirrors src/bench/timing.rs: warm-up for 50 ms,
iterations per sample chosen so a sample lasts about 5 ms, at least `samples` samples and more while
the case has sampled for less than the budget (at most 200), median of the per-iteration times.
Inputs are standard normal f32 (torch's own generator, seed 0: the values differ from glassgrad's,
the sizes and distribution do not). Runs under torch.inference_mode(), as glassgrad's forward-only
cases record no tape; the cases in GRAD_CASES (a backward pass, a training step) run with autograd on.

To add a case: one entry in CASES, the same id as in src/bench/mod.rs.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


DEVICE = "cpu"  # set by --device; the GPU cases synchronise at the end of every iteration


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def sgemm(n):
    def setup(g):
        a = torch.randn(n, n, generator=g).to(DEVICE)
        b = torch.randn(n, n, generator=g).to(DEVICE)
        return lambda: (torch.matmul(a, b), sync())
    return setup


def softmax(rows, cols):
    def setup(g):
        x = torch.randn(rows, cols, generator=g).to(DEVICE)
        return lambda: (torch.softmax(x, dim=-1), sync())
    return setup


def mlp_train_step(g):
    w1 = (torch.randn(512, 784, generator=g) * 0.03).to(DEVICE)
    w2 = (torch.randn(10, 512, generator=g) * 0.04).to(DEVICE)
    x = torch.randn(256, 784, generator=g).to(DEVICE)
    t = torch.randint(0, 10, (256,), generator=g).to(DEVICE)

    def run():
        p1, p2 = w1.detach().requires_grad_(), w2.detach().requires_grad_()
        loss = F.cross_entropy(torch.relu(x @ p1.t()) @ p2.t(), t)
        loss.backward()
        for p in (p1, p2):
            p.detach() - 0.01 * p.grad
        sync()
    return run


def rnn_fwd():
    def setup(g):
        rnn = torch.nn.RNN(128, 128, batch_first=True).to(DEVICE)
        x = torch.randn(64, 50, 128, generator=g).to(DEVICE)
        return lambda: (rnn(x), sync())
    return setup


class RnnLm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(1000, 128)
        self.rnn = torch.nn.RNN(128, 128, batch_first=True)
        self.fc = torch.nn.Linear(128, 1000)

    def forward(self, tokens, target):
        h, _ = self.rnn(self.emb(tokens))
        return torch.nn.functional.cross_entropy(self.fc(h).reshape(-1, 1000), target)


class Lstm2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(64, 128, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


def train_step(model, loss_fn):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def run():
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
    return run


def rnnlm(train):
    def setup(g):
        m = RnnLm().to(DEVICE)
        tokens = torch.randint(0, 1000, (64, 50), generator=g).to(DEVICE)
        target = torch.randint(0, 1000, (64 * 50,), generator=g).to(DEVICE)
        if train:
            return train_step(m, lambda: m(tokens, target))
        return lambda: (m(tokens, target), sync())
    return setup


def lstm(train):
    def setup(g):
        m = Lstm2().to(DEVICE)
        x = torch.randn(64, 50, 64, generator=g).to(DEVICE)
        y = torch.randint(0, 10, (64,), generator=g).to(DEVICE)
        if train:
            return train_step(m, lambda: torch.nn.functional.cross_entropy(m(x), y))
        return lambda: (m(x), sync())
    return setup


# Cases that need autograd run outside inference mode.
GRAD_CASES = {
    "rnnlm_train_step", "lstm_train_step", "mf_train_step",
    "conv1_fwd_bwd", "conv2_fwd_bwd", "maxpool_fwd_bwd", "cnn_train_step",
}

def mf_train_step(n=4096, v=1000, k=50):
    def setup(g):
        user_embedding = torch.nn.Embedding(v, k)
        item_embedding = torch.nn.Embedding(v, k)
        with torch.no_grad():
            user_embedding.weight.copy_(torch.randn(v, k, generator=g))
            item_embedding.weight.copy_(torch.randn(v, k, generator=g))
        u = torch.randint(0, v, (n,), generator=g)
        i = torch.randint(0, v, (n,), generator=g)
        r = torch.rand(n, generator=g) * 4 + 1
        params = list(user_embedding.parameters()) + list(item_embedding.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)

        def run():
            opt.zero_grad()
            pred = (user_embedding(u) * item_embedding(i)).sum(1)
            loss = torch.nn.functional.mse_loss(pred, r)
            loss.backward()
            opt.step()
            return loss
        return run
    return setup


def conv(c, o, hw, backward):
    def setup(g):
        x = torch.randn(64, c, hw, hw, generator=g).to(DEVICE)
        w = torch.randn(o, c, 3, 3, generator=g).to(DEVICE)
        b = torch.randn(o, generator=g).to(DEVICE)
        if not backward:
            return lambda: (F.conv2d(x, w, b, padding=1), sync())
        x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
        gy = torch.randn(64, o, hw, hw, generator=g).to(DEVICE)

        def run():
            x.grad = w.grad = b.grad = None
            F.conv2d(x, w, b, padding=1).backward(gy)
            sync()
        return run
    return setup


def maxpool_fwd_bwd(g):
    x = torch.randn(64, 32, 28, 28, generator=g).to(DEVICE).requires_grad_()
    gy = torch.randn(64, 32, 14, 14, generator=g).to(DEVICE)

    def run():
        x.grad = None
        F.max_pool2d(x, 2, 2).backward(gy)
        sync()
    return run


class CNN(nn.Module):
    """The document's listing 1.4.1."""
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


def cnn_fwd(g):
    model = CNN().to(DEVICE)
    x = torch.randn(64, 3, 28, 28, generator=g).to(DEVICE)
    return lambda: (model(x), sync())


def cnn_train_step(g):
    model = CNN().to(DEVICE)
    x = torch.randn(64, 3, 28, 28, generator=g).to(DEVICE)
    y = torch.randint(0, 10, (64,), generator=g).to(DEVICE)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def run():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        sync()
    return run


CASES = {
    "sgemm_1024": sgemm(1024),
    "sgemm_256": sgemm(256),
    "sgemm_4096": sgemm(4096),
    # glassgrad's cuBLAS path beside torch's (also cuBLAS): the ratio checks the path adds nothing.
    "sgemm_1024_cublas": sgemm(1024),
    "sgemm_4096_cublas": sgemm(4096),
    "mlp_train_step": mlp_train_step,
    "softmax_4096x1000": softmax(4096, 1000),
    "rnn_fwd": rnn_fwd(),
    "rnnlm_fwd": rnnlm(False),
    "rnnlm_train_step": rnnlm(True),
    "lstm_fwd": lstm(False),
    "lstm_train_step": lstm(True),
    "mf_train_step": mf_train_step(),
    "conv1_fwd": conv(3, 32, 28, False),
    "conv1_fwd_bwd": conv(3, 32, 28, True),
    "conv2_fwd": conv(32, 64, 14, False),
    "conv2_fwd_bwd": conv(32, 64, 14, True),
    "maxpool_fwd_bwd": maxpool_fwd_bwd,
    "cnn_fwd": cnn_fwd,
    "cnn_train_step": cnn_train_step,
}

CUDA_CASES = {
    "sgemm_1024", "sgemm_4096", "sgemm_1024_cublas", "sgemm_4096_cublas", "softmax_4096x1000",
    "mlp_train_step", "rnn_fwd", "rnnlm_fwd", "rnnlm_train_step", "lstm_fwd", "lstm_train_step",
    "conv1_fwd", "conv1_fwd_bwd", "conv2_fwd", "conv2_fwd_bwd", "maxpool_fwd_bwd", "cnn_fwd",
    "cnn_train_step",
}
GRAD_CASES_EXTRA = {"mlp_train_step"}


def time_run(run, samples, budget_s, warmup_s=0.05, target_s=0.005, max_samples=200):
    start = time.perf_counter()
    fastest = float("inf")
    while True:
        t = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - t)
        if time.perf_counter() - start >= warmup_s:
            break
    iters = max(1, int(-(-target_s // max(fastest, 1e-9))))
    times = []
    sampling = time.perf_counter()
    while len(times) < samples or (len(times) < max_samples and time.perf_counter() - sampling < budget_s):
        t = time.perf_counter()
        for _ in range(iters):
            run()
        times.append((time.perf_counter() - t) * 1e3 / iters)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--budget-ms", type=float, default=1000.0)
    p.add_argument("ids", nargs="*")
    a = p.parse_args()
    global DEVICE
    DEVICE = a.device
    if DEVICE == "cuda":
        # fp32 against fp32: no TF32 shortcuts on either side.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(a.threads)
    for case in a.ids:
        if case not in CASES or (DEVICE == "cuda" and case not in CUDA_CASES):
            continue
        g = torch.Generator().manual_seed(0)
        with torch.inference_mode(case not in GRAD_CASES and case not in GRAD_CASES_EXTRA):
            run = CASES[case](g)
            median = time_run(run, max(1, a.samples), a.budget_ms / 1e3)
        print(json.dumps({"case": case, "median_ms": median, "torch_version": torch.__version__}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
