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


def supcon(features, labels, temperature, base_temperature):
    """SupContrast's SupConLoss.forward (features [N, V, d] already normalized, labels [N])."""
    batch_size = features.shape[0]
    labels = labels.contiguous().view(-1, 1)
    mask = torch.eq(labels, labels.T).float()
    contrast_count = features.shape[1]
    contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor_feature = contrast_feature
    anchor_count = contrast_count
    anchor_dot_contrast = torch.div(torch.matmul(anchor_feature, contrast_feature.T), temperature)
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    mask = mask.repeat(anchor_count, contrast_count)
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(batch_size * anchor_count).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mask_pos_pairs = mask.sum(1)
    mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6, 1, mask_pos_pairs)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs
    loss = -(temperature / base_temperature) * mean_log_prob_pos
    return loss.view(anchor_count, batch_size).mean()


def main(folder):
    torch.set_num_threads(1)
    spec = json.load(open(os.path.join(folder, 'spec.json')))
    n, v, d = spec['n'], spec['views'], spec['dim']
    x = torch.from_numpy(np.fromfile(os.path.join(folder, spec['features']), dtype=np.float32).reshape(n, v, d).copy())
    y = torch.from_numpy(np.fromfile(os.path.join(folder, spec['labels']), dtype=np.int32).astype(np.int64))
    t, tb = spec['temperature'], spec['baseTemperature']

    def step():
        f = x.clone().requires_grad_(True)
        loss = supcon(F.normalize(f, dim=2), y, t, tb)
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
