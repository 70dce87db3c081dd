"""Golden values for the POT-shaped OT calls (sinkhorn with zero-mass bins, +inf costs, uniform defaults,
potentials and error history; exact OT) from POT 0.8.2, and the cosine cost of zero rows from
scikit-learn. Run: /usr/bin/python3 scripts/golden/synth_ot.py  (writes test/golden/synth_ot.json).
-inf (log-scalings of zero-mass bins) and +inf (forbidden costs) are written as the strings
"-Infinity" / "Infinity"."""
import json
import math
import os
import warnings

import numpy as np
import ot
from sklearn.metrics.pairwise import cosine_distances

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'synth_ot.json')


def enc(x):
    """Nested lists with infinities as strings (JSON has none)."""
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, list):
        return [enc(v) for v in x]
    x = float(x)
    if math.isinf(x):
        return 'Infinity' if x > 0 else '-Infinity'
    return x


def finite_cost(P, M):
    mask = np.isfinite(M)
    return float(np.sum(P[mask] * M[mask]))


def sinkhorn_run(a, b, M, reg, method, iters=1000):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if method == 'plain':
            P, log = ot.sinkhorn(a, b, M, reg, method='sinkhorn', numItermax=iters, stopThr=1e-9, log=True)
            with np.errstate(divide='ignore'):
                lu, lv = np.log(log['u']), np.log(log['v'])
        else:
            P, log = ot.sinkhorn(a, b, M, reg, method='sinkhorn_log', numItermax=iters, stopThr=1e-9, log=True)
            lu, lv = log['log_u'], log['log_v']
    return {'epsilon': reg, 'method': method, 'maxIterations': iters, 'plan': enc(P), 'cost': finite_cost(P, M),
            'iterations': int(log['niter']) + 1, 'errorHistory': enc(np.array(log['err'], dtype=float)),
            'logU': enc(lu), 'logV': enc(lv)}


def points_cost(rng, n, m, d):
    x = rng.normal(size=(n, d))
    y = rng.normal(size=(m, d)) + 0.5
    M = ot.dist(x, y)
    return M / M.max()


def hist(rng, k, zeros=()):
    w = rng.random(k) + 0.2
    w[list(zeros)] = 0
    return w / w.sum()


def sinkhorn_cases():
    cases = []
    rng = np.random.default_rng(100)
    M = points_cost(rng, 6, 7, 3)
    a = hist(rng, 6, (1, 4))
    b = hist(rng, 7, (2,))
    cases.append({'name': 'zero_mass_6x7', 'a': enc(a), 'b': enc(b), 'M': enc(M),
                  'runs': [sinkhorn_run(a, b, M, 0.05, 'plain'), sinkhorn_run(a, b, M, 0.05, 'log'),
                           sinkhorn_run(a, b, M, 0.01, 'log')]})
    M = points_cost(rng, 5, 6, 2)
    M[0, [1, 2, 5]] = np.inf
    M[3, 0] = np.inf
    M[[1, 2, 4], 4] = np.inf
    a = hist(rng, 5)
    b = hist(rng, 6)
    cases.append({'name': 'forbidden_5x6', 'a': enc(a), 'b': enc(b), 'M': enc(M),
                  'runs': [sinkhorn_run(a, b, M, 0.05, 'plain'), sinkhorn_run(a, b, M, 0.05, 'log')]})
    M = points_cost(rng, 8, 5, 4)
    runs = [sinkhorn_run([], [], M, 0.1, 'plain'), sinkhorn_run([], [], M, 0.02, 'log')]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        s2 = float(ot.sinkhorn2([], [], M, 0.1))
    cases.append({'name': 'uniform_8x5', 'a': None, 'b': None, 'M': enc(M), 'runs': runs, 'sinkhorn2': s2})
    return cases


def default_iterations_case():
    """256 x 256 points in 14-d, eps 0.01 on the max-normalized squared Euclidean cost: POT's defaults
    (numItermax 1000, stopThr 1e-9) converge in 661 iterations (more than our old default of 200)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 14))
    y = rng.normal(size=(256, 14))
    M = ot.dist(x, y)
    M /= M.max()
    P, log = ot.sinkhorn([], [], M, 0.01, log=True)
    return {'x': x.ravel().tolist(), 'y': y.ravel().tolist(), 'n': 256, 'd': 14, 'epsilon': 0.01,
            'iterations': int(log['niter']) + 1, 'cost': float(np.sum(P * M))}


def emd_cases():
    cases = []
    rng = np.random.default_rng(200)
    for (n, m, kind) in [(3, 4, 'uniform01'), (5, 5, 'sqeuclidean'), (8, 6, 'uniform01'), (12, 15, 'sqeuclidean'),
                         (20, 20, 'uniform01'), (30, 25, 'sqeuclidean'), (40, 50, 'uniform01')]:
        a = hist(rng, n)
        b = hist(rng, m)
        M = rng.random((n, m)) if kind == 'uniform01' else ot.dist(rng.normal(size=(n, 3)), rng.normal(size=(m, 3)))
        G, log = ot.emd(a, b, M, log=True)
        cases.append({'name': f'random_{n}x{m}_{kind}', 'a': enc(a), 'b': enc(b), 'M': enc(M), 'plan': enc(G),
                      'cost': float(ot.emd2(a, b, M)), 'u': enc(log['u']), 'v': enc(log['v']), 'duals': True})
    # Uniform, equal sizes (degenerate: a permutation is optimal), and zero-mass bins: plan and cost only.
    M = ot.dist(rng.normal(size=(10, 2)), rng.normal(size=(10, 2)))
    G = ot.emd([], [], M)
    cases.append({'name': 'uniform_10x10', 'a': None, 'b': None, 'M': enc(M), 'plan': enc(G),
                  'cost': float(ot.emd2([], [], M)), 'duals': False})
    a = hist(rng, 7, (0, 3))
    b = hist(rng, 9, (4, 8))
    M = rng.random((7, 9))
    G = ot.emd(a, b, M)
    cases.append({'name': 'zero_mass_7x9', 'a': enc(a), 'b': enc(b), 'M': enc(M), 'plan': enc(G),
                  'cost': float(ot.emd2(a, b, M)), 'duals': False})
    return cases


def cosine_case():
    rng = np.random.default_rng(300)
    x = np.maximum(rng.normal(size=(5, 4)), 0)
    x[1] = 0
    x[3] = 0
    y = np.maximum(rng.normal(size=(6, 4)), 0)
    y[2] = 0
    y[y.sum(1) == 0] = 0
    return {'x': enc(x), 'y': enc(y), 'distances': enc(cosine_distances(x, y))}


if __name__ == '__main__':
    data = {'pot': ot.__version__, 'sinkhorn': sinkhorn_cases(), 'defaultIterations': default_iterations_case(),
            'emd': emd_cases(), 'cosine': cosine_case()}
    with open(OUT, 'w') as f:
        json.dump(data, f)
    print('wrote', OUT)
