"""Golden values for head initialisation from frozen features (LIFT+, shijxcs/LIFT-plus trainer.py
`classifier_init`). Run: /usr/bin/python3 scripts/golden/head_init.py  ->  test/golden/head_init.json

- linear_probing: LIFT+ fits sklearn LogisticRegression(solver="lbfgs", max_iter=100, penalty="l2",
  class_weight="balanced") on the training features and copies F.normalize(coef_). Here the same model is
  fitted with max_iter=10000, tol=1e-10 and polished by Newton steps on the same objective (sklearn's lbfgs
  stops at a relative tolerance, ~1e-4 off), so the optimum, not a stopping point, is compared; both the
  optimum and sklearn's coef_/intercept_ (within 1e-3 of it) are stored, for C = 1 and C = 0.1.
- class_mean: F.normalize of the per-class mean features (the torch.split over sorted labels of LIFT+).
Features are float32 values, long-tailed (20 / 8 / 3 samples)."""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'head_init.json')
rng = np.random.default_rng(7)
D, C = 3, 3
sizes = [20, 8, 3]
centres = rng.normal(size=(C, D)) * 1.5
X = np.concatenate([centres[c] + rng.normal(size=(n, D)) for c, n in enumerate(sizes)]).astype(np.float32)
y = np.concatenate([np.full(n, c) for c, n in enumerate(sizes)])
order = rng.permutation(len(y))
X, y = X[order], y[order]

def polish(W, b, creg):
    # Newton steps on sklearn's objective 1/2 |W|^2 + C sum_i s_i CE_i (torch autograd Hessian), from
    # sklearn's solution: lbfgs stops at a relative tolerance, the optimum is what the test compares.
    Xd = torch.from_numpy(X.astype(np.float64))
    yd = torch.from_numpy(y)
    counts = np.bincount(y)
    s = torch.from_numpy(len(y) / (len(counts) * counts[y].astype(np.float64)))

    def f(theta):
        Wt = theta[:C * D].reshape(C, D)
        bt = theta[C * D:]
        ce = F.cross_entropy(Xd @ Wt.T + bt, yd, reduction='none')
        return 0.5 * (Wt ** 2).sum() + creg * (s * ce).sum()

    theta = torch.from_numpy(np.concatenate([W.reshape(-1), b]))
    for _ in range(20):
        g = torch.autograd.functional.jacobian(f, theta)
        H = torch.autograd.functional.hessian(f, theta)
        theta = theta - torch.linalg.solve(H + 1e-12 * torch.eye(len(theta), dtype=torch.float64), g)
    g = torch.autograd.functional.jacobian(f, theta)
    assert float(g.abs().max()) < 1e-10, float(g.abs().max())
    return theta[:C * D].reshape(C, D).numpy(), theta[C * D:].numpy()


probes = {}
for creg in [1.0, 0.1]:
    clf = LogisticRegression(solver='lbfgs', max_iter=10000, tol=1e-10, penalty='l2', C=creg, class_weight='balanced')
    clf.fit(X.astype(np.float64), y)
    W, b = polish(clf.coef_, clf.intercept_, creg)
    # Softmax is unchanged by a common shift of the (unpenalised) intercepts: compare them centred (an
    # L-BFGS started at 0 keeps their sum at 0, since the intercept gradient sums to 0).
    b = b - b.mean()
    sk_b = clf.intercept_ - clf.intercept_.mean()
    assert np.abs(W - clf.coef_).max() < 1e-3 and np.abs(b - sk_b).max() < 1e-3
    probes[str(creg)] = {'coef': W.tolist(), 'intercept': b.tolist(), 'normalized': F.normalize(torch.from_numpy(W), dim=-1).numpy().tolist(),
                         'sklearnCoef': clf.coef_.tolist(), 'sklearnIntercept': sk_b.tolist()}

Xt = torch.from_numpy(X.astype(np.float64))
yt = torch.from_numpy(y)
idx = yt.argsort()
_, label_counts = torch.unique(yt[idx], return_counts=True)
means = torch.stack([x.mean(dim=0) for x in torch.split(Xt[idx], label_counts.tolist())])

out = {'D': D, 'C': C, 'x': X.tolist(), 'labels': y.tolist(), 'probes': probes,
       'classMeans': means.numpy().tolist(), 'classMeansNormalized': F.normalize(means).numpy().tolist()}
with open(OUT, 'w') as fh:
    json.dump(out, fh)
print(probes['1.0']['coef'], probes['1.0']['intercept'])
