"""Golden values for src/samplers/chi-square.ts: scipy.special.gammaincc (the regularised upper incomplete
gamma Q(a, x)), scipy.special.gammaln, and scipy.stats.chisquare on a few observed / expected pairs.

Run: /usr/bin/python3 scripts/golden/chi_square.py  (writes test/golden/chi_square.json; needs python3-scipy)
"""
import json
import os

import numpy as np
import scipy
from scipy import special, stats


def main():
    gamma = []
    for a in (0.5, 1.0, 1.5, 2.0, 4.5, 10.0, 49.5, 500.0):
        for x in (1e-6, 0.01, 0.5, 1.0, 2.5, 4.5, 5.5, 10.0, 30.0, 60.0, 200.0, 480.0, 520.0, 700.0):
            gamma.append({"a": a, "x": x, "q": float(special.gammaincc(a, x))})
    lgamma = [{"x": x, "value": float(special.gammaln(x))} for x in (1e-3, 0.1, 0.5, 1.0, 1.5, 2.0, 3.7, 10.0, 99.5, 1234.5)]

    rng = np.random.default_rng(16)
    tests = []
    # Hand-picked: scipy's own docstring example, a perfect fit, a far-off fit.
    cases = [
        ([16, 18, 16, 14, 12, 12], None),
        ([10, 20, 30], [10, 20, 30]),
        ([100, 0, 0, 0], [25, 25, 25, 25]),
    ]
    for c in (3, 10, 40):
        p = rng.dirichlet(np.ones(c))
        obs = rng.multinomial(5000, p)
        cases.append((obs.tolist(), (p * 5000).tolist()))
        q = rng.dirichlet(np.ones(c))
        cases.append((obs.tolist(), (q * 5000).tolist()))
    for obs, exp in cases:
        r = stats.chisquare(obs, exp)
        e = exp if exp is not None else [float(np.mean(obs))] * len(obs)
        tests.append({"observed": obs, "expected": e, "statistic": float(r.statistic), "pValue": float(r.pvalue), "dof": len(obs) - 1})

    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "chi_square.json")
    with open(out, "w") as f:
        json.dump({"generator": f"scripts/golden/chi_square.py (scipy {scipy.__version__})", "gammaincc": gamma, "gammaln": lgamma, "chisquare": tests}, f)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
