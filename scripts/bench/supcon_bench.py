"""PyTorch side of bench/losses.ts: SupCon forward + backward on one thread, SupContrast's `SupConLoss`
formulation (HobbitLong/SupContrast losses.py, 'SupCon' mode, contrast_mode 'all') after F.normalize, the
gradient taken with respect to the raw features, on the inputs the TypeScript bench wrote.
Usage: /usr/bin/python3 scripts/bench/supcon_bench.py <dir>
<dir>/spec.json names the raw float32 features [N, V, d] and int32 labels [N] files; prints one JSON object
{versions, loss, step, stepBest, products} with times in ms (step: median of forward + backward with the
gradient in hand; stepBest: its fastest run; products: the step's two M x M x d matrix products alone, for the bench's budget line)."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from timing import times_ms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'golden'))
from losses_official import supcontrast_supcon  # noqa: E402  (SupContrast's SupConLoss.forward, one copy)


def main(folder):
    torch.set_num_threads(1)
    spec = json.load(open(os.path.join(folder, 'spec.json')))
    n, v, d = spec['n'], spec['views'], spec['dim']
    x = torch.from_numpy(np.fromfile(os.path.join(folder, spec['features']), dtype=np.float32).reshape(n, v, d).copy())
    y = torch.from_numpy(np.fromfile(os.path.join(folder, spec['labels']), dtype=np.int32).astype(np.int64))
    t, tb = spec['temperature'], spec['baseTemperature']

    def step():
        f = x.clone().requires_grad_(True)
        loss = supcontrast_supcon(F.normalize(f, dim=2), y, t, tb)
        (grad,) = torch.autograd.grad(loss, f)
        return loss, grad

    loss, _ = step()
    a = torch.randn(n * v, d)
    g = torch.randn(n * v, n * v)

    def products():
        torch.matmul(a, a.T)
        torch.matmul(g, a)

    steps = times_ms(step, 3, spec['runs'])
    out = {
        'versions': {'torch': torch.__version__, 'numpy': np.__version__, 'threads': torch.get_num_threads()},
        'loss': float(loss),
        'step': float(np.median(steps)),
        'stepBest': float(np.min(steps)),
        'products': float(np.median(times_ms(products, 3, spec['runs']))),
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1])
