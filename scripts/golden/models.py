"""Golden values for src/models: PyTorch forward passes with fixed weights, in the library's layouts.

Layouts written to JSON (what the TypeScript models store):
- dense kernel [in, out] (= torch Linear.weight.T), conv kernel [k, k, in, out] (= torch Conv2d.weight
  permuted (2, 3, 1, 0)), images NHWC (= torch NCHW permuted (0, 2, 3, 1)).

Cases:
- linear: x @ W + b.
- cosine: s * normalize(x) @ normalize(W, dim=0)  (LDAM NormedLinear with scale s).
- mlp_bn: Linear -> BatchNorm1d -> ReLU, twice; train-mode output, running stats after that step, then
  the eval-mode output with the updated running stats.
- cnn: [Conv2d 3x3 pad 1 (no bias) -> BatchNorm2d -> ReLU -> MaxPool 2] x 2 -> global average pool; the
  same train / running / eval triple; plus the 'flatten' features (NHWC order) and an avg-pool variant.
- projection: SAU contrast head (Linear -> BN -> ReLU) x 2 -> Linear, then F.normalize, train mode.

Run: /usr/bin/python3 scripts/golden/models.py  (writes test/golden/models.json)
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(0)


def arr(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def flat(t):
    if isinstance(t, torch.Tensor):
        t = t.detach().numpy()
    return np.asarray(t, dtype=np.float64).flatten().tolist()


def bn_params(c):
    return arr(c, scale=0.3) + 1.0, arr(c, scale=0.3)


out = {}

# Linear and cosine heads.
x = arr(5, 4)
W = arr(4, 3)
b = arr(3)
out["linear"] = {"x": flat(x), "kernel": flat(W), "bias": flat(b), "logits": flat(torch.from_numpy(x) @ torch.from_numpy(W) + torch.from_numpy(b))}
xs = x.copy()
xs[4] = 0.0  # a zero feature row: logits must be 0
s = 16.0
cos = s * (F.normalize(torch.from_numpy(xs), dim=1) @ F.normalize(torch.from_numpy(W), dim=0))
out["cosine"] = {"x": flat(xs), "kernel": flat(W), "scale": s, "logits": flat(cos)}


def bn_train(h, gamma, beta, rm, rv, momentum=0.1, eps=1e-5):
    bn = torch.nn.BatchNorm1d(h.shape[1], momentum=momentum, eps=eps) if h.dim() == 2 else torch.nn.BatchNorm2d(h.shape[1], momentum=momentum, eps=eps)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
        bn.running_mean.copy_(torch.from_numpy(rm))
        bn.running_var.copy_(torch.from_numpy(rv))
    return bn


# MLP with batch norm: 6 -> 5 -> 4.
x = arr(7, 6)
sizes = [6, 5, 4]
layers = []
for i in range(2):
    k = arr(sizes[i], sizes[i + 1], scale=0.5)
    g, be = bn_params(sizes[i + 1])
    rm = arr(sizes[i + 1], scale=0.1)
    rv = np.abs(arr(sizes[i + 1])) + 0.5
    layers.append(dict(kernel=k, gamma=g, beta=be, rm=rm, rv=rv))


def mlp_run(x, layers, bns, train):
    h = torch.from_numpy(x)
    for L, bn in zip(layers, bns):
        bn.train(train)
        h = F.relu(bn(h @ torch.from_numpy(L["kernel"])))
    return h


bns = [bn_train(torch.zeros(2, L["kernel"].shape[1]), L["gamma"], L["beta"], L["rm"], L["rv"]) for L in layers]
with torch.no_grad():
    y_train = mlp_run(x, layers, bns, True)
    y_eval = mlp_run(x, layers, bns, False)
out["mlp_bn"] = {
    "x": flat(x),
    "sizes": sizes,
    "layers": [{k: flat(v) for k, v in L.items()} for L in layers],
    "train": flat(y_train),
    "runningMean": [flat(bn.running_mean) for bn in bns],
    "runningVar": [flat(bn.running_var) for bn in bns],
    "evalAfter": flat(y_eval),
}

# CNN: input NHWC [3, 6, 6, 2], channels [3, 4].
x_nhwc = arr(3, 6, 6, 2)
chans = [2, 3, 4]
convs = []
for i in range(2):
    k_hwio = arr(3, 3, chans[i], chans[i + 1], scale=0.4)
    g, be = bn_params(chans[i + 1])
    convs.append(dict(kernel=k_hwio, gamma=g, beta=be, rm=np.zeros(chans[i + 1], np.float32), rv=np.ones(chans[i + 1], np.float32)))


def cnn_run(x_nhwc, convs, bns, train, pool="max"):
    h = torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)
    for L, bn in zip(convs, bns):
        bn.train(train)
        w = torch.from_numpy(L["kernel"]).permute(3, 2, 0, 1)
        h = F.relu(bn(F.conv2d(h, w, padding=1)))
        h = F.max_pool2d(h, 2) if pool == "max" else F.avg_pool2d(h, 2)
    return h


with torch.no_grad():
    bns = [bn_train(torch.zeros(2, L["gamma"].shape[0], 1, 1), L["gamma"], L["beta"], L["rm"], L["rv"]) for L in convs]
    fmap = cnn_run(x_nhwc, convs, bns, True)
    train_gap = fmap.mean(dim=(2, 3))
    train_flat = fmap.permute(0, 2, 3, 1).reshape(fmap.shape[0], -1)
    eval_gap = cnn_run(x_nhwc, convs, bns, False).mean(dim=(2, 3))
    running_mean = [flat(bn.running_mean) for bn in bns]
    running_var = [flat(bn.running_var) for bn in bns]
    bns_avg = [bn_train(torch.zeros(2, L["gamma"].shape[0], 1, 1), L["gamma"], L["beta"], L["rm"], L["rv"]) for L in convs]
    train_avgpool_gap = cnn_run(x_nhwc, convs, bns_avg, True, pool="avg").mean(dim=(2, 3))
out["cnn"] = {
    "x": flat(x_nhwc),
    "inputShape": [6, 6, 2],
    "channels": chans[1:],
    "layers": [{k: flat(v) for k, v in L.items()} for L in convs],
    "trainGap": flat(train_gap),
    "trainFlatten": flat(train_flat),
    "runningMean": running_mean,
    "runningVar": running_var,
    "evalAfterGap": flat(eval_gap),
    "trainAvgPoolGap": flat(train_avgpool_gap),
}

# SAU projection head on features [6, 5]: 5 -> 8 -> 8 -> 3, BN after the hidden layers.
feats = arr(6, 5)
dims = [5, 8, 8, 3]
proj = []
for i in range(3):
    # Hidden layers have no bias: batch norm's beta replaces it (the library's layout).
    L = dict(kernel=arr(dims[i], dims[i + 1], scale=0.5))
    if i < 2:
        L["gamma"], L["beta"] = bn_params(dims[i + 1])
    else:
        L["bias"] = arr(dims[i + 1], scale=0.1)
    proj.append(L)
with torch.no_grad():
    h = torch.from_numpy(feats)
    for i, L in enumerate(proj):
        h = h @ torch.from_numpy(L["kernel"])
        if i < 2:
            bn = bn_train(h, L["gamma"], L["beta"], np.zeros(dims[i + 1], np.float32), np.ones(dims[i + 1], np.float32))
            bn.train(True)
            h = F.relu(bn(h))
        else:
            h = h + torch.from_numpy(L["bias"])
    z = F.normalize(h, dim=1)
out["projection"] = {"features": flat(feats), "dims": dims, "layers": [{k: flat(v) for k, v in L.items()} for L in proj], "train": flat(z)}

path = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "models.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
