"""Golden values for src/losses, written from the formulas in ../shared/methods.md with PyTorch (float64).

Run: /usr/bin/python3 scripts/golden/losses.py  → writes test/golden/losses.json.
Every case records the inputs, the per-sample (per-anchor) values, the reduced loss and the gradient of
the reduced loss with respect to the logits (or features).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

MODERATE = [[1.0, -0.5, 0.25], [0.3, 2.0, -1.2], [-0.7, 0.1, 0.9], [2.5, -2.0, 0.0]]
MODERATE_LABELS = [0, 2, 1, 2]
EXTREME = [[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 3.0], [5.0, -5.0, 1e4]]
EXTREME_LABELS = [1, 0, 2, 2]
COSINE = [[0.9, -0.2, 0.1], [0.3, 0.8, -0.6], [-0.4, 0.2, 0.7], [0.5, -0.9, 0.05]]
SOFT = [[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.25, 0.25, 0.5], [0.0, 0.0, 1.0]]


def ce_rows(z, labels, targets=None, smoothing=0.0):
    logp = F.log_softmax(z, dim=1)
    c = z.shape[1]
    q = F.one_hot(labels, c).to(z.dtype) if targets is None else targets
    if smoothing > 0:
        q = (1 - smoothing) * q + smoothing / c
    return -(q * logp).sum(1)


def log_prior(counts, tau):
    n = torch.tensor(counts, dtype=torch.float64)
    return tau * torch.log(n / n.sum() + 1e-12)


def ldam_margins(counts, max_margin):
    m = [1.0 / math.sqrt(math.sqrt(n)) if n > 0 else 0.0 for n in counts]
    top = max(m)
    return [mi * max_margin / top if n > 0 else max_margin for mi, n in zip(m, counts)]


def effective_weights(counts, beta):
    w = [(1 - beta) / (1 - beta ** max(n, 1)) if beta > 0 else 1.0 for n in counts]
    s = sum(w)
    return [wi * len(counts) / s for wi in w]


def run(name, kind, fn, logits, labels, extra=None, reducer=None):
    z = torch.tensor(logits, requires_grad=True)
    y = torch.tensor(labels)
    values = fn(z, y)
    if reducer is None:
        loss = values.mean()
    else:
        w = torch.tensor(reducer)[y]
        loss = (w * values).sum() / w.sum()
    (grad,) = torch.autograd.grad(loss, z)
    case = {
        'name': name,
        'kind': kind,
        'logits': logits,
        'labels': labels,
        'values': values.tolist(),
        'loss': loss.item(),
        'grad': grad.tolist(),
    }
    case.update(extra or {})
    return case


def supcon_reference(features, labels, temperature, base_temperature, contrast=None, contrast_labels=None):
    """SupContrast SupConLoss (HobbitLong), per anchor, plus an optional contrast-only set."""
    f = F.normalize(features, dim=-1)
    if f.dim() == 2:
        f = f.unsqueeze(1)
    n, v, _ = f.shape
    anchors = torch.cat(torch.unbind(f, dim=1), dim=0)  # view-major
    if labels is None:
        ids = torch.arange(n).repeat(v)
    else:
        ids = labels.repeat(v)
    cids = torch.empty(0, dtype=torch.long)
    everything = anchors
    if contrast is not None:
        p = F.normalize(contrast, dim=-1)
        everything = torch.cat([anchors, p], 0)
        k = p.shape[0]
        cids = contrast_labels if contrast_labels is not None else torch.full((k,), -1, dtype=torch.long)
    all_ids = torch.cat([ids, cids])
    m = anchors.shape[0]
    logits = anchors @ everything.T / temperature
    logits_max, _ = logits.max(dim=1, keepdim=True)
    logits = logits - logits_max.detach()
    logits_mask = torch.ones_like(logits)
    logits_mask[torch.arange(m), torch.arange(m)] = 0
    mask = (ids.unsqueeze(1) == all_ids.unsqueeze(0)).to(logits.dtype) * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    npos = mask.sum(1)
    has = (npos > 0).to(logits.dtype)
    mean_log_prob_pos = (mask * log_prob).sum(1) / torch.where(npos > 0, npos, torch.ones_like(npos))
    per_anchor = -(temperature / base_temperature) * mean_log_prob_pos * has
    return per_anchor, has


def supcon_case(name, features, labels, temperature, base_temperature, contrast=None, contrast_labels=None):
    x = torch.tensor(features, requires_grad=True)
    y = None if labels is None else torch.tensor(labels)
    c = None if contrast is None else torch.tensor(contrast, requires_grad=True)
    cl = None if contrast_labels is None else torch.tensor(contrast_labels)
    values, has = supcon_reference(x, y, temperature, base_temperature, c, cl)
    loss = (values * has).sum() / torch.clamp(has.sum(), min=1)
    inputs = [x] if c is None else [x, c]
    grads = torch.autograd.grad(loss, inputs)
    case = {
        'name': name,
        'features': features,
        'labels': labels,
        'temperature': temperature,
        'baseTemperature': base_temperature,
        'values': values.tolist(),
        'weights': has.tolist(),
        'loss': loss.item(),
        'grad': grads[0].tolist(),
    }
    if c is not None:
        case['contrast'] = contrast
        case['contrastLabels'] = contrast_labels
        case['contrastGrad'] = grads[1].tolist()
    return case


def silencing_mask(num_classes, neighbors, aux_ignores_aux=False):
    t = len(neighbors)
    mask = [[True] * num_classes for _ in range(num_classes)]
    for target, lst in enumerate(neighbors):
        for a in lst:
            mask[target][a] = False
            mask[a][target] = False
    if aux_ignores_aux:
        for a in range(t, num_classes):
            for b in range(t, num_classes):
                if a != b:
                    mask[a][b] = False
    return mask


def ns_rows(z, y, counts, mask, tau, targets=None):
    keep = torch.tensor(mask, dtype=torch.float64)[y]
    zz = z + log_prior(counts, tau) + (1 - keep) * -3e4
    q = F.one_hot(y, z.shape[1]).to(z.dtype) if targets is None else targets * keep
    return -(q * F.log_softmax(zz, dim=1)).sum(1)


def main():
    cases = []
    for tag, lg, lb in [('moderate', MODERATE, MODERATE_LABELS), ('extreme', EXTREME, EXTREME_LABELS)]:
        cases.append(run(f'ce/{tag}', 'crossEntropy', lambda z, y: ce_rows(z, y), lg, lb, {'options': {}}))
        cases.append(run(f'ce-smooth/{tag}', 'crossEntropy', lambda z, y: ce_rows(z, y, smoothing=0.1), lg, lb,
                         {'options': {'labelSmoothing': 0.1}}))
        soft = torch.tensor(SOFT)
        cases.append(run(f'ce-soft/{tag}', 'crossEntropy', lambda z, y: ce_rows(z, y, targets=soft), lg, lb,
                         {'options': {}, 'targets': SOFT}))
        cases.append(run(f'ce-soft-smooth/{tag}', 'crossEntropy', lambda z, y: ce_rows(z, y, targets=soft, smoothing=0.2), lg, lb,
                         {'options': {'labelSmoothing': 0.2}, 'targets': SOFT}))
        for counts in ([100, 10, 1], [10, 5, 0]):
            for tau in (1.0, 0.5):
                cases.append(run(f'la/{tag}/{counts}/{tau}', 'logitAdjusted',
                                 lambda z, y, c=counts, t=tau: ce_rows(z + log_prior(c, t), y), lg, lb,
                                 {'options': {'classCounts': counts, 'tau': tau}}))
            cases.append(run(f'bs/{tag}/{counts}', 'balancedSoftmax',
                             lambda z, y, c=counts: ce_rows(z + torch.log(torch.tensor(c, dtype=torch.float64) + 1e-300) if min(c) > 0 else z + log_prior(c, 1.0), y),
                             lg, lb, {'options': {'classCounts': counts}}))
        for gamma in (2.0, 0.5):
            def focal(z, y, g=gamma):
                logpy = F.log_softmax(z, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
                # −expm1(log p) = 1 − p without cancellation; the floor only matters where p == 1 exactly
                # in float64, where the true gradient of (1 − p)^γ·CE is 0 but autograd would give 0·∞.
                return (-torch.expm1(logpy)).clamp_min(1e-300) ** g * -logpy
            cases.append(run(f'focal/{tag}/{gamma}', 'focal', focal, lg, lb, {'options': {'gamma': gamma}}))
        cw = effective_weights([100, 10, 1], 0.99)
        cases.append(run(f'ce-classWeighted/{tag}', 'crossEntropy', lambda z, y: ce_rows(z, y), lg, lb,
                         {'options': {}, 'reducer': {'beta': 0.99, 'classCounts': [100, 10, 1]}, 'classWeights': cw},
                         reducer=cw))
    for tag, lg, lb in [('cosine', COSINE, MODERATE_LABELS), ('extreme', EXTREME, EXTREME_LABELS)]:
        counts = [100, 10, 1]
        margins = ldam_margins(counts, 0.5)

        def ldam(z, y, m=margins):
            shifted = z - F.one_hot(y, 3).to(z.dtype) * torch.tensor(m)
            return ce_rows(30 * shifted, y)
        cases.append(run(f'ldam/{tag}', 'ldam', ldam, lg, lb, {'options': {'classCounts': counts, 'maxMargin': 0.5, 'scale': 30}, 'margins': margins}))
        cw = effective_weights(counts, 0.9999)
        cases.append(run(f'ldam-drw/{tag}', 'ldam', ldam, lg, lb,
                         {'options': {'classCounts': counts, 'maxMargin': 0.5, 'scale': 30},
                          'reducer': {'beta': 0.9999, 'classCounts': counts}, 'classWeights': cw}, reducer=cw))

    ns_logits = [[1.2, -0.3, 0.5, 2.0, -1.0], [0.1, 0.4, -0.2, 0.3, 1.5], [1e4, -1e4, 0.0, 5.0, -5.0], [-0.5, 2.2, 0.3, -1.1, 0.8]]
    ns_labels = [0, 3, 2, 4]
    ns_counts = [50, 20, 5, 30, 10]
    ns_soft = [[0.8, 0.0, 0.0, 0.2, 0.0], [0.1, 0.0, 0.0, 0.9, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.3, 0.0, 0.0, 0.7]]
    for aux in (False, True):
        mask = silencing_mask(5, [[3], [4], []], aux)
        cases.append(run(f'ns/aux={aux}', 'neighborSilencing', lambda z, y, m=mask: ns_rows(z, y, ns_counts, m, 1.0),
                         ns_logits, ns_labels, {'options': {'classCounts': ns_counts, 'tau': 1.0, 'mask': mask}}))
        soft = torch.tensor(ns_soft)
        cases.append(run(f'ns-soft/aux={aux}', 'neighborSilencing', lambda z, y, m=mask: ns_rows(z, y, ns_counts, m, 1.0, soft),
                         ns_logits, ns_labels, {'options': {'classCounts': ns_counts, 'tau': 1.0, 'mask': mask}, 'targets': ns_soft}))

    supcon = []
    feats = [
        [[1.0, 0.2, -0.3], [0.8, 0.5, -0.1]],
        [[-0.4, 1.0, 0.3], [-0.2, 0.9, 0.6]],
        [[0.9, -0.1, 0.4], [1.1, 0.3, 0.2]],
        [[0.1, -0.7, 1.0], [0.3, -0.5, 0.8]],
        [[-1.0, -0.2, -0.5], [-0.6, 0.1, -0.9]],
    ]
    supcon.append(supcon_case('two-views', feats, [0, 1, 0, 2, 1], 0.1, 0.07))
    supcon.append(supcon_case('two-views-T-equal', feats, [0, 1, 0, 2, 1], 0.5, 0.5))
    single = [f[0] for f in feats]
    supcon.append(supcon_case('one-view-with-lonely-anchor', single, [0, 1, 0, 2, 1], 0.07, 0.07))
    supcon.append(supcon_case('simclr', feats, None, 0.2, 0.2))
    protos = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    supcon.append(supcon_case('prototypes', single, [0, 1, 0, 2, 1], 0.1, 0.1, protos, [0, 1, 2]))
    supcon.append(supcon_case('negatives-only', single, [0, 1, 0, 2, 1], 0.1, 0.1, protos, None))
    supcon.append(supcon_case('tiny-temperature', feats, [0, 1, 0, 2, 1], 0.01, 0.07))

    cb = {
        'counts': [1000, 100, 10, 1, 0],
        'beta': [0.0, 0.9, 0.99, 0.9999],
        'weights': [effective_weights([1000, 100, 10, 1, 0], b) for b in (0.0, 0.9, 0.99, 0.9999)],
    }
    out = {'generator': 'scripts/golden/losses.py', 'torch': torch.__version__, 'cases': cases, 'supCon': supcon,
           'classBalanced': cb, 'ldamMargins': {'counts': [100, 10, 1, 0], 'margins': ldam_margins([100, 10, 1, 0], 0.5)}}
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'losses.json')
    with open(path, 'w') as fh:
        json.dump(out, fh, indent=1)
    print(f'wrote {len(cases)} classification cases and {len(supcon)} SupCon cases to {os.path.normpath(path)}')


if __name__ == '__main__':
    main()
