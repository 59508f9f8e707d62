#!/usr/bin/env python3
"""Independent PyTorch reference for one DTP step of a CONVOLUTIONAL net.

The network of tests/tests/conv.rs's small trainer, 1x6x6-c3k3s1p1-c4k3s2p1-12-5:
two tanh convolutions (torch.nn.functional.conv2d), a tanh dense layer, a
softmax output; inverses g_2 (a transposed convolution with its own weights
and a bias per channel, torch.nn.functional.conv_transpose2d) and g_3 (dense,
tanh). Batch 4, float64, weights drawn here (numpy, seeded). Written to
tests/fixtures/conv_step.json; tests/tests/conv_parity.rs loads it into a
dtp_core ConvTrainer and compares (the Rust side computes in f32).

Everything is differentiated by torch autograd; nothing by hand:
  * forward: h_i = tanh(f_i(h_{i-1})), p = softmax(W_4 h_3 + b_4),
    L = mean_b -log p[label_b, b];
  * top target: t_3 = h_3 - eta_hat dL/dh_3 (autograd of L);
  * difference targets: t_{i-1} = h_{i-1} + g_i(t_i) - g_i(h_i), i = 3, 2;
  * forward gradients: of (1/B) sum_b ||tanh(f_i(h_{i-1})) - t_i||^2 in
    (W_i, b_i), h_{i-1} and t_i held constant (detached); of L for the output
    layer;
  * inverse gradients: of (1/B) sum_b ||g_i(f_i(h_{i-1})) - h_{i-1}||^2 in
    (V_i, c_i), f_i(h_{i-1}) held constant: the reconstruction loss at
    sigma = 0 (the noise's stream is dtp_core's and is tested with the dense
    fixture; here the convolution's maps are).

Layouts (as dtp_core's): an activation matrix is (units, batch), a sample's
units in torch's flatten order (channel, row, column); a convolution's weight
is (C', C*k*k), torch's weight reshaped; a transposed convolution's is
(C*k*k, C'), the transpose of torch's (C', C, k, k) weight reshaped. Matrices
in the JSON are lists of rows.

With --local, the same net with both convolutions LOCALLY CONNECTED,
1x6x6-l3k3s1p1-l4k3s2p1-12-5 (tests/tests/common/conv_nets.rs's SMALL_LOCAL),
written to tests/fixtures/local_step.json. A locally connected layer is built
here from torch primitives, independently of dtp_core: patches by F.unfold
(B, K, P), then z[b, o, q] = sum_r W[q, o, r] patches[b, r, q] + bias[o, q]
(torch.einsum; W of shape (P, C', K), a bias per output unit (C', P)). Its
inverse g_2 is the transpose with its own weights: per-position V of shape
(P, K, C') gives columns (B, K, P) = V_q h_q, summed back into the image by
F.fold (col2im, overlapping patches added), plus a bias per input unit
(C, H, W), then tanh. Layouts in the JSON (dtp_core's Kind::Local and
Kind::LocalTranspose): a local layer's weight is the C' x (P*K) matrix whose
element (o, q*K + r) is W[q, o, r], its bias the (C', P) values flattened
(unit o*P + q); the transpose's weight is the K x (P*C') matrix whose element
(r, q*C' + o) is V[q, r, o], its bias the C*H*W values flattened. The draw
order of the default case is unchanged (its output is byte-identical to the
script before --local existed).

Usage:
    python3 tests/parity/conv_step_torch.py --out tests/fixtures/conv_step.json
    python3 tests/parity/conv_step_torch.py --local --out tests/fixtures/local_step.json
Needs torch and numpy. CI does not run this; only the committed JSON is used.
"""
import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

B, ETA_HAT = 4, 0.5
IMAGE = (1, 6, 6)
CONVS = [dict(out=3, k=3, s=1, p=1), dict(out=4, k=3, s=2, p=1)]
DENSE = [12, 5]


def rows(t):
    return [[float(v) for v in r] for r in t.detach().numpy()]


def flat(t):
    return [float(v) for v in t.detach().numpy().reshape(-1)]


def local_layer(img, weight, bias, k, s, p):
    """A locally connected layer's affine map on images (B, C, H, W): patches (B, K, P) by
    F.unfold, z[b, o, q] = sum_r weight[q, o, r] patches[b, r, q] + bias[o, q]; (B, C', P)."""
    patches = F.unfold(img, k, padding=p, stride=s)
    return torch.einsum("qok,bkq->boq", weight, patches) + bias


def local_transpose(units, weight, bias, size, k, s, p):
    """Its transpose on units (B, C', P): columns (B, K, P) = V_q h_q with weight[q] = V_q
    (K x C'), summed into images of size (H, W) by F.fold (col2im), plus bias (C, H, W)."""
    columns = torch.einsum("qko,boq->bkq", weight, units)
    return F.fold(columns, size, k, padding=p, stride=s) + bias


def check_local_maps(conv, shape_in, shape_out):
    """Sanity check of local_layer and local_transpose: with one weight shared by every
    position (no bias) they must be conv2d and conv_transpose2d. Draws from its own
    generator (the fixture's draws are unaffected)."""
    gen = torch.Generator().manual_seed(0)
    (c, h, w), (c2, h2, w2) = shape_in, shape_out
    k, s, p = conv["k"], conv["s"], conv["p"]
    kernel = torch.randn(c2, c, k, k, generator=gen)
    img = torch.randn(3, c, h, w, generator=gen)
    shared = kernel.reshape(1, c2, -1).expand(h2 * w2, -1, -1)
    local = local_layer(img, shared, 0.0, k, s, p).reshape(3, c2, h2, w2)
    conv_ref = F.conv2d(img, kernel, stride=s, padding=p)
    assert torch.allclose(local, conv_ref, atol=1e-12), "local forward is not conv2d"
    units = torch.randn(3, c2, h2 * w2, generator=gen)
    shared_t = kernel.reshape(c2, -1).T.reshape(1, c * k * k, c2).expand(h2 * w2, -1, -1)
    back = local_transpose(units, shared_t, 0.0, (h, w), k, s, p)
    full = (h2 - 1) * s - 2 * p + k
    ref = F.conv_transpose2d(units.reshape(3, c2, h2, w2), kernel, stride=s, padding=p,
                             output_padding=h - full)
    assert torch.allclose(back, ref, atol=1e-12), "local transpose is not conv_transpose2d"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--local", action="store_true",
                    help="locally connected layers for both convolutions")
    args = ap.parse_args()
    rng = np.random.RandomState(args.seed)

    def draw(*shape, scale=0.5):
        return torch.tensor(rng.normal(0.0, scale, size=shape), requires_grad=True)

    # Forward layers.
    shapes = [IMAGE]
    f = []
    c, h, w = IMAGE
    for conv in CONVS:
        h_out = (h + 2 * conv["p"] - conv["k"]) // conv["s"] + 1
        w_out = (w + 2 * conv["p"] - conv["k"]) // conv["s"] + 1
        if args.local:
            # W[q] (C' x K) per output position q, a bias per output unit (C', P).
            positions, patch = h_out * w_out, c * conv["k"] * conv["k"]
            weight = draw(positions, conv["out"], patch)
            bias = draw(conv["out"], positions, scale=0.1)
            f.append(dict(kind="local", w=weight, b=bias, **conv, inp=(c, h, w)))
        else:
            weight = draw(conv["out"], c, conv["k"], conv["k"])
            bias = draw(conv["out"], scale=0.1)
            f.append(dict(kind="conv", w=weight, b=bias, **conv, inp=(c, h, w)))
        h, w = h_out, w_out
        c = conv["out"]
        shapes.append((c, h, w))
    width = c * h * w
    for units in DENSE:
        f.append(dict(kind="dense", w=draw(units, width), b=draw(units, scale=0.1)))
        width = units
    # Inverses g_2 (of the second convolution) and g_3 (of the dense layer).
    c1, c2 = CONVS[0]["out"], CONVS[1]["out"]
    k2 = CONVS[1]["k"]
    if args.local:
        # V[q] (K x C') per position of the second layer, a bias per unit of its input.
        g2_torch = draw(shapes[2][1] * shapes[2][2], c1 * k2 * k2, c2)
        g2_bias = draw(*shapes[1], scale=0.1)
    else:
        g2_torch = draw(c2, c1, k2, k2)  # conv_transpose2d's (in = C', out = C, k, k)
        g2_bias = draw(c1, scale=0.1)
    width2 = c2 * shapes[2][1] * shapes[2][2]
    g3_w, g3_b = draw(width2, DENSE[0]), draw(width2, scale=0.1)

    x = torch.tensor(rng.uniform(-1.0, 1.0, size=(B,) + IMAGE))
    labels = [int(v) for v in rng.randint(0, DENSE[-1], size=B)]
    onehot = torch.zeros(B, DENSE[-1])
    onehot[torch.arange(B), torch.tensor(labels)] = 1.0

    def f_apply(i, inp):
        """f_i (1-based) on a (B, ...) input, before the activation, flattened."""
        layer = f[i - 1]
        if layer["kind"] == "conv":
            img = inp.reshape((B,) + layer["inp"])
            z = F.conv2d(img, layer["w"], layer["b"], stride=layer["s"], padding=layer["p"])
            return z.reshape(B, -1)
        if layer["kind"] == "local":
            img = inp.reshape((B,) + layer["inp"])
            z = local_layer(img, layer["w"], layer["b"], layer["k"], layer["s"], layer["p"])
            return z.reshape(B, -1)
        return inp.reshape(B, -1) @ layer["w"].T + layer["b"]

    def g2_local(hh):
        conv = CONVS[1]
        units = hh.reshape(B, shapes[2][0], -1)  # (B, C', P)
        img = local_transpose(units, g2_torch, g2_bias, shapes[1][1:], conv["k"], conv["s"],
                              conv["p"])
        return torch.tanh(img.reshape(B, -1))

    def g2(hh):
        if args.local:
            return g2_local(hh)
        conv = CONVS[1]
        img = hh.reshape((B,) + shapes[2])
        full = (shapes[2][1] - 1) * conv["s"] - 2 * conv["p"] + conv["k"]
        out = F.conv_transpose2d(
            img, g2_torch, g2_bias, stride=conv["s"], padding=conv["p"],
            output_padding=shapes[1][1] - full)
        return torch.tanh(out.reshape(B, -1))

    def g3(hh):
        return torch.tanh(hh @ g3_w.T + g3_b)

    g = {2: g2, 3: g3}

    if args.local:
        check_local_maps(CONVS[1], shapes[1], shapes[2])

    # Step 1: forward pass.
    hs = []
    inp = x.reshape(B, -1)
    for i in (1, 2, 3):
        inp = torch.tanh(f_apply(i, inp))
        hs.append(inp)
    logits = f_apply(4, hs[2])
    p = torch.softmax(logits, dim=1)
    loss = -(torch.log(p) * onehot).sum(dim=1).mean()

    # Step 2: top target.
    (dl_dh3,) = torch.autograd.grad(loss, hs[2], retain_graph=True)
    t3 = (hs[2] - ETA_HAT * dl_dh3).detach()
    # Step 3: difference targets.
    h1, h2, h3 = (v.detach() for v in hs)
    t2 = (h2 + (g3(t3) - g3(h3))).detach()
    t1 = (h1 + (g2(t2) - g2(h2))).detach()
    targets = [t1, t2, t3]

    # Step 5: forward gradients.
    grads_f, local = [], []
    below = [x.reshape(B, -1).detach(), h1, h2]
    for i in (1, 2, 3):
        out = torch.tanh(f_apply(i, below[i - 1]))
        li = ((out - targets[i - 1]) ** 2).sum() / B
        gw, gb = torch.autograd.grad(li, [f[i - 1]["w"], f[i - 1]["b"]])
        grads_f.append((gw, gb))
        local.append(float(li.detach()))
    out_loss = -(torch.log(torch.softmax(f_apply(4, h3), dim=1)) * onehot).sum(dim=1).mean()
    grads_f.append(tuple(torch.autograd.grad(out_loss, [f[3]["w"], f[3]["b"]])))

    # Step 4 at sigma = 0: inverse gradients.
    grads_g, recon = {}, {}
    for i, (params) in ((2, [g2_torch, g2_bias]), (3, [g3_w, g3_b])):
        hb = [h1, h2][i - 2]
        fo = torch.tanh(f_apply(i, hb)).detach()
        li = ((g[i](fo) - hb) ** 2).sum() / B
        grads_g[i] = torch.autograd.grad(li, params)
        recon[i] = float(li.detach())

    def weight_rows(i, t):
        """A forward weight (or its gradient) in dtp_core's (out, in) layout; a local
        layer's (P, C', K) as C' x (P*K), element (o, q*K + r) = t[q, o, r]."""
        if f[i]["kind"] == "local":
            return rows(t.permute(1, 0, 2).reshape(t.shape[1], -1))
        return rows(t.reshape(t.shape[0], -1))

    def g2_rows(t):
        """g_2's weight (or gradient): (C*k*k, C') = torch's reshaped, transposed; a local
        transpose's (P, K, C') as K x (P*C'), element (r, q*C' + o) = t[q, r, o]."""
        if args.local:
            return rows(t.permute(1, 0, 2).reshape(t.shape[1], -1))
        return rows(t.reshape(t.shape[0], -1).T)

    net = "1x6x6-l3k3s1p1-l4k3s2p1-12-5" if args.local else "1x6x6-c3k3s1p1-c4k3s2p1-12-5"

    fixture = {
        "about": f"conv_step_torch.py: one DTP step of {net}, batch {B}",
        "eta_hat": ETA_HAT,
        "batch": B,
        "x": rows(x.reshape(B, -1).T),
        "labels": labels,
        "f": [{"w": weight_rows(i, l["w"]), "b": flat(l["b"])} for i, l in enumerate(f)],
        "g": [{"w": g2_rows(g2_torch), "b": flat(g2_bias)}, {"w": rows(g3_w), "b": flat(g3_b)}],
        "h": [rows(v.T) for v in (h1, h2, h3)],
        "p": rows(p.T),
        "loss": float(loss.detach()),
        "targets": [rows(v.T) for v in targets],
        "grad_f": [{"w": weight_rows(i, gw), "b": flat(gb)} for i, (gw, gb) in enumerate(grads_f)],
        "local_loss": local,
        "grad_g": [{"w": g2_rows(grads_g[2][0]), "b": flat(grads_g[2][1])},
                   {"w": rows(grads_g[3][0]), "b": flat(grads_g[3][1])}],
        "inverse_loss": [recon[2], recon[3]],
    }
    with open(args.out, "w") as fh:
        json.dump(fixture, fh, indent=None)
        fh.write("\n")


if __name__ == "__main__":
    main()
