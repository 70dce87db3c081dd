"""Golden values for ClassGaussian (scikit-learn 1.2 / NumPy). Run: /usr/bin/python3 scripts/golden/synth_gaussian.py
Writes test/golden/synth_gaussian.json. Features are float32 values (what a tfjs tensor holds)."""
import json
import os

import numpy as np
from sklearn.covariance import LedoitWolf, ShrunkCovariance

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'synth_gaussian.json')


def dataset(seed, counts, d):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c, n in enumerate(counts):
        scale = rng.uniform(0.5, 2.0, size=d)
        mix = rng.normal(size=(d, d)) * 0.4
        x = rng.normal(size=(n, d)) * scale @ (np.eye(d) + mix) + rng.normal(size=d) * 3
        xs.append(x)
        ys.append(np.full(n, c))
    order = rng.permutation(sum(counts))
    x = np.concatenate(xs)[order].astype(np.float32).astype(np.float64)
    y = np.concatenate(ys)[order]
    return x, y


def calibrated(x, y, counts, c, head_min, k, alpha, alpha_on, calibrate_mean):
    means = [x[y == h].mean(0) for h in range(len(counts))]
    heads = [h for h in range(len(counts)) if counts[h] >= head_min and h != c]
    dist = sorted(heads, key=lambda h: (np.sum((means[h] - means[c]) ** 2), h))
    donors = dist[:k]
    cov = np.mean([np.cov(x[y == h], rowvar=False) for h in donors], axis=0)
    cov = cov + alpha if alpha_on == 'all' else cov + alpha * np.eye(x.shape[1])
    mu = (means[c] + sum(means[h] for h in donors)) / (len(donors) + 1) if calibrate_mean else means[c]
    return {'mean': mu.tolist(), 'covariance': cov.ravel().tolist(), 'donors': donors}


def case(name, seed, counts, d):
    x, y = dataset(seed, counts, d)
    classes = []
    for c in range(len(counts)):
        xc = x[y == c]
        entry = {'count': int(len(xc)), 'mean': xc.mean(0).tolist()}
        if len(xc) >= 2:
            lw = LedoitWolf().fit(xc)
            entry.update({
                'full': np.cov(xc, rowvar=False).ravel().tolist(),
                'ledoitWolfShrinkage': float(lw.shrinkage_),
                'ledoitWolf': lw.covariance_.ravel().tolist(),
                'shrunk03': ShrunkCovariance(shrinkage=0.3).fit(xc).covariance_.ravel().tolist(),
            })
        classes.append(entry)
    resid = np.concatenate([x[y == c] - x[y == c].mean(0) for c in range(len(counts))])
    pooled = resid.T @ resid / (len(x) - len(counts))
    return {
        'name': name,
        'dim': d,
        'numClasses': len(counts),
        'features': x.ravel().tolist(),
        'labels': y.tolist(),
        'classes': classes,
        'pooled': pooled.ravel().tolist(),
        'calibrated': {
            'headMinCount': 20,
            'k2_all': {str(c): calibrated(x, y, counts, c, 20, 2, 0.21, 'all', True) for c in range(len(counts)) if counts[c] < 20},
            'k1_diag_nomean': {str(c): calibrated(x, y, counts, c, 20, 1, 0.5, 'diagonal', False) for c in range(len(counts)) if counts[c] < 20},
        },
    }


if __name__ == '__main__':
    data = {'cases': [case('d6', 0, [40, 25, 12, 3], 6), case('d16_small_n', 1, [30, 8, 21], 16)]}
    with open(OUT, 'w') as f:
        json.dump(data, f)
    print('wrote', OUT)
