"""Golden values for src/synth/resample.ts and src/core/neighbors.ts: imbalanced-learn 0.10 under- and
over-samplers and scikit-learn NearestNeighbors on fixed inputs (float32-representable, so both sides see
the same numbers).

Run: /usr/bin/python3 scripts/golden/resample.py  (writes test/golden/resample.json)
"""
import json
import os

import imblearn
import numpy as np
import sklearn
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import NearMiss, RandomUnderSampler, TomekLinks
from sklearn.neighbors import NearestNeighbors


def dataset(seed, counts, d, spread):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c, n in enumerate(counts):
        centre = rng.standard_normal(d) * spread
        xs.append(centre + rng.standard_normal((n, d)))
        ys.append(np.full(n, c))
    order = rng.permutation(sum(counts))
    X = np.concatenate(xs)[order].astype(np.float32).astype(np.float64)
    y = np.concatenate(ys)[order].astype(np.int64)
    return X, y


def case(X, y):
    return {"x": X.ravel().tolist(), "shape": list(X.shape), "y": y.tolist()}


def main():
    out = {"generator": f"scripts/golden/resample.py (imbalanced-learn {imblearn.__version__}, scikit-learn {sklearn.__version__})"}

    X, y = dataset(1, [40, 25, 9], 3, 1.2)
    tomek = {}
    for strategy in ("auto", "all", "majority", "not majority"):
        s = TomekLinks(sampling_strategy=strategy)
        s.fit_resample(X, y)
        tomek[strategy] = s.sample_indices_.tolist()
    out["tomek"] = {**case(X, y), "sampleIndices": tomek}

    X, y = dataset(2, [50, 30, 12], 5, 1.0)
    near = {}
    for k in (3, 1):
        s = NearMiss(version=1, n_neighbors=k)
        s.fit_resample(X, y)
        near[str(k)] = s.sample_indices_.tolist()
    s = NearMiss(version=1, sampling_strategy={0: 20, 1: 15})
    s.fit_resample(X, y)
    near["dict"] = s.sample_indices_.tolist()
    out["nearMiss"] = {**case(X, y), "sampleIndices": near}

    X, y = dataset(3, [35, 14, 6], 4, 1.0)
    r = RandomUnderSampler(random_state=0)
    _, yr = r.fit_resample(X, y)
    sm = SMOTE(k_neighbors=5, random_state=0)
    _, ys = sm.fit_resample(X, y)
    out["counts"] = {**case(X, y), "randomUnder": np.bincount(yr).tolist(), "smote": np.bincount(ys).tolist(),
                     "smoteAdded": (len(ys) - len(y))}

    rng = np.random.default_rng(4)
    Xk = rng.standard_normal((37, 11)).astype(np.float32).astype(np.float64)
    Q = rng.standard_normal((5, 11)).astype(np.float32).astype(np.float64)
    nn = NearestNeighbors(n_neighbors=6).fit(Xk)
    dist, idx = nn.kneighbors(Xk)
    qd, qi = nn.kneighbors(Q, n_neighbors=4)
    out["knn"] = {"x": Xk.ravel().tolist(), "shape": list(Xk.shape), "self": idx[:, 1:].tolist(),
                  "selfDistances": dist[:, 1:].tolist(), "query": Q.ravel().tolist(), "queryIndices": qi.tolist(),
                  "queryDistances": qd.tolist()}

    path = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "resample.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
