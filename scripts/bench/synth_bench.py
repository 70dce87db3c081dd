"""Timing reference for bench/synth.ts: POT 0.8.2 Sinkhorn (float64 and float32) and a NumPy Gaussian fit + sample
(float64 and float32, with the float32 parts timed separately for the bench's budget lines) on the inputs the
TypeScript bench wrote. Usage: /usr/bin/python3 scripts/bench/synth_bench.py <dir>
<dir>/spec.json names the raw float64 files; prints one JSON object of median times in ms."""
import json
import os
import sys
import warnings

import numpy as np
import ot
from timing import median_ms


def main(folder):
    spec = json.load(open(os.path.join(folder, 'spec.json')))
    s = spec['sinkhorn']
    M = np.fromfile(os.path.join(folder, s['cost']), dtype=np.float64).reshape(s['n'], s['m'])
    a = np.full(s['n'], 1.0 / s['n'])
    b = np.full(s['m'], 1.0 / s['m'])
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        kw = dict(numItermax=s['iterations'], stopThr=s['tolerance'])
        out['sinkhornCostPlain'] = float(np.sum(M * ot.sinkhorn(a, b, M, s['epsilon'], **kw)))
        out['sinkhornCostLog'] = float(np.sum(M * ot.sinkhorn(a, b, M, s['epsilon'], method='sinkhorn_log', **kw)))
        out['sinkhornPlain'] = median_ms(lambda: ot.sinkhorn(a, b, M, s['epsilon'], **kw), 1, s['runs'])
        out['sinkhornLog'] = median_ms(lambda: ot.sinkhorn(a, b, M, s['epsilon'], method='sinkhorn_log', **kw), 1, s['runsLog'])
        # The same in float32 (POT keeps the inputs' dtype).
        a32, b32, M32 = a.astype(np.float32), b.astype(np.float32), M.astype(np.float32)
        out['sinkhornPlain32'] = median_ms(lambda: ot.sinkhorn(a32, b32, M32, s['epsilon'], **kw), 1, s['runs'])
        out['sinkhornLog32'] = median_ms(lambda: ot.sinkhorn(a32, b32, M32, s['epsilon'], method='sinkhorn_log', **kw), 1, s['runsLog'])

    g = spec['gaussian']
    X = np.fromfile(os.path.join(folder, g['features']), dtype=np.float64).reshape(g['n'], g['d'])
    rho = g['shrinkage']
    rng = np.random.default_rng(0)

    def fit_and_sample():
        mu = X.mean(0)
        S = np.cov(X, rowvar=False, bias=True)
        d = S.shape[0]
        cov = (1 - rho) * S + rho * np.trace(S) / d * np.eye(d)
        L = np.linalg.cholesky(cov)
        z = rng.standard_normal((g['samples'], d))
        return z @ L.T + mu

    out['gaussian'] = median_ms(fit_and_sample, 1, g['runs'])

    # The same in float32 end to end (NumPy keeps float32 through cov, cholesky and the product).
    X32 = X.astype(np.float32)
    n_samples, d = g['samples'], X.shape[1]

    def fit32():
        mu = X32.mean(0)
        S = np.cov(X32, rowvar=False, bias=True, dtype=np.float32)
        cov = np.float32(1 - rho) * S + np.float32(rho * np.trace(S) / d) * np.eye(d, dtype=np.float32)
        return mu, np.linalg.cholesky(cov)

    def fit_and_sample32():
        mu, L = fit32()
        z = rng.standard_normal((n_samples, d), dtype=np.float32)
        return z @ L.T + mu

    assert fit_and_sample32().dtype == np.float32
    out['gaussian32'] = median_ms(fit_and_sample32, 1, g['runs'])
    mu32, L32 = fit32()
    z32 = rng.standard_normal((n_samples, d), dtype=np.float32)
    out['gaussian32Fit'] = median_ms(fit32, 1, g['runs'])
    out['gaussian32Normals'] = median_ms(lambda: rng.standard_normal((n_samples, d), dtype=np.float32), 1, g['runs'])
    out['gaussian32Product'] = median_ms(lambda: z32 @ L32.T + mu32, 1, g['runs'])
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1])
