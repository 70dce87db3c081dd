"""Golden values for the granularity recipe (src/recipes/granularity.ts), written from methods.md
("Neighbor-silencing", "Auxiliary classes") and the official Gran_LT `Bal_CE_loss` (prior
log(n/sum + eps), a large negative additive on silenced logits, targets zeroed on silenced classes),
with PyTorch in float64.

Run: /usr/bin/python3 scripts/golden/granularity.py  → writes test/golden/granularity.json.

One small problem, C = 3 target classes and A = 2 auxiliary classes (auxiliary labels in their own
0..A-1 range), a linear model z = x·W + b over all C + A classes, and:
- prototypes: class means of the raw inputs over target + auxiliary data (auxiliary classes after C);
- neighbours by prototype cosine similarity, k = 1, kMax = 2, more for rarer targets:
  r_t = (log n_max − log n_t)/(log n_max − log n_min), count round(k + (kMax − k)·r_t) (half up);
- the mean neighbor-silencing loss over target + offset auxiliary samples with the prior counted over
  both, τ = 1, for the hand-given neighbours (with and without auxiliary-ignores-auxiliary) and for the
  prototype-selected neighbours;
- masked inference: arg-max over the first C columns of the test logits.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

C, A, D = 3, 2, 5
rng = np.random.default_rng(7)
# Class centres: target 0 and auxiliary 0 share direction e0; target 2 and auxiliary 1 share e2, so the
# prototype rule has clear answers for them. Target counts 9, 4, 2 (long-tailed); auxiliary 3 and 3.
centres = np.eye(D) * 3.0
target_labels = [0] * 9 + [1] * 4 + [2] * 2
aux_labels = [0, 0, 0, 1, 1, 1]
target_centre = {0: centres[0], 1: centres[1], 2: centres[2]}
aux_centre = {0: centres[0] + 0.8 * centres[3], 1: centres[2] + 0.8 * centres[4]}
xt = np.stack([target_centre[y] + rng.normal(0, 0.5, D) for y in target_labels])
xa = np.stack([aux_centre[y] + rng.normal(0, 0.5, D) for y in aux_labels])
x_test = rng.normal(0, 1.5, (6, D))
W = rng.normal(0, 0.7, (D, C + A))
b = rng.normal(0, 0.3, C + A)
# Round to float32-representable values so both sides start from identical numbers.
xt, xa, x_test, W, b = (np.float32(v).astype(np.float64) for v in (xt, xa, x_test, W, b))


def mask_from(neighbors, aux_ignores_aux):
    """M[y][j]: does a sample of class y compete with class j (targets first, auxiliary offset by C)."""
    n = C + A
    m = np.ones((n, n), dtype=bool)
    for t, lst in enumerate(neighbors):
        for a in lst:
            m[t, C + a] = False
            m[C + a, t] = False
    if aux_ignores_aux:
        for a in range(C, n):
            for b2 in range(C, n):
                if a != b2:
                    m[a, b2] = False
    return m


def gran_lt_loss(x, labels, counts, mask, tau=1.0):
    """Gran_LT Bal_CE_loss: z + τ·log(π + eps) + logits_mask[y], targets one-hot · mask[y], mean."""
    z = torch.tensor(x) @ torch.tensor(W) + torch.tensor(b)
    n = torch.tensor(counts, dtype=torch.float64)
    z = z + tau * torch.log(n / n.sum() + 1e-12)
    y = torch.tensor(labels)
    m = torch.tensor(mask, dtype=torch.float64)
    z = z + (1 - m[y]) * -3e4
    q = F.one_hot(y, C + A).to(torch.float64) * m[y]
    return float((-(q * F.log_softmax(z, dim=1)).sum(1)).mean())


x_all = np.concatenate([xt, xa])
y_all = target_labels + [C + a for a in aux_labels]
counts = [y_all.count(c) for c in range(C + A)]

prototypes = np.stack([x_all[np.array(y_all) == c].mean(0) for c in range(C + A)])


def select(protos, k=1, k_max=2):
    tc = [max(counts[t], 1) for t in range(C)]
    logs = [math.log(n) for n in tc]
    hi, lo = max(logs), min(logs)
    out = []
    for t in range(C):
        r = (hi - logs[t]) / (hi - lo) if hi > lo else 0.0
        want = min(A, math.floor(k + (k_max - k) * r + 0.5))
        sims = []
        for a in range(C, C + A):
            s = protos[t] @ protos[a] / ((np.linalg.norm(protos[t]) or 1) * (np.linalg.norm(protos[a]) or 1))
            sims.append((-s, a))
        sims.sort()
        out.append([a - C for _, a in sims[:want]])
    return out


hand = [[0], [], [1]]
selected = select(prototypes)
z_test = x_test @ W + b

golden = {
    "numClasses": C,
    "numAuxiliaryClasses": A,
    "targetX": xt.tolist(),
    "targetY": target_labels,
    "auxX": xa.tolist(),
    "auxY": aux_labels,
    "testX": x_test.tolist(),
    "kernel": W.tolist(),
    "bias": b.tolist(),
    "counts": counts,
    "prototypes": prototypes.tolist(),
    "handNeighbors": hand,
    "handMask": mask_from(hand, False).tolist(),
    "lossHand": gran_lt_loss(x_all, y_all, counts, mask_from(hand, False)),
    "lossHandAuxIgnoresAux": gran_lt_loss(x_all, y_all, counts, mask_from(hand, True)),
    "lossUnmasked": gran_lt_loss(x_all, y_all, counts, np.ones((C + A, C + A), dtype=bool)),
    "selectedNeighbors": selected,
    "lossSelected": gran_lt_loss(x_all, y_all, counts, mask_from(selected, False)),
    "testTargetLogits": z_test[:, :C].tolist(),
    "testPredictions": z_test[:, :C].argmax(1).tolist(),
    "testUnmaskedPredictions": z_test.argmax(1).tolist(),
}

out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "granularity.json")
with open(out, "w") as f:
    json.dump(golden, f, indent=1)
print("wrote", os.path.normpath(out), "selected", selected, "losses", golden["lossHand"], golden["lossUnmasked"])
