"""Golden values for DisAlign and MARC, the decoupled recipe's calibrated second stages.
Run: /usr/bin/python3 scripts/golden/calibration.py  ->  test/golden/calibration.json

Transcriptions of the official modules (read, not copied):
- DisAlign (Zhang et al., CVPR 2021; Megvii-BaseDetection/DisAlign, cvpods `DisAlignLinear.forward`):
    logit_before = F.linear(x, W, b); confidence = confidence_layer(x).sigmoid()
    logit_after = (1 + confidence * logit_scale) * logit_before + confidence * logit_bias
- MARC (Wang et al., ACML 2022; microsoft/robustlearn marc/models/MARCClassifier.py `MARCLinear.forward`):
    with no_grad: logit_before = fc(x); w_norm = norm(fc.weight, dim=1)
    logit_after = a * logit_before + b * w_norm
- GRW loss (cvpods / robustlearn `GRWCrossEntropyLoss`): ratio = n / sum(n); w = 1 / ratio ** exp_scale;
  w = w / sum(w) * num_classes; F.cross_entropy(logits, y, weight=w) (weighted mean).
Values: forward outputs and autograd gradients on fixed inputs with non-trivial parameters, and two plain
SGD steps (lr 0.5) of each calibration from its official initial values on a frozen golden head, the GRW
counts being the batch's label counts. All inputs are float32 values (what a tfjs tensor holds); the maths
runs in float64."""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'calibration.json')
rng = np.random.default_rng(2021)
D, C, N = 5, 4, 8
RHO = 1.2
LR = 0.5


def f32(a):
    return np.asarray(a, dtype=np.float32)


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


W = f32(rng.normal(size=(D, C)) * np.array([2.0, 1.0, 0.6, 0.3]))  # [D, C], column c = w_c
b = f32(rng.normal(size=C) * 0.3)
X = f32(rng.normal(size=(N, D)))
y = np.array([0, 0, 0, 1, 1, 2, 3, 0])


def grw_weights(counts, exp_scale):
    num_shots = np.array(counts, dtype=np.float64)
    ratio = num_shots / np.sum(num_shots)
    w = 1 / (ratio ** exp_scale)
    return w / np.sum(w) * len(counts)


class DisAlignLinear(torch.nn.Module):
    def __init__(self, weight, bias, conf_w, conf_b, scale, logit_bias):
        super().__init__()
        self.weight = t64(weight.T)  # nn.Linear layout [C, D], frozen
        self.bias = t64(bias)
        self.conf_w = torch.nn.Parameter(t64(conf_w).reshape(1, -1))
        self.conf_b = torch.nn.Parameter(t64(conf_b).reshape(1))
        self.logit_scale = torch.nn.Parameter(t64(scale).reshape(1, -1))
        self.logit_bias = torch.nn.Parameter(t64(logit_bias).reshape(1, -1))

    def params(self):
        return [self.logit_scale, self.logit_bias, self.conf_w, self.conf_b]

    def forward(self, x):
        logit_before = F.linear(x, self.weight, self.bias)
        confidence = F.linear(x, self.conf_w, self.conf_b).sigmoid()
        return (1 + confidence * self.logit_scale) * logit_before + confidence * self.logit_bias


class MARCLinear(torch.nn.Module):
    def __init__(self, weight, bias, a, bb):
        super().__init__()
        self.weight = t64(weight.T)
        self.bias = t64(bias)
        self.a = torch.nn.Parameter(t64(a).reshape(1, -1))
        self.b = torch.nn.Parameter(t64(bb).reshape(1, -1))

    def params(self):
        return [self.a, self.b]

    def forward(self, x):
        with torch.no_grad():
            logit_before = F.linear(x, self.weight, self.bias)
            w_norm = torch.norm(self.weight, dim=1)
        return self.a * logit_before + self.b * w_norm


counts = np.bincount(y, minlength=C)
weights = grw_weights(counts, RHO)
yt = torch.tensor(y)


def grw_loss(out):
    return F.cross_entropy(out, yt, weight=t64(weights))


def flat(p):
    return p.detach().numpy().reshape(-1).tolist()


# Forward values and gradients with non-trivial parameters (gradient of sum(out * G) for a fixed G, and of
# the GRW loss).
G = f32(rng.normal(size=(N, C)))
dis_p = dict(scale=f32(rng.normal(size=C) * 0.5 + 1), bias=f32(rng.normal(size=C) * 0.5),
             confidenceKernel=f32(rng.normal(size=D) * 0.3), confidenceBias=f32([0.25]))
marc_p = dict(omega=f32(rng.normal(size=C) * 0.3 + 1), beta=f32(rng.normal(size=C) * 0.5))
Xt = t64(X)
Z = (Xt @ t64(W) + t64(b)).numpy()


def values_and_grads(mod):
    out = mod(Xt)
    g = torch.autograd.grad((out * t64(G)).sum(), mod.params())
    loss = grw_loss(mod(Xt))
    lg = torch.autograd.grad(loss, mod.params())
    return out.detach().numpy().tolist(), [x.numpy().reshape(-1).tolist() for x in g], float(loss), [x.numpy().reshape(-1).tolist() for x in lg]


dis = DisAlignLinear(W, b, dis_p['confidenceKernel'], dis_p['confidenceBias'], dis_p['scale'], dis_p['bias'])
dis_out, dis_g, dis_loss, dis_lg = values_and_grads(dis)
marc = MARCLinear(W, b, marc_p['omega'], marc_p['beta'])
marc_out, marc_g, marc_loss, marc_lg = values_and_grads(marc)


def sgd(mod):
    losses, states = [], []
    for _ in range(2):
        loss = grw_loss(mod(Xt))
        g = torch.autograd.grad(loss, mod.params())
        losses.append(float(loss))
        with torch.no_grad():
            for p, gp in zip(mod.params(), g):
                p -= LR * gp
        states.append([flat(p) for p in mod.params()])
    return losses, states


CONF_B0 = -0.2
dis_train = DisAlignLinear(W, b, np.full(D, 0.1, dtype=np.float32), f32([CONF_B0]), np.ones(C), np.zeros(C))
dis_losses, dis_states = sgd(dis_train)
marc_train = MARCLinear(W, b, np.ones(C), np.zeros(C))
marc_losses, marc_states = sgd(marc_train)

out = {
    'D': D, 'C': C, 'rho': RHO, 'learningRate': LR,
    'kernel': W.tolist(), 'bias': b.tolist(), 'x': X.tolist(), 'labels': y.tolist(), 'G': G.tolist(),
    'logits': Z.tolist(),
    'grwWeights': weights.tolist(), 'counts': counts.tolist(),
    'disalign': {'params': {k: v.tolist() for k, v in dis_p.items()}, 'out': dis_out, 'grads': dis_g, 'loss': dis_loss, 'lossGrads': dis_lg,
                 'confidenceBias0': CONF_B0, 'steps': {'losses': dis_losses, 'states': dis_states}},
    'marc': {'params': {k: v.tolist() for k, v in marc_p.items()}, 'out': marc_out, 'grads': marc_g, 'loss': marc_loss, 'lossGrads': marc_lg,
             'steps': {'losses': marc_losses, 'states': marc_states}},
}
with open(OUT, 'w') as fh:
    json.dump(out, fh)
print('grw', weights, 'disalign', dis_losses, 'marc', marc_losses)
