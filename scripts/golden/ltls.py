"""Golden values for the ltls recipe (Sharma 2025, "Efficient Long-Tail Learning in Latent Space").
Run: /usr/bin/python3 scripts/golden/ltls.py  ->  test/golden/ltls.json

Frozen features of a tiny long-tailed set; per class the mean, the unbiased covariance and scikit-learn's
Ledoit-Wolf covariance (the recipe's default estimator) and a fixed-rho shrunk covariance, and the top-up
counts to n_max. Features are float32 values (what a tfjs tensor holds)."""
import json
import os

import numpy as np
from sklearn.covariance import LedoitWolf, ShrunkCovariance

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'ltls.json')
rng = np.random.default_rng(2025)
D = 4
counts = [30, 12, 5]
xs, ys = [], []
for c, n in enumerate(counts):
    mix = np.eye(D) + rng.normal(size=(D, D)) * 0.5
    xs.append(rng.normal(size=(n, D)) @ mix + rng.normal(size=D) * 2)
    ys.append(np.full(n, c))
order = rng.permutation(sum(counts))
x = np.concatenate(xs)[order].astype(np.float32)
y = np.concatenate(ys)[order]
xd = x.astype(np.float64)
classes = []
for c in range(len(counts)):
    xc = xd[y == c]
    classes.append({
        'mean': xc.mean(0).tolist(),
        'full': np.cov(xc, rowvar=False).ravel().tolist(),
        'ledoitWolf': LedoitWolf().fit(xc).covariance_.ravel().tolist(),
        'ledoitWolfShrinkage': float(LedoitWolf().fit(xc).shrinkage_),
        'shrunk02': ShrunkCovariance(shrinkage=0.2).fit(xc).covariance_.ravel().tolist(),
    })
n_max = max(counts)
out = {
    'D': D,
    'counts': counts,
    'features': x.tolist(),
    'labels': y.tolist(),
    'classes': classes,
    'topUpToMax': [n_max - n for n in counts],
    'topUpRatio04': [int(round(0.4 * n)) for n in counts],
}
with open(OUT, 'w') as fh:
    json.dump(out, fh)
print(out['topUpToMax'], [c['ledoitWolfShrinkage'] for c in classes])
