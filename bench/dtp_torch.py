#!/usr/bin/env python3
"""PyTorch implementation of Difference Target Propagation for the speed benchmark.

Same algorithm, network and settings as the Rust `dtp train --preset mnist-7x240`
(Config::CONTINUOUS), with the conventions of the parity reference
tests/parity/dtp_step_torch.py (which the Rust core matches to 1e-5):

  * Network 784-240x7-10: h_i = tanh(W_i h_{i-1} + b_i), i = 1..7, output
    softmax(W_8 h_7 + b_8); W_i is (out, in).  Inverses g_i(h) = tanh(V_i h + c_i)
    for i = 2..7 (g_i maps layer i back to layer i-1).  Random orthogonal W and V
    (torch.nn.init.orthogonal_, all singular values 1), zero biases.
  * Global loss L = batch mean of the NLL.  Local / inverse losses:
    loss(y, t) = mean over the batch of the sum over units of (y - t)^2.
  * Targets: h^_7 = h_7 - eta_hat dL/dh_7 (L a batch mean, so each sample moves by
    eta_hat/B times its own gradient); h^_{i-1} = h_{i-1} + (g_i(h^_i) - g_i(h_i)).
  * Inverse step: h~ = h_{i-1} + eps, eps ~ N(0, sigma^2); step (V_i, c_i) on
    loss(g_i(f_i(h~)), h~) with f_i(h~) and h~ held constant.
  * Forward step: (W_i, b_i) on loss(f_i(h_{i-1}), h^_i) with h_{i-1}, h^_i constant,
    i = 1..7; (W_8, b_8) on L with h_7 constant.
  * Centred RMSprop with momentum, elementwise, separate state for forward and
    inverse parameters:  a <- 0.95 a + 0.05 g ; s <- 0.95 s + 0.05 g^2 ;
    v <- 0.9 v - lr g / sqrt(s - a^2 + 0.001) ; theta <- theta + v.
    (torch.optim.RMSprop(centered=True) puts eps OUTSIDE the sqrt, so it is not
    the same optimiser; this one uses torch._foreach_* ops like torch.optim does.)
  * Schedule (reference code, "alternating"): each epoch, one shuffled order; a full
    pass over the 500 minibatches updating only the inverses, then a full pass over
    the same minibatches updating only the forward layers.
  * float32, batch 100, MNIST 50k train (first 50k of the training file) / 10k valid
    (last 10k) / 10k test, pixels / 255.

Gradients come from autograd.  Activations are stored batch-major, (batch, units),
the natural PyTorch layout (the parity script uses (units, batch); the maths is the
same).

With --net conv: the `mnist-conv` preset's network, Bartunov et al. 2018's
1x28x28-c32k3s2p1-c64k3s2p1-1024-10 (two 3x3 stride-2 tanh convolutions with padding
1, a dense tanh layer of 1,024, softmax output), with the conventions of
dtp_core::conv::ConvTrainer:

  * f_1, f_2: h = tanh(conv2d(h_prev, W, b, stride 2, padding 1)), W stored as the
    (C' x C*k*k) matrix, so conv2d's (C', C, k, k) weight is that matrix reshaped;
    f_3 reads h_2 flattened channel-major (c, y, x), as torch.flatten does.
  * g_2, the inverse of the convolution f_2, is a transposed convolution with its OWN
    weights V (C*k*k x C', learned, not W^T) and a bias per input channel:
    g_2(h) = tanh(conv_transpose2d(h, V^T reshaped (C', C, k, k), c, stride 2,
    padding 1, output_padding 1)) -- the adjoint of f_2's geometry (7x7 -> 14x14).
    g_3 (the dense layer's inverse) is dense. There is no g_1 (no target for x).
  * Losses, targets, noise, optimiser and schedule as for the dense net: local and
    reconstruction losses are batch means of squared errors summed over every unit
    (channels x positions).
  * Settings: the preset's (CONV_* below, dtp-std/src/presets.rs conv_config).

Throughput convention: samples/s = 2 x (number of training samples actually used
per epoch, i.e. 500 x 100 = 50,000) / training seconds, because BOTH passes see
every sample.  Training seconds cover the shuffle and both passes of every epoch,
not data loading and not evaluation.
"""

import argparse
import gzip
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ETA_HAT = 0.327736332653
LR_F = 0.0148893490317
LR_INV = 0.00501149118237
SIGMA = 0.359829566008
RHO, MOMENTUM, EPS = 0.95, 0.9, 0.001
N_IN, N_H, N_OUT, N_HIDDEN, BATCH = 784, 240, 10, 7, 100
N_TRAIN, N_VALID = 50_000, 10_000

# The convolutional presets' settings (dtp-std/src/presets.rs, conv_config): the continuous
# reference's (Config::CONTINUOUS).
CONV_ETA_HAT = ETA_HAT
CONV_LR_F = LR_F
CONV_LR_INV = LR_INV
CONV_SIGMA = SIGMA


# --------------------------------------------------------------------------
# Data: a tiny IDX reader (raw or gzip)
# --------------------------------------------------------------------------
def find_idx(dir_, prefix, kind):
    """train-images-idx3-ubyte[.gz] and the dotted variant train-images.idx3-ubyte."""
    for name in (f"{prefix}-{kind}-ubyte", f"{prefix}-{kind.replace('-', '.')}-ubyte"):
        for ext in ("", ".gz"):
            p = os.path.join(dir_, name + ext)
            if os.path.exists(p):
                return p
    sys.exit(f"error: no {prefix}-{kind}-ubyte[.gz] in {dir_} (run scripts/fetch-data.sh)")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit(f"error: {path}: not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(shape):
        sys.exit(f"error: {path}: {body.size} bytes of data, header says {shape}")
    return body.reshape(shape)


def load_mnist(dir_):
    def pair(prefix):
        x = read_idx(find_idx(dir_, prefix, "images-idx3"))
        y = read_idx(find_idx(dir_, prefix, "labels-idx1"))
        x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / np.float32(255.0))
        return x, torch.from_numpy(y.astype(np.int64))

    xtr, ytr = pair("train")
    xte, yte = pair("t10k")
    n = len(xtr) - N_VALID
    return (xtr[:n].contiguous(), ytr[:n].contiguous()), \
           (xtr[n:].contiguous(), ytr[n:].contiguous()), (xte, yte)


# --------------------------------------------------------------------------
# Model and optimiser
# --------------------------------------------------------------------------
class Rms:
    """Centred RMSprop with momentum (eps inside the sqrt), foreach ops."""

    def __init__(self, params, lr):
        self.p, self.lr = params, lr
        z = lambda: [torch.zeros_like(p) for p in params]
        self.a, self.s, self.v = z(), z(), z()

    @torch.no_grad()
    def step(self, grads):
        a, s, v = self.a, self.s, self.v
        torch._foreach_lerp_(a, grads, 1 - RHO)                 # a <- rho a + (1-rho) g
        torch._foreach_mul_(s, RHO)
        torch._foreach_addcmul_(s, grads, grads, 1 - RHO)       # s <- rho s + (1-rho) g^2
        den = torch._foreach_addcmul(s, a, a, -1.0)             # s - a^2
        torch._foreach_add_(den, EPS)
        torch._foreach_sqrt_(den)
        torch._foreach_mul_(v, MOMENTUM)
        torch._foreach_addcdiv_(v, grads, den, -self.lr)        # v <- m v - lr g / den
        torch._foreach_add_(self.p, v)                          # theta <- theta + v


def orthogonal(rows, cols, gen):
    w = torch.empty(rows, cols)
    torch.nn.init.orthogonal_(w, generator=gen)
    return w


def sq_loss(y, t):
    """mean over the batch of the sum over units of squared error."""
    return (y - t).pow(2).sum(dim=1).mean()


class DTP:
    def __init__(self, seed):
        gen = torch.Generator().manual_seed(seed)
        sizes = [N_IN] + [N_H] * N_HIDDEN + [N_OUT]
        # W[0], b[0] are layer 1 ... W[7], b[7] the output layer 8.
        self.W = [orthogonal(sizes[i + 1], sizes[i], gen).requires_grad_() for i in range(8)]
        self.b = [torch.zeros(sizes[i + 1], requires_grad=True) for i in range(8)]
        # V[k], c[k] is g_{k+2}: layer k+2 (index k+1 in h) back to layer k+1.
        self.V = [orthogonal(N_H, N_H, gen).requires_grad_() for _ in range(N_HIDDEN - 1)]
        self.c = [torch.zeros(N_H, requires_grad=True) for _ in range(N_HIDDEN - 1)]
        self.fwd_params = self.W + self.b
        self.inv_params = self.V + self.c
        self.opt_f = Rms(self.fwd_params, LR_F)
        self.opt_inv = Rms(self.inv_params, LR_INV)

    # h[0] = x, h[i] = f_i(h[i-1]) for i = 1..7 (h[7] = h_{M-1})
    def f(self, i, h):
        return torch.tanh(F.linear(h, self.W[i - 1], self.b[i - 1]))

    def g(self, i, h):
        return torch.tanh(F.linear(h, self.V[i - 2], self.c[i - 2]))

    def inverse_step(self, x, sigma):
        with torch.no_grad():
            h = [x]
            for i in range(1, N_HIDDEN + 1):
                h.append(self.f(i, h[-1]))
            corrupt = [h[i - 1] + sigma * torch.randn_like(h[i - 1]) for i in range(2, N_HIDDEN + 1)]
            y = [self.f(i, c) for i, c in zip(range(2, N_HIDDEN + 1), corrupt)]
        # The six losses are independent (each involves only V_i, c_i): one backward.
        loss = sum(sq_loss(self.g(i, yi), ci)
                   for i, yi, ci in zip(range(2, N_HIDDEN + 1), y, corrupt))
        grads = torch.autograd.grad(loss, self.inv_params)
        self.opt_inv.step(grads)

    def forward_step(self, x, labels):
        # Forward pass; each layer's graph reaches only its own (W_i, b_i) because its
        # input is detached, so the same outputs serve as f_i(h_{i-1}) in the local losses.
        h, out = [x], []
        for i in range(1, N_HIDDEN + 1):
            hi = self.f(i, h[-1])
            out.append(hi)
            h.append(hi.detach())
        top = h[-1].clone().requires_grad_()
        L = F.cross_entropy(F.linear(top, self.W[-1], self.b[-1]), labels)   # batch mean NLL
        gW8, gb8, dL_dh = torch.autograd.grad(L, [self.W[-1], self.b[-1], top])
        with torch.no_grad():
            t = [None] * (N_HIDDEN + 1)
            t[N_HIDDEN] = h[N_HIDDEN] - ETA_HAT * dL_dh
            for i in range(N_HIDDEN, 1, -1):
                t[i - 1] = h[i - 1] + (self.g(i, t[i]) - self.g(i, h[i]))
        local = sum(sq_loss(out[i - 1], t[i]) for i in range(1, N_HIDDEN + 1))
        hidden = self.W[:-1] + self.b[:-1]
        gh = torch.autograd.grad(local, hidden)
        n = N_HIDDEN
        grads = list(gh[:n]) + [gW8] + list(gh[n:]) + [gb8]      # order of W + b
        self.opt_f.step(grads)
        return L.detach()

    @torch.no_grad()
    def error(self, x, y, chunk=10_000):
        wrong = 0
        for s in range(0, len(x), chunk):
            h = x[s:s + chunk]
            for i in range(1, N_HIDDEN + 1):
                h = self.f(i, h)
            z = F.linear(h, self.W[-1], self.b[-1])
            wrong += (z.argmax(dim=1) != y[s:s + chunk]).sum().item()
        return wrong / len(x)

    def finite(self):
        return all(torch.isfinite(p).all() for p in self.fwd_params + self.inv_params)


class ConvDTP:
    """DTP on 1x28x28-c32k3s2p1-c64k3s2p1-1024-10 (see the module doc, --net conv)."""

    K, STRIDE, PAD = 3, 2, 1

    def __init__(self, seed, eta_hat, lr_f, lr_inv):
        gen = torch.Generator().manual_seed(seed)
        k = self.K
        self.eta_hat = eta_hat
        # Forward: conv 1 -> 32, conv 32 -> 64, dense 3136 -> 1024, dense 1024 -> 10.
        self.W = [orthogonal(32, 1 * k * k, gen).reshape(32, 1, k, k),
                  orthogonal(64, 32 * k * k, gen).reshape(64, 32, k, k),
                  orthogonal(1024, 64 * 7 * 7, gen),
                  orthogonal(N_OUT, 1024, gen)]
        self.b = [torch.zeros(n) for n in (32, 64, 1024, N_OUT)]
        # g_2: V is (C*k*k x C') = (288 x 64); conv_transpose2d's weight is (C', C, k, k).
        self.V = [orthogonal(32 * k * k, 64, gen).t().contiguous().reshape(64, 32, k, k),
                  orthogonal(64 * 7 * 7, 1024, gen)]
        self.c = [torch.zeros(32), torch.zeros(64 * 7 * 7)]
        for t in self.W + self.b + self.V + self.c:
            t.requires_grad_()
        self.fwd_params = self.W + self.b
        self.inv_params = self.V + self.c
        self.opt_f = Rms(self.fwd_params, lr_f)
        self.opt_inv = Rms(self.inv_params, lr_inv)

    # h[0] = x (B, 1, 28, 28); h[1] (B, 32, 14, 14); h[2] (B, 64, 7, 7); h[3] (B, 1024).
    def f(self, i, h):
        if i <= 2:
            return torch.tanh(F.conv2d(h, self.W[i - 1], self.b[i - 1],
                                       stride=self.STRIDE, padding=self.PAD))
        return torch.tanh(F.linear(h.flatten(1), self.W[i - 1], self.b[i - 1]))

    def g(self, i, h):
        if i == 2:
            return torch.tanh(F.conv_transpose2d(h, self.V[0], self.c[0], stride=self.STRIDE,
                                                 padding=self.PAD, output_padding=1))
        return torch.tanh(F.linear(h, self.V[1], self.c[1])).reshape(-1, 64, 7, 7)

    def logits(self, h3):
        return F.linear(h3, self.W[3], self.b[3])

    def inverse_step(self, x, sigma):
        with torch.no_grad():
            h = [x]
            for i in (1, 2):
                h.append(self.f(i, h[-1]))
            corrupt = [h[i - 1] + sigma * torch.randn_like(h[i - 1]) for i in (2, 3)]
            y = [self.f(i, c) for i, c in zip((2, 3), corrupt)]
        loss = sum(sq_loss(self.g(i, yi).flatten(1), ci.flatten(1))
                   for i, yi, ci in zip((2, 3), y, corrupt))
        self.opt_inv.step(torch.autograd.grad(loss, self.inv_params))

    def forward_step(self, x, labels):
        h, out = [x], []
        for i in (1, 2, 3):
            hi = self.f(i, h[-1])
            out.append(hi)
            h.append(hi.detach())
        top = h[3].clone().requires_grad_()
        L = F.cross_entropy(self.logits(top), labels)
        gW4, gb4, dL_dh = torch.autograd.grad(L, [self.W[3], self.b[3], top])
        with torch.no_grad():
            t = [None, None, None, h[3] - self.eta_hat * dL_dh]
            for i in (3, 2):
                t[i - 1] = h[i - 1] + (self.g(i, t[i]) - self.g(i, h[i]))
        local = sum(sq_loss(out[i - 1].flatten(1), t[i].flatten(1)) for i in (1, 2, 3))
        hidden = self.W[:3] + self.b[:3]
        gh = torch.autograd.grad(local, hidden)
        grads = list(gh[:3]) + [gW4] + list(gh[3:]) + [gb4]       # order of W + b
        self.opt_f.step(grads)
        return L.detach()

    @torch.no_grad()
    def error(self, x, y, chunk=1_000):
        wrong = 0
        for s in range(0, len(x), chunk):
            h = x[s:s + chunk]
            for i in (1, 2, 3):
                h = self.f(i, h)
            wrong += (self.logits(h).argmax(dim=1) != y[s:s + chunk]).sum().item()
        return wrong / len(x)

    def finite(self):
        return all(torch.isfinite(p).all() for p in self.fwd_params + self.inv_params)


def main():
    ap = argparse.ArgumentParser(description="DTP 784-240x7-10 (or the conv net) on MNIST in "
                                             "PyTorch (benchmark).")
    ap.add_argument("--net", choices=["7x240", "conv"], default="7x240",
                    help="784-240x7-10 (mnist-7x240) or 1x28x28-c32k3s2p1-c64k3s2p1-1024-10 "
                         "(mnist-conv) [7x240]")
    ap.add_argument("--data", default="datasets/mnist", help="directory of the MNIST IDX files")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads(N) [2]")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(args.seed)

    (xtr, ytr), (xva, yva), (xte, yte) = load_mnist(args.data)
    assert len(xtr) == N_TRAIN, len(xtr)
    if args.net == "conv":
        model = ConvDTP(args.seed, CONV_ETA_HAT, CONV_LR_F, CONV_LR_INV)
        sigma = CONV_SIGMA
        shape = lambda t: t.reshape(-1, 1, 28, 28)
        xtr, xva, xte = shape(xtr), shape(xva), shape(xte)
    else:
        model, sigma = DTP(args.seed), SIGMA
    n_batches = len(xtr) // BATCH
    per_epoch = 2 * n_batches * BATCH         # both passes see every sample
    gen = torch.Generator().manual_seed(args.seed + 1)

    train_secs, epochs = 0.0, []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr), generator=gen)
        batches = [order[k * BATCH:(k + 1) * BATCH] for k in range(n_batches)]
        for idx in batches:                                   # pass 1: inverses only
            model.inverse_step(xtr[idx], sigma)
        loss_sum = torch.zeros(())
        for idx in batches:                                   # pass 2: forward only
            loss_sum += model.forward_step(xtr[idx], ytr[idx])
        secs = time.perf_counter() - t0
        train_secs += secs
        if not model.finite() or not math.isfinite(loss_sum.item()):
            sys.exit(f"error: non-finite parameters or loss in epoch {epoch}")
        rec = {"epoch": epoch, "train_loss": loss_sum.item() / n_batches,
               "valid_error": model.error(xva, yva), "test_error": model.error(xte, yte),
               "train_seconds": secs, "samples_per_sec": per_epoch / secs}
        epochs.append(rec)
        print(f"epoch {epoch}: loss {rec['train_loss']:.4f}  valid {100 * rec['valid_error']:.2f}%  "
              f"test {100 * rec['test_error']:.2f}%  {secs:.2f} s  {rec['samples_per_sec']:.0f} samples/s",
              flush=True)

    result = {
        "impl": "pytorch",
        "net": args.net,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "threads": torch.get_num_threads(),
        "epochs": args.epochs,
        "seed": args.seed,
        "samples_per_epoch_counted": per_epoch,
        "samples_convention": "2 x 50,000 per epoch (inverse pass + forward pass)",
        "train_seconds": train_secs,
        "samples_per_sec": per_epoch * args.epochs / train_secs,
        "test_error": epochs[-1]["test_error"],
        "valid_error": epochs[-1]["valid_error"],
        "per_epoch": epochs,
    }
    print(f"pytorch: {result['samples_per_sec']:.0f} samples/s (2 x 50,000 per epoch), "
          f"{train_secs:.2f} s training, test error {100 * result['test_error']:.2f}% "
          f"after {args.epochs} epoch(s), {result['threads']} threads")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
