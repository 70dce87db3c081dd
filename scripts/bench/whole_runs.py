"""PyTorch side of bench/whole-runs.ts: the same whole training runs (Adam lr 1e-3, L2 weight decay 5e-4,
batch 256, softmax cross-entropy, a fresh random order each epoch) on the inputs the TypeScript bench
wrote, on one thread. Usage: /usr/bin/python3 scripts/bench/whole_runs.py <dir>
<dir>/spec.json lists the runs and names the raw float32 features / int32 labels files; prints one JSON
object {versions, runs: {id: {seconds: [..], loss}}, peakGflops} (wall time of the training loop only;
peakGflops: torch.mm on two peakSize² float32 matrices, one thread)."""
import json
import os
import sys
import time

import numpy as np
import torch

from timing import median_ms


def build(d, hidden, classes):
    layers = []
    width = d
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, classes))
    return torch.nn.Sequential(*layers)


def run_once(x, y, run, seed):
    torch.manual_seed(seed)
    model = build(run['features'], run['hidden'], run['classes'])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    bs = run['batchSize']
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    last = 0.0
    for _ in range(run['epochs']):
        order = torch.randperm(n, generator=g)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        last = float(loss.item())
    return time.perf_counter() - t0, last


def main(folder):
    torch.set_num_threads(1)
    spec = json.load(open(os.path.join(folder, 'spec.json')))
    size = spec.get('peakSize', 1024)
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    peak_ms = median_ms(lambda: torch.mm(a, b), 2, 9)
    out = {'versions': {'torch': torch.__version__, 'numpy': np.__version__, 'threads': torch.get_num_threads()}, 'runs': {},
           'peakGflops': 2 * size ** 3 / (peak_ms * 1e6)}
    for run in spec['runs']:
        x = torch.from_numpy(np.fromfile(os.path.join(folder, run['x']), dtype=np.float32).reshape(-1, run['features']))
        y = torch.from_numpy(np.fromfile(os.path.join(folder, run['y']), dtype=np.int32).astype(np.int64))
        seconds = []
        loss = 0.0
        for r in range(spec['repeats']):
            s, loss = run_once(x, y, run, r)
            seconds.append(s)
        out['runs'][run['id']] = {'seconds': seconds, 'loss': loss}
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1])
