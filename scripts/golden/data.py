"""Golden values for src/data: long-tail counts as Cao et al. 2019's LDAM-DRW code computes them
(int(n_max * (1/IF) ** (i / (C - 1)))), the step profile, and per-pixel mean / std (NumPy, ddof 0) of a
small uint8 array.

Run: /usr/bin/python3 scripts/golden/data.py  (writes test/golden/data.json)
"""
import json
import os

import numpy as np


def exp_counts(n_max, imb, c):
    return [int(n_max * (1.0 / imb) ** (i / (c - 1.0))) for i in range(c)]


def main():
    grid = []
    for n_max in (600, 500, 5000, 6000, 1000, 100):
        for imb in (1, 2, 10, 20, 50, 100, 200, 256):
            for c in (2, 3, 5, 10, 100):
                grid.append({"maxCount": n_max, "imbalanceFactor": imb, "numClasses": c, "counts": exp_counts(n_max, imb, c)})
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(37, 12), dtype=np.uint8)
    scaled = pixels.astype(np.float64) / 255.0
    mean = scaled.mean(axis=0)
    std = scaled.std(axis=0)
    standardized = (scaled - mean) / (std + 1e-3)
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "data.json")
    with open(out, "w") as f:
        json.dump(
            {
                "generator": "scripts/golden/data.py (numpy)",
                "exponential": grid,
                "pixels": {"values": pixels.ravel().tolist(), "numFeatures": 12, "mean": mean.tolist(), "std": std.tolist(),
                           "standardized": standardized.ravel().tolist()},
            },
            f,
        )
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
