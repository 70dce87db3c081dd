"""Golden values for sinkhorn() from POT 0.8.2. Run: /usr/bin/python3 scripts/golden/synth_sinkhorn.py
Writes test/golden/synth_sinkhorn.json: inputs, and for each (cost, ε, method) POT's plan, ⟨P, M⟩ and
iteration count (log['niter'] + 1); `runs32`: the plain iteration on float32 inputs (POT keeps the dtype),
stopThr = 0 so both sides run exactly maxIterations."""
import json
import os
import warnings

import numpy as np
import ot

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'synth_sinkhorn.json')


def run(a, b, M, reg, method, iters):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        P, log = ot.sinkhorn(a, b, M, reg, method='sinkhorn' if method == 'plain' else 'sinkhorn_log',
                             numItermax=iters, stopThr=1e-9, log=True)
    return {'epsilon': reg, 'method': method, 'maxIterations': iters, 'plan': P.ravel().tolist(),
            'cost': float(np.sum(P * M)), 'iterations': int(log['niter']) + 1}


def run32(a, b, M, reg, iters):
    a32, b32, M32 = a.astype(np.float32), b.astype(np.float32), M.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        P = ot.sinkhorn(a32, b32, M32, reg, method='sinkhorn', numItermax=iters, stopThr=0)
    assert P.dtype == np.float32
    return {'epsilon': reg, 'maxIterations': iters, 'plan': P.astype(np.float64).ravel().tolist(),
            'cost': float(np.sum(P.astype(np.float64) * M))}


def case(name, seed, n, m, d, metric, settings):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = rng.normal(size=(m, d)) + 0.5
    a = rng.random(n) + 0.2
    a /= a.sum()
    b = rng.random(m) + 0.2
    b /= b.sum()
    M = ot.dist(x, y, metric=metric)
    raw = M.ravel().tolist()
    M = M / M.max()
    return {'name': name, 'x': x.ravel().tolist(), 'y': y.ravel().tolist(), 'n': n, 'm': m, 'd': d, 'metric': metric,
            'a': a.tolist(), 'b': b.tolist(), 'rawCost': raw, 'cost': M.ravel().tolist(),
            'runs': [run(a, b, M, reg, method, iters) for (reg, method, iters) in settings],
            'runs32': [run32(a, b, M, reg, iters) for (reg, iters) in ((0.1, 200), (0.02, 200), (0.05, 7))]}


if __name__ == '__main__':
    settings = [(0.1, 'plain', 200), (0.1, 'log', 200), (0.02, 'plain', 200), (0.02, 'log', 200),
                (0.005, 'log', 300), (1e-3, 'log', 200), (0.05, 'plain', 7)]
    data = {'cases': [case('sqeuclidean_7x9', 0, 7, 9, 3, 'sqeuclidean', settings),
                      case('cosine_12x10', 1, 12, 10, 4, 'cosine', settings[:4])]}
    with open(OUT, 'w') as f:
        json.dump(data, f)
    print('wrote', OUT)
