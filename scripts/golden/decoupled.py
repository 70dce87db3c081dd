"""Golden values for the decoupled recipe (Kang et al. 2020; official code facebookresearch/classifier-balancing).
Run: /usr/bin/python3 scripts/golden/decoupled.py  ->  test/golden/decoupled.json

- tau-norm: pnorm as in the official tau_norm notebook (each class vector w_j / ||w_j||^tau), logits = F @ W~
  (the notebook uses no bias) and, as our 'keep' option, F @ W~ + b; balanced accuracy by scikit-learn over
  np.linspace(0, 2, 21); the chosen tau is the first best (np.argmax).
- LWS: logits = s * (X @ W + b) with a learnable per-class scale s (ones at start), mean cross-entropy,
  two plain SGD steps (lr 0.5) on s alone with torch autograd.
All inputs are float32 values (what a tfjs tensor holds)."""
import json
import os

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'decoupled.json')
rng = np.random.default_rng(2020)
D, C, PER = 5, 4, 10


def f32(a):
    return np.asarray(a, dtype=np.float32)


# A head whose class vectors have very different norms (the long-tail signature tau-norm corrects).
centres = rng.normal(size=(C, D)) * 1.5
W = f32((centres.T / np.linalg.norm(centres, axis=1) + rng.normal(size=(D, C)) * 0.3) * np.array([3.0, 1.5, 0.7, 0.3]))
b = f32(rng.normal(size=C) * 0.5)
F = f32(np.concatenate([centres[c] + rng.normal(size=(PER, D)) for c in range(C)]))
y = np.repeat(np.arange(C), PER)
order = rng.permutation(len(y))
F, y = F[order], y[order]


def pnorm(weights, p):
    # weights: [C, D] rows are class vectors (PyTorch nn.Linear layout), as in the notebook.
    norms = torch.norm(weights, 2, 1)
    ws = weights.clone()
    for i in range(weights.size(0)):
        ws[i] = ws[i] / torch.pow(norms[i], p)
    return ws


Wt = torch.tensor(W.T.astype(np.float64))
Ft = torch.tensor(F.astype(np.float64))
grid = np.linspace(0, 2, 21)
drop, keep = [], []
for tau in grid:
    ws = pnorm(Wt, float(tau))
    z = Ft @ ws.t()
    drop.append(float(balanced_accuracy_score(y, z.argmax(1).numpy())))
    keep.append(float(balanced_accuracy_score(y, (z + torch.tensor(b.astype(np.float64))).argmax(1).numpy())))
normalized = {str(t): pnorm(Wt, t).t().numpy().tolist() for t in [0.5, 1.0, 1.7]}

# LWS: two SGD steps on the per-class scale.
X = f32(rng.normal(size=(8, D)) * 0.5)
yb = np.array([0, 1, 2, 3, 3, 2, 3, 1])
s = torch.ones(C, dtype=torch.float64, requires_grad=True)
Wd = torch.tensor(W.astype(np.float64))
bd = torch.tensor(b.astype(np.float64))
Xd = torch.tensor(X.astype(np.float64))
losses, scales, grads = [], [], []
for _ in range(2):
    loss = torch.nn.functional.cross_entropy((Xd @ Wd + bd) * s, torch.tensor(yb))
    g, = torch.autograd.grad(loss, s)
    losses.append(float(loss))
    grads.append(g.numpy().tolist())
    with torch.no_grad():
        s -= 0.5 * g
    scales.append(s.detach().numpy().tolist())

out = {
    'D': D, 'C': C,
    'kernel': W.tolist(), 'bias': b.tolist(),
    'features': F.tolist(), 'labels': y.tolist(),
    'grid': grid.tolist(),
    'balancedAccuracyDrop': drop, 'balancedAccuracyKeep': keep,
    'bestTauDrop': float(grid[int(np.argmax(drop))]), 'bestTauKeep': float(grid[int(np.argmax(keep))]),
    'normalized': normalized,
    'lws': {'x': X.tolist(), 'labels': yb.tolist(), 'learningRate': 0.5, 'losses': losses, 'grads': grads, 'scales': scales},
}
with open(OUT, 'w') as fh:
    json.dump(out, fh)
print('tau drop', out['bestTauDrop'], drop)
print('tau keep', out['bestTauKeep'], keep)
print('lws', losses, scales)
