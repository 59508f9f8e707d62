#!/usr/bin/env python3
"""Independent PyTorch reference for ONE Difference Target Propagation step.

Difference Target Propagation (Lee, Zhang, Fischer & Bengio, 2015), one
minibatch, interleaved schedule: inverse (decoder) update first, then the
forward update.  Three cases (--case):
  * small (default): 6-5-5-5-4 tanh, batch 3, no input noise
    -> tests/fixtures/dtp_step.json;
  * tanh-block: 9-8-8-8-4 tanh, batch 17, input noise 0.2: the input (153
    values) and every corrupted layer (136) are long enough for the 128-draw
    block path of dtp_core::noise::add_gaussian, with a pair remainder and (for
    the input) an odd last value -> tests/fixtures/dtp_step_tanh_block.json;
  * bernoulli-block: the same sizes with the stochastic wiring (sigmoid units
    read as Bernoulli samples by the layer above and by the output layer,
    inverses tanh reading the probabilities) and input noise 0.3
    -> tests/fixtures/dtp_step_bernoulli_block.json.  All gradients come from torch autograd (``.backward()`` /
``torch.autograd.grad``); nothing is differentiated by hand.  Everything is
float64.  The result is written as a small JSON fixture that the Rust tests
load and compare against (tolerance 1e-5; the Rust side computes in f32).

Conventions (must match the Rust core):
  * Column-vector layout: an activation matrix is (units, batch), column b is
    sample b.  Layer i: h_i = s(W_i h_{i-1} + b_i), W_i is (out, in), b_i is
    (out,) broadcast over columns.  In the JSON, matrices are lists of rows in
    exactly this orientation; vectors are flat lists.
  * Network: IN -> H -> H -> H (tanh, or sigmoid) -> OUT (softmax over axis 0).
  * Random numbers are drawn from one Pcg32 stream in the order of
    dtp_core's Trainer::step: input noise on x (storage order); the Bernoulli
    samples read by layers 2 and 3 and by the output layer (uniform < p,
    uniform = (next_u32 >> 8) 2^-24, storage order); then for i = 2, 3 the
    corruption noise of h_{i-1} followed by the samples layer i reads from the
    corrupted value.  Deterministic quantisers draw nothing.  A sample whose
    uniform lies within 1e-4 of its probability could come out differently in
    f32; the script asserts none does (and picks the first stream state, from
    PCG_STATE up, for which this holds).
  * A sampled layer's top target is h - eta_hat dL/dq(h) (the gradient at the
    sample the output layer read: the reference's extra correction); a hidden
    layer above a sampled one trains on the sample it read.
  * Inverses g_i(h) = tanh(V_i h + c_i) for i = 2, 3 (g_i maps layer i back to
    layer i-1).
  * Global loss L = mean_b -log p[label_b, b].
  * Local losses: loss(y, t) = mean_b sum_k (y_kb - t_kb)^2 (no 1/2 factor).
  * Optimiser: centred RMSprop with momentum, elementwise, separate state for
    forward params (W1..W4, b1..b4) and inverse params (V2, c2, V3, c3):
        a <- rho a + (1-rho) g ; s <- rho s + (1-rho) g^2
        v <- mom v - lr g / sqrt(s - a^2 + eps) ; theta <- theta + v
    (the NEW a, s are used in the denominator).
  * Inverse-step noise comes from a Python port of rand_pcg's Pcg32
    (Lcg64Xsh32) + Box-Muller (both branches: two normals per two u32 draws,
    an odd last value from the cosine branch), as dtp_core::noise::add_gaussian
    draws it, so the Rust side reproduces it (to f32 rounding).

Usage:
    python3 tests/parity/dtp_step_torch.py --out tests/fixtures/dtp_step.json
    python3 tests/parity/dtp_step_torch.py --case tanh-block \
        --out tests/fixtures/dtp_step_tanh_block.json
    python3 tests/parity/dtp_step_torch.py --case bernoulli-block \
        --out tests/fixtures/dtp_step_bernoulli_block.json
Needs torch and numpy.  CI does not run this; only the committed JSON is used.
"""

import argparse
import json
import math

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

# --------------------------------------------------------------------------
# Sizes and hyper-parameters of each case
# --------------------------------------------------------------------------
CASES = {
    "small": dict(n_in=6, n_h=5, n_out=4, batch=3, units="tanh", eta_hat=0.5,
                  lr_f=0.01, lr_inv=0.005, sigma=0.3, input_noise=0.0,
                  numpy_seed=1234),
    # The block cases start RMSprop from zero state (the small case covers a
    # non-zero one), so that a = (1 - rho) g after the step gives every
    # gradient to f32 precision for the Rust test.
    "tanh-block": dict(n_in=9, n_h=8, n_out=4, batch=17, units="tanh",
                       eta_hat=3.0, lr_f=0.01, lr_inv=0.005, sigma=0.3,
                       input_noise=0.2, numpy_seed=1235, zero_state=True),
    "bernoulli-block": dict(n_in=9, n_h=8, n_out=4, batch=17, units="bernoulli",
                            eta_hat=8.0, lr_f=0.01, lr_inv=0.005, sigma=0.3,
                            input_noise=0.3, numpy_seed=1236, zero_state=True),
}
N_HIDDEN_LAYERS = 3
RHO = 0.95        # RMSprop decay for a and s
MOMENTUM = 0.9    # momentum on v
EPS = 0.001       # added inside the sqrt
BERNOULLI_MARGIN = 1e-4  # least |uniform - p| of any sample drawn

PCG_STATE = 0xCAFEF00DD15EA5E5   # rand_pcg's documented example seed
PCG_STREAM = 0xA02BDBF7BB3C0A7

FWD_KEYS = ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"]
INV_KEYS = ["V2", "c2", "V3", "c3"]

MASK64 = (1 << 64) - 1
PCG_MUL = 6364136223846793005


# --------------------------------------------------------------------------
# Pcg32 (rand_pcg::Lcg64Xsh32) port
# --------------------------------------------------------------------------
class Pcg32:
    """Exact port of rand_pcg 0.10 `Pcg32::new(state, stream)` + next_u32."""

    def __init__(self, state, stream):
        self.inc = ((stream << 1) | 1) & MASK64
        st = (state + self.inc) & MASK64
        self.st = (st * PCG_MUL + self.inc) & MASK64   # one LCG step

    def next_u32(self):
        old = self.st
        self.st = (old * PCG_MUL + self.inc) & MASK64
        xorshifted = ((old ^ (old >> 18)) >> 27) & 0xFFFFFFFF  # truncate to u32
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & 0xFFFFFFFF

    def normal_pair(self):
        """Box-Muller, both branches; consumes exactly two u32 draws.

        u1 in (0, 1] (so ln u1 is finite), u2 in [0, 1); both exact in f32.
        Returns (r cos t, r sin t) as dtp_core::noise::normal_pair does.
        """
        u1 = ((self.next_u32() >> 8) + 1) * 2.0 ** -24
        u2 = (self.next_u32() >> 8) * 2.0 ** -24
        r = math.sqrt(-2.0 * math.log(u1))
        t = 2.0 * math.pi * u2
        return r * math.cos(t), r * math.sin(t)

    def normal(self):
        """Box-Muller, cosine branch only (dtp_core::noise::standard_normal)."""
        return self.normal_pair()[0]

    def uniform(self):
        """dtp_core::noise::uniform: (next_u32 >> 8) 2^-24, exact in f32."""
        return (self.next_u32() >> 8) * 2.0 ** -24

    def normals(self, n):
        """n values in storage order as dtp_core::noise::add_gaussian draws them:
        pairs from normal_pair, an odd last one from normal."""
        out = []
        for _ in range(n // 2):
            out.extend(self.normal_pair())
        if n % 2:
            out.append(self.normal())
        return out


# Expected by a throwaway Rust program using rand_pcg 0.10 (cross-checked when
# this script was written): first 6 next_u32 of Pcg32::new(PCG_STATE, PCG_STREAM).
RUST_RAND_PCG_FIRST6 = [676697322, 420258633, 3418632178, 3595600211,
                        3265791279, 257272927]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def sq_loss(y, t):
    """mean over batch (columns) of sum over units (rows) of squared error."""
    return ((y - t) ** 2).sum(dim=0).mean()


def rmsprop_(theta, st, g, lr):
    """Centred RMSprop with momentum, in place on plain tensors (no autograd)."""
    st["a"] = RHO * st["a"] + (1 - RHO) * g
    st["s"] = RHO * st["s"] + (1 - RHO) * g * g
    st["v"] = MOMENTUM * st["v"] - lr * g / torch.sqrt(st["s"] - st["a"] ** 2 + EPS)
    return theta + st["v"]


def tolist(t):
    return t.detach().cpu().tolist()


def state_tolist(states):
    return {k: {n: tolist(v) for n, v in st.items()} for k, st in states.items()}


# --------------------------------------------------------------------------
# Initial data (numpy seed 1234; draw order documented here)
# --------------------------------------------------------------------------
def make_initial(case):
    N_IN, N_H, N_OUT, BATCH = case["n_in"], case["n_h"], case["n_out"], case["batch"]
    rng = np.random.default_rng(case["numpy_seed"])
    shapes = {
        "W1": (N_H, N_IN), "b1": (N_H,), "W2": (N_H, N_H), "b2": (N_H,),
        "W3": (N_H, N_H), "b3": (N_H,), "W4": (N_OUT, N_H), "b4": (N_OUT,),
        "V2": (N_H, N_H), "c2": (N_H,), "V3": (N_H, N_H), "c3": (N_H,),
    }
    # 1) parameters, in the order FWD_KEYS + INV_KEYS: W/V ~ N(0, 0.5^2),
    #    biases ~ N(0, 0.1^2).
    params = {}
    for k in FWD_KEYS + INV_KEYS:
        std = 0.5 if k[0] in "WV" else 0.1
        params[k] = rng.normal(0.0, std, size=shapes[k])
    # 2) optimiser state per tensor, same order: a ~ N(0, 0.1^2),
    #    s = a^2 + U(0.01, 0.1) (so s - a^2 > 0), v ~ N(0, 0.01^2).
    state = {}
    for k in FWD_KEYS + INV_KEYS:
        a = rng.normal(0.0, 0.1, size=shapes[k])
        s = a * a + rng.uniform(0.01, 0.1, size=shapes[k])
        v = rng.normal(0.0, 0.01, size=shapes[k])
        state[k] = {"a": a, "s": s, "v": v}
        if case.get("zero_state"):
            state[k] = {n: np.zeros(shapes[k]) for n in "asv"}
    # 3) input x ~ U(0, 1), shape (IN, B)
    x = rng.uniform(0.0, 1.0, size=(N_IN, BATCH))
    # 4) labels in [0, OUT); redraw until not all equal
    while True:
        labels = rng.integers(0, N_OUT, size=BATCH)
        if len(set(labels.tolist())) > 1:
            break
    T = lambda a: torch.tensor(a, dtype=torch.float64)
    params = {k: T(v) for k, v in params.items()}
    fwd_state = {k: {n: T(v) for n, v in state[k].items()} for k in FWD_KEYS}
    inv_state = {k: {n: T(v) for n, v in state[k].items()} for k in INV_KEYS}
    return params, fwd_state, inv_state, T(x), torch.tensor(labels.tolist())


class Draws:
    """The case's random numbers, drawn from one Pcg32 stream in the order of
    dtp_core's Trainer::step, and recorded for the fixture."""

    def __init__(self, rng, margin):
        self.rng, self.margin = rng, margin
        self.least = math.inf  # least |u - p| of any Bernoulli draw
        self.noise, self.samples = {}, {}

    def gaussian(self, name, shape, sigma):
        """sigma * N(0, 1) of the given (units, batch) shape, storage order
        (column by column, unit by unit); nothing drawn when sigma is 0."""
        rows, cols = shape
        e = torch.zeros(rows, cols)
        if sigma > 0:
            z = self.rng.normals(rows * cols)
            for b in range(cols):
                for k in range(rows):
                    e[k, b] = sigma * z[b * rows + k]
            self.noise[name] = e
        return e

    def bernoulli(self, name, p):
        """1 where uniform < p, else 0, storage order."""
        rows, cols = p.shape
        s = torch.zeros(rows, cols)
        for b in range(cols):
            for k in range(rows):
                u, q = self.rng.uniform(), p[k, b].item()
                self.least = min(self.least, abs(u - q))
                s[k, b] = 1.0 if u < q else 0.0
        self.samples[name] = s
        return s


# --------------------------------------------------------------------------
# The DTP step
# --------------------------------------------------------------------------
def global_loss(z4, labels):
    """L = mean_b -log softmax(z4)[label_b, b]; softmax over units (axis 0)."""
    logp = torch.log_softmax(z4, dim=0)
    return -logp[labels, torch.arange(z4.shape[1])].mean()


def dtp_step(case, params, fwd_state, inv_state, x, labels, draws):
    P = {k: v.clone() for k, v in params.items()}  # working copy
    stochastic = case["units"] == "bernoulli"
    act = torch.sigmoid if stochastic else torch.tanh
    g_inv = lambda i, h, V=None, c=None: torch.tanh(
        (P[f"V{i}"] if V is None else V) @ h + (P[f"c{i}"] if c is None else c)[:, None])
    # What layer i + 1 (or the output layer) reads from h_i: a sample, or h_i.
    read = (lambda name, h: draws.bernoulli(name, h)) if stochastic else (lambda name, h: h)
    rec = {}

    # ---- 1. forward pass (input noise on x first, as Trainer::forward) ----
    x = x + draws.gaussian("eps_x", tuple(x.shape), case["input_noise"])
    h, q = [x], [x]
    for i in (1, 2, 3):
        h.append(act(P[f"W{i}"] @ q[i - 1] + P[f"b{i}"][:, None]))
        q.append(read(f"s{i}", h[i]))
    z4 = P["W4"] @ q[3] + P["b4"][:, None]
    p = torch.softmax(z4, dim=0)
    L = global_loss(z4, labels)
    rec["forward"] = {"h1": tolist(h[1]), "h2": tolist(h[2]), "h3": tolist(h[3]),
                      "p": tolist(p), "loss": L.item()}
    if case["input_noise"] > 0:
        rec["forward"]["x_noisy"] = tolist(x)

    # ---- 2. inverse step (corrupted activations, reconstruction loss) ----
    inv_losses, inv_grads = {}, {}
    for i in (2, 3):
        h_tilde = (h[i - 1] + draws.gaussian(f"eps{i}", tuple(h[i - 1].shape),
                                             case["sigma"])).detach()
        y = act(P[f"W{i}"] @ read(f"s_tilde{i - 1}", h_tilde) + P[f"b{i}"][:, None]).detach()
        V = P[f"V{i}"].clone().requires_grad_(True)
        c = P[f"c{i}"].clone().requires_grad_(True)
        loss = sq_loss(g_inv(i, y, V, c), h_tilde)
        loss.backward()
        inv_losses[i] = loss.item()
        inv_grads[f"V{i}"], inv_grads[f"c{i}"] = V.grad.clone(), c.grad.clone()
    # update after both gradients (they are independent anyway)
    for k in INV_KEYS:
        P[k] = rmsprop_(P[k], inv_state[k], inv_grads[k], case["lr_inv"])
    rec["inverse"] = {"loss2": inv_losses[2], "loss3": inv_losses[3],
                      "grad": {k: tolist(inv_grads[k]) for k in INV_KEYS}}

    # ---- 3. targets with the UPDATED inverses ----------------------------
    # The gradient is taken at what the output layer read (the sample, for
    # Bernoulli units) and applied to h_3.
    q3 = q[3].detach().clone().requires_grad_(True)
    L_q3 = global_loss(P["W4"] @ q3 + P["b4"][:, None], labels)
    (dL_dq3,) = torch.autograd.grad(L_q3, q3)  # batch-mean L => per-column /B
    h3_hat = (h[3] - case["eta_hat"] * dL_dq3).detach()
    # The difference g(h_hat) - g(h) is formed FIRST, then added: this makes
    # the identity h3_hat == h3  =>  h2_hat == h2 hold exactly in floating
    # point ((h2 + a) - a is not bit-exact), and is the better-conditioned order.
    # The inverses read h (the probabilities, for Bernoulli units).
    h2_hat = (h[2] + (g_inv(3, h3_hat) - g_inv(3, h[3]))).detach()
    h1_hat = (h[1] + (g_inv(2, h2_hat) - g_inv(2, h[2]))).detach()
    targets = {1: h1_hat, 2: h2_hat, 3: h3_hat}
    rec["targets"] = {"h3_hat": tolist(h3_hat), "h2_hat": tolist(h2_hat),
                      "h1_hat": tolist(h1_hat)}

    # Difference-target identity: with h3_hat = h3, h2_hat must be h2 exactly.
    ident = h[2] + (g_inv(3, h[3]) - g_inv(3, h[3]))
    assert torch.equal(ident, h[2]), "difference-target identity broken"

    # ---- 4. forward step ---------------------------------------------------
    # Layer i trains on what it read in the forward pass (x with its noise,
    # the sample of h_{i-1}); the output layer on L with q(h_3) held.
    fwd_grads, local = {}, {}
    for i in (1, 2, 3):
        W = P[f"W{i}"].clone().requires_grad_(True)
        b = P[f"b{i}"].clone().requires_grad_(True)
        hin = q[i - 1].detach()
        loss = sq_loss(act(W @ hin + b[:, None]), targets[i])
        loss.backward()
        local[i] = loss.item()
        fwd_grads[f"W{i}"], fwd_grads[f"b{i}"] = W.grad.clone(), b.grad.clone()
    W4 = P["W4"].clone().requires_grad_(True)
    b4 = P["b4"].clone().requires_grad_(True)
    global_loss(W4 @ q[3].detach() + b4[:, None], labels).backward()
    fwd_grads["W4"], fwd_grads["b4"] = W4.grad.clone(), b4.grad.clone()
    for k in FWD_KEYS:
        P[k] = rmsprop_(P[k], fwd_state[k], fwd_grads[k], case["lr_f"])
    rec["local_loss"] = {"l1": local[1], "l2": local[2], "l3": local[3]}
    rec["grad_forward"] = {k: tolist(fwd_grads[k]) for k in FWD_KEYS}

    # ---- sanity checks -----------------------------------------------------
    all_losses = [L.item(), inv_losses[2], inv_losses[3], *local.values()]
    assert all(math.isfinite(v) for v in all_losses), all_losses
    assert all(v > 0 for v in local.values()), local
    return P, rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="path of the JSON fixture")
    ap.add_argument("--case", default="small", choices=sorted(CASES))
    args = ap.parse_args()
    case = CASES[args.case]

    # Pcg32 port self-check against rand_pcg's own output.
    r = Pcg32(PCG_STATE, PCG_STREAM)
    first6 = [r.next_u32() for _ in range(6)]
    assert first6 == RUST_RAND_PCG_FIRST6, first6

    # The first stream state (from PCG_STATE up) whose Bernoulli draws all lie
    # at least BERNOULLI_MARGIN from their probabilities (always the first for
    # cases without Bernoulli units).
    for attempt in range(1000):
        state = (PCG_STATE + attempt) & MASK64
        params, fwd_state, inv_state, x, labels = make_initial(case)
        draws = Draws(Pcg32(state, PCG_STREAM), BERNOULLI_MARGIN)
        P, rec = dtp_step(case, params, fwd_state, inv_state, x, labels, draws)
        if draws.least >= BERNOULLI_MARGIN:
            break
    else:
        raise SystemExit("no stream state with every sample clear of its probability")

    small = args.case == "small"
    N_IN, N_H, N_OUT, BATCH = case["n_in"], case["n_h"], case["n_out"], case["batch"]
    units = {"tanh": "tanh/softmax", "bernoulli": "sigmoid-Bernoulli/softmax"}[case["units"]]
    fixture = {
        "description": f"One DTP step (inverse update then forward update) on a "
                       f"{N_IN}-{N_H}-{N_H}-{N_H}-{N_OUT} {units} net, batch {BATCH}"
                       + ("" if small else f", input noise {case['input_noise']}")
                       + "; float64 PyTorch "
                       "autograd reference from tests/parity/dtp_step_torch.py. "
                       "Matrices are lists of rows, activations are (units, batch).",
        "torch_version": torch.__version__,
        "sizes": {"in": N_IN, "hidden": N_H, "out": N_OUT,
                  "hidden_layers": N_HIDDEN_LAYERS, "batch": BATCH},
        "hyper": {"eta_hat": case["eta_hat"], "lr_f": case["lr_f"],
                  "lr_inv": case["lr_inv"], "sigma": case["sigma"], "rho": RHO,
                  "momentum": MOMENTUM, "eps": EPS},
        # u64 seeds as decimal strings: JSON numbers > 2^53 lose precision.
        "rng": {"state": str(state), "stream": str(PCG_STREAM)},
        "noise_u32_first6": first6,
        "x": tolist(x),
        "labels": labels.tolist(),
        "params_before": {k: tolist(params[k]) for k in FWD_KEYS + INV_KEYS},
        "state_before": {"forward": state_tolist(fwd_state),
                         "inverse": state_tolist(inv_state)},
        "noise": {k: tolist(v) for k, v in draws.noise.items()},
    }
    if not small:
        fixture["case"] = args.case
        fixture["units"] = case["units"]
        fixture["hyper"]["input_noise"] = case["input_noise"]
        fixture["samples"] = {k: tolist(v) for k, v in draws.samples.items()}
        fixture["bernoulli_least_margin"] = (None if math.isinf(draws.least)
                                             else draws.least)
        # The stream's next draw after the step: the step drew exactly as many.
        fixture["next_u32_after_step"] = draws.rng.next_u32()
    # make_initial's state dicts were updated in place by dtp_step: the "before"
    # state above must come from a fresh copy.
    _, fwd0, inv0, _, _ = make_initial(case)
    fixture["state_before"] = {"forward": state_tolist(fwd0),
                               "inverse": state_tolist(inv0)}
    fixture.update(rec)
    fixture["params_after"] = {k: tolist(P[k]) for k in FWD_KEYS + INV_KEYS}
    fixture["state_after"] = {"forward": state_tolist(fwd_state),
                              "inverse": state_tolist(inv_state)}
    with open(args.out, "w") as f:
        if small:
            json.dump(fixture, f, indent=1)
        else:
            json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out}: L={rec['forward']['loss']:.6f} "
          f"inv=({rec['inverse']['loss2']:.6f}, {rec['inverse']['loss3']:.6f}) "
          f"local={[round(v, 6) for v in rec['local_loss'].values()]}"
          + ("" if math.isinf(draws.least) else
             f" least |u - p| {draws.least:.2e} (stream state {state})"))


if __name__ == "__main__":
    main()
