"""Golden values for GGEUR's covariance repair and anchor rule (NumPy transcription of Dai et al., CVPR 2025,
WeiDai-David/2025CVPR_GGEUR, `Single Domian/cov_matrix_generate_features_amplify.py`: `nearest_pos_def`,
the jitter loop of `generate_new_samples`, and the anchor rule of `process_class_client`).
Run: /usr/bin/python3 scripts/golden/ggeur.py  (writes test/golden/ggeur.json)."""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'ggeur.json')


def nearest_pos_def(cov, scale):
    values, vectors = np.linalg.eigh(cov)
    values[values < 0] = 0
    values *= scale
    return vectors @ np.diag(values) @ vectors.T


def repaired(cov, scale, jitter_start):
    cov = nearest_pos_def(cov, scale)
    jitter = jitter_start
    while True:
        try:
            b = np.linalg.cholesky(cov + jitter * np.eye(cov.shape[0]))
            break
        except np.linalg.LinAlgError:
            jitter *= 10
    return b @ b.T, jitter


def anchors(needed, count):
    """The needed > count branch: every sample, ceil(needed/count) draws each, in order, truncated."""
    per = (needed + count - 1) // count
    out = []
    for i in range(count):
        out.extend([i] * per)
    return out[:needed]


def main():
    rng = np.random.default_rng(17)
    cases = []

    def add(name, cov, scale, jitter_start):
        rep, jitter = repaired(cov, scale, jitter_start)
        cases.append({'name': name, 'd': int(cov.shape[0]), 'covariance': cov.ravel().tolist(), 'eigenScale': scale,
                      'jitterStart': jitter_start, 'repaired': rep.ravel().tolist(), 'jitter': jitter})

    # How far the jitter grows depends on rounding noise (it succeeds once δ exceeds it), which differs
    # between LAPACK and any other Cholesky; the cases here succeed at δ₀ and the growth is tested in TS.
    a = rng.normal(size=(4, 4))
    add('positive definite', a @ a.T + 0.5 * np.eye(4), 1.0, 1e-6)
    b = rng.normal(size=(5, 5))
    add('indefinite, amplified x5', (b + b.T) / 2, 5.0, 1e-6)
    x = rng.normal(size=(3, 6)).astype(np.float32).astype(np.float64)
    add('rank deficient (3 samples, d 6)', np.cov(x, rowvar=False), 1.0, 1e-6)
    c = rng.normal(size=(4, 4))
    add('rank one, amplified x2', np.outer(c[0], c[0]), 2.0, 1e-6)
    anchor_cases = [{'needed': n, 'count': k, 'anchors': anchors(n, k)} for n, k in [(5, 2), (7, 3), (10, 4), (4, 3), (9, 1)]]
    with open(OUT, 'w') as f:
        json.dump({'repair': cases, 'anchors': anchor_cases}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
