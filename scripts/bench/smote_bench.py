"""Timing reference for the SMOTE rows of bench/synth.ts: imbalanced-learn's SMOTE(k_neighbors=5)
.fit_resample(X, y) on the inputs the TypeScript bench wrote.
Usage: /usr/bin/python3 scripts/bench/smote_bench.py <dir>
<dir>/smote.json lists the workloads (raw float64 X files, label files); prints one JSON object of
median times in ms and the per-class counts after resampling."""
import json
import os
import sys

import numpy as np
from imblearn.over_sampling import SMOTE
from timing import median_ms


def main(folder):
    spec = json.load(open(os.path.join(folder, 'smote.json')))
    out = {}
    for w in spec['workloads']:
        X = np.fromfile(os.path.join(folder, w['x']), dtype=np.float64).reshape(w['n'], w['d'])
        y = np.fromfile(os.path.join(folder, w['y']), dtype=np.int32).astype(np.int64)
        _, yr = SMOTE(k_neighbors=5, random_state=0).fit_resample(X, y)
        out[w['name']] = median_ms(lambda: SMOTE(k_neighbors=5, random_state=0).fit_resample(X, y), 1, spec['runs'])
        out[w['name'] + 'Counts'] = np.bincount(yr).tolist()
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1])
