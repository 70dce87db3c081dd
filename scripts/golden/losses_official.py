"""Golden values for the loss options added for issues 12 and 15, from PyTorch transcriptions of the
official code (float64, CPU):

- cross-entropy family with -inf logits: F.cross_entropy (PyTorch), logit adjustment / balanced softmax
  (Menon et al.; Ren et al.) as CE of shifted logits, kaidic/LDAM-DRW `LDAMLoss` and `focal_loss`,
  Shizhen-ZHAO/Gran_LT `Bal_CE_loss` (with this library's -3e4 silencing constant and 1e-12 prior floor,
  as scripts/golden/granularity.py);
- HobbitLong/SupContrast `SupConLoss` (losses.py at 66a8fe5, after fix 72fd989) at very small temperatures,
  in SimCLR mode (no labels), with one view (anchors without positives count 0) and PML's scale 1;
- kaidic/LDAM-DRW `FocalLoss(weight=per_cls_weights, gamma)` (weights inside the CE, plain mean);
- Gran_LT `Bal_CE_loss` on timm-smoothed targets (label smoothing before the mask);
- soft-target F.cross_entropy without labels.

Run: /usr/bin/python3 scripts/golden/losses_official.py  -> writes test/golden/losses_official.json.
Infinite numbers are written as the strings "Infinity" / "-Infinity" (JSON has no infinity).
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

INF = float('inf')


def encode(x):
    if isinstance(x, float) and math.isinf(x):
        return 'Infinity' if x > 0 else '-Infinity'
    if isinstance(x, list):
        return [encode(v) for v in x]
    return x


# ---------------------------------------------------------------------------------------------------
# Official code, transcribed (CUDA calls dropped).


def ldam_drw_ldam_loss(x, target, cls_num_list, max_m=0.5, s=30, weight=None):
    """kaidic/LDAM-DRW losses.py LDAMLoss.forward."""
    m_list = 1.0 / np.sqrt(np.sqrt(cls_num_list))
    m_list = m_list * (max_m / np.max(m_list))
    m_list = torch.tensor(m_list)
    index = torch.zeros_like(x, dtype=torch.uint8)
    index.scatter_(1, target.data.view(-1, 1), 1)
    index_float = index.type(torch.float64)
    batch_m = torch.matmul(m_list[None, :], index_float.transpose(0, 1))
    batch_m = batch_m.view((-1, 1))
    x_m = x - batch_m
    output = torch.where(index.bool(), x_m, x)
    return F.cross_entropy(s * output, target, weight=weight, reduction='none')


def ldam_drw_focal_loss(input_values, gamma):
    """kaidic/LDAM-DRW losses.py focal_loss (mean over samples)."""
    p = torch.exp(-input_values)
    loss = (1 - p) ** gamma * input_values
    return loss.mean()


def ldam_drw_per_cls_weights(cls_num_list, beta):
    """kaidic/LDAM-DRW cifar_train.py, the 'Reweight'/'DRW' rule."""
    effective_num = 1.0 - np.power(beta, cls_num_list)
    per_cls_weights = (1.0 - beta) / np.array(effective_num)
    per_cls_weights = per_cls_weights / np.sum(per_cls_weights) * len(cls_num_list)
    return per_cls_weights


def supcontrast_supcon(features, labels=None, temperature=0.07, base_temperature=0.07):
    """HobbitLong/SupContrast losses.py SupConLoss.forward, contrast_mode='all', in the features' dtype
    (the official code's `.float()` masks; float64 for the golden values, float32 in bench/losses.ts)."""
    batch_size = features.shape[0]
    if labels is None:
        mask = torch.eye(batch_size, dtype=features.dtype)
    else:
        labels = labels.contiguous().view(-1, 1)
        mask = torch.eq(labels, labels.T).to(features.dtype)
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
    loss = loss.view(anchor_count, batch_size).mean()
    return loss


def gran_lt_bal_ce(x, target, digital_targets, cls_num, mask, tau=1.0):
    """Shizhen-ZHAO/Gran_LT util/loss.py Bal_CE_loss.forward (mask_type without 'unmask'), with this
    library's constants: prior floor 1e-12 (Gran_LT: 1e-9) and silencing logit -3e4 (Gran_LT: -99999)."""
    prior = np.array(cls_num, dtype=np.float64)
    prior = np.log(prior / np.sum(prior) + 1e-12)
    prior = tau * torch.tensor(prior)
    target_mask = torch.tensor(mask, dtype=torch.float64)
    logits_mask = torch.where(target_mask == 0, -3e4, 0.0)
    x = x + prior
    target = target * target_mask[digital_targets]
    x = x + logits_mask[digital_targets]
    return torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)


def silenced_cross_entropy(x, target, cls_num, mask, tau=1.0):
    """Gran_LT's silenced, prior-shifted logits under F.cross_entropy with hard labels: Gran_LT's own
    sum(-target * log_softmax) gives NaN (0 * -inf) for a -inf logit, PyTorch's cross_entropy the finite value."""
    prior = np.array(cls_num, dtype=np.float64)
    prior = tau * torch.tensor(np.log(prior / np.sum(prior) + 1e-12))
    logits_mask = torch.where(torch.tensor(mask, dtype=torch.float64) == 0, -3e4, 0.0)
    return F.cross_entropy(x + prior + logits_mask[target], target, reduction='none')


def timm_smoothed_one_hot(target, num_classes, smoothing):
    """timm.data.mixup.one_hot with label smoothing (Mixup at lam = 1)."""
    off_value = smoothing / num_classes
    on_value = 1.0 - smoothing + off_value
    return torch.full((target.size(0), num_classes), off_value).scatter_(1, target.view(-1, 1), on_value)


# ---------------------------------------------------------------------------------------------------

NEG = [[1.0, -INF, 0.0], [0.5, 2.0, -INF], [-INF, 0.3, -0.2], [2.0, -1.0, 0.5]]
NEG_LABELS = [0, 1, 2, 0]
COUNTS = [50, 10, 2]


def grad_case(name, kind, options, logits, labels, per_sample_fn, reduce='mean', weights=None, targets=None):
    z = torch.tensor(logits, requires_grad=True)
    y = torch.tensor(labels) if labels is not None else None
    values = per_sample_fn(z, y)
    if reduce == 'mean':
        loss = values.mean()
    else:
        w = torch.tensor(weights)[y]
        loss = (w * values).sum() / w.sum()
    (grad,) = torch.autograd.grad(loss, z)
    case = {
        'name': name,
        'kind': kind,
        'options': options,
        'logits': encode(logits),
        'labels': labels,
        'values': encode(values.tolist()),
        'loss': encode(loss.item()),
        'grad': grad.tolist(),
    }
    if weights is not None:
        case['reducerWeights'] = list(weights)
    if targets is not None:
        case['targets'] = targets
    return case


def neg_inf_cases():
    tau = 1.0
    n = torch.tensor(COUNTS, dtype=torch.float64)
    shift = torch.log(n / n.sum() + 1e-12)
    # Silencing: class 2 is an auxiliary neighbour of target class 0.
    mask = [[True, True, False], [True, True, True], [False, True, True]]
    cases = [
        grad_case('ce/-inf', 'crossEntropy', {}, NEG, NEG_LABELS, lambda z, y: F.cross_entropy(z, y, reduction='none')),
        grad_case('logitAdjusted/-inf', 'logitAdjusted', {'classCounts': COUNTS, 'tau': 2.0}, NEG, NEG_LABELS,
                  lambda z, y: F.cross_entropy(z + 2.0 * shift, y, reduction='none')),
        grad_case('balancedSoftmax/-inf', 'balancedSoftmax', {'classCounts': COUNTS}, NEG, NEG_LABELS,
                  lambda z, y: F.cross_entropy(z + torch.log(n), y, reduction='none')),
        grad_case('ldam/-inf', 'ldam', {'classCounts': COUNTS, 'maxMargin': 0.5, 'scale': 30}, NEG, NEG_LABELS,
                  lambda z, y: ldam_drw_ldam_loss(z, y, COUNTS)),
        grad_case('focal/-inf', 'focal', {'gamma': 2.0}, NEG, NEG_LABELS,
                  lambda z, y: (1 - torch.exp(-F.cross_entropy(z, y, reduction='none'))) ** 2.0 * F.cross_entropy(z, y, reduction='none')),
        grad_case('neighborSilencing/-inf', 'neighborSilencing', {'classCounts': COUNTS, 'mask': mask, 'tau': tau}, NEG, [0, 1, 1, 0],
                  lambda z, y: silenced_cross_entropy(z, y, COUNTS, mask, tau)),
    ]
    # Class-balanced (LDAM-DRW's weighted CE, F.cross_entropy(weight=w)): values x weights / sum of weights.
    w = ldam_drw_per_cls_weights(COUNTS, 0.9999)
    cases.append(grad_case('ce/-inf/classWeighted', 'crossEntropy', {}, NEG, NEG_LABELS,
                           lambda z, y: F.cross_entropy(z, y, reduction='none'), reduce='weighted', weights=w.tolist()))
    return cases


def smoothing_case():
    """F.cross_entropy(label_smoothing=0.1) with a -inf logit: +inf in PyTorch, with a finite gradient."""
    return grad_case('ce/-inf/labelSmoothing', 'crossEntropy', {'labelSmoothing': 0.1}, [[1.0, -INF, 0.0]], [0],
                     lambda z, y: F.cross_entropy(z, y, reduction='none', label_smoothing=0.1))


def soft_target_cases():
    soft = [[0.7, 0.0, 0.3], [0.2, 0.8, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
    moderate = [[1.0, -0.5, 0.25], [0.3, 2.0, -1.2], [-0.7, 0.1, 0.9], [2.5, -2.0, 0.0]]
    t = torch.tensor(soft)
    out = [grad_case('ce/soft/no-labels', 'crossEntropy', {}, moderate, None,
                     lambda z, y: F.cross_entropy(z, t, reduction='none'), targets=soft)]
    # With -inf logits where the target has no mass, PyTorch's probability-target path gives NaN (0 * -inf);
    # the value there is the limit, sum over q > 0 only (what the library returns).
    out.append(grad_case('ce/soft/-inf-limit', 'crossEntropy', {}, NEG, None,
                         lambda z, y: -torch.where(t > 0, t * F.log_softmax(z, dim=1), torch.zeros_like(z)).sum(1), targets=soft))
    return out


def focal_weighted_cases():
    logits = [[1.2, -0.4, 0.3], [0.1, 0.9, -1.1], [-0.6, 0.2, 1.4], [2.0, -1.5, 0.1], [0.3, 0.3, -0.2], [-1.0, 1.0, 0.5]]
    labels = [0, 1, 2, 2, 1, 0]
    counts = [100, 20, 2]
    out = []
    for gamma in [1.0, 2.0]:
        w = ldam_drw_per_cls_weights(counts, 0.9999)
        wt = torch.tensor(w)
        z = torch.tensor(logits, requires_grad=True)
        y = torch.tensor(labels)
        ce_w = F.cross_entropy(z, y, reduction='none', weight=wt)
        loss = ldam_drw_focal_loss(ce_w, gamma)
        (grad,) = torch.autograd.grad(loss, z)
        # The classWeighted reducer on the unweighted focal values, for contrast.
        zz = torch.tensor(logits)
        ce = F.cross_entropy(zz, y, reduction='none')
        focal = (1 - torch.exp(-ce)) ** gamma * ce
        reducer = ((wt[y] * focal).sum() / wt[y].sum()).item()
        out.append({
            'name': f'focal/ldamDrwWeight/gamma{gamma}',
            'gamma': gamma,
            'logits': logits,
            'labels': labels,
            'classCounts': counts,
            'beta': 0.9999,
            'weights': w.tolist(),
            'values': ((1 - torch.exp(-ce_w)) ** gamma * ce_w).tolist(),
            'loss': loss.item(),
            'grad': grad.tolist(),
            'plainFocalLoss': focal.mean().item(),
            'classWeightedReducerLoss': reducer,
        })
    return out


def silencing_smoothing_cases():
    # 3 target classes + 2 auxiliary: aux 3 neighbours target 0, aux 4 neighbours target 1; aux ignores aux.
    mask = [
        [True, True, True, False, True],
        [True, True, True, True, False],
        [True, True, True, True, True],
        [False, True, True, True, False],
        [True, False, True, False, True],
    ]
    counts = [40, 12, 3, 20, 9]
    logits = [[0.8, -0.3, 0.2, 1.1, -0.5], [0.1, 1.4, -0.9, 0.3, 0.6], [-0.2, 0.4, 0.7, -1.2, 0.2],
              [0.5, -0.1, 0.3, 1.6, 0.9], [1.0, 0.2, -0.4, -0.3, 0.8], [0.3, -0.8, -2.5, 0.1, 0.2]]
    labels = [0, 1, 2, 3, 4, 0]
    out = []
    for eps in [0.1, 0.3]:
        out.append(grad_case(f'neighborSilencing/labelSmoothing{eps}', 'neighborSilencing',
                             {'classCounts': counts, 'mask': mask, 'tau': 1.0, 'labelSmoothing': eps}, logits, labels,
                             lambda z, y, eps=eps: gran_lt_bal_ce(z, timm_smoothed_one_hot(y, 5, eps), y, counts, mask)))
    return out


def supcon_cases():
    g = torch.Generator().manual_seed(12)
    out = []

    def case(name, x, labels, temperature, base, mode='supervised', features='projections'):
        xt = torch.tensor(x, requires_grad=True)
        f = F.normalize(xt, dim=-1)
        if f.dim() == 2:
            f = f.unsqueeze(1)
        y = None if labels is None else torch.tensor(labels)
        loss = supcontrast_supcon(f, y, temperature, base)
        (grad,) = torch.autograd.grad(loss, xt)
        assert math.isfinite(loss.item()), name
        out.append({'name': name, 'features': x, 'labels': labels, 'temperature': temperature, 'baseTemperature': base,
                    'mode': mode, 'featureField': features, 'loss': loss.item(), 'grad': grad.tolist()})

    # Very small temperatures: the features sit in a narrow cone so the official float64 computation (max
    # over all entries, self included) does not underflow: similarities differ by at most ~0.05.
    base_dir = torch.tensor([1.0, 0.5, -0.3, 0.2])
    cone = (base_dir + 0.03 * torch.randn(6, 2, 4, generator=g)).tolist()
    case('tiny-T/1e-4/scale', cone, [0, 1, 0, 2, 1, 2], 1e-4, 0.07)
    case('tiny-T/1e-4/unit', cone, [0, 1, 0, 2, 1, 2], 1e-4, 1e-4)
    case('tiny-T/1e-3/unit', cone, [0, 0, 1, 1, 2, 2], 1e-3, 1e-3)
    moderate = torch.randn(5, 2, 3, generator=g).tolist()
    # SimCLR: no labels, the positives are the other views.
    case('simclr/T0.5', moderate, None, 0.5, 0.5, mode='simclr')
    case('simclr/T0.07-official-pair', moderate, None, 0.07, 0.07, mode='simclr')
    # One view (embeddings [N, D]): anchors without positives count 0 in the mean (fix 72fd989).
    one_view = torch.randn(6, 4, generator=g).tolist()
    case('one-view/no-positive-zero', one_view, [0, 1, 1, 2, 3, 0], 0.1, 0.1, features='embeddings')
    case('one-view/no-positive-zero/official-pair', one_view, [0, 1, 1, 2, 3, 0], 0.07, 0.07, features='embeddings')
    # PML scale 1 vs SupContrast's 0.07 base at temperature 0.1.
    case('two-view/T0.1-scale1', moderate, [0, 1, 0, 1, 2], 0.1, 0.1)
    case('two-view/T0.1-base0.07', moderate, [0, 1, 0, 1, 2], 0.1, 0.07)
    return out


def main():
    # float64 for every tensor the cases make (here, not at import: bench/losses.ts's PyTorch side imports
    # supcontrast_supcon and runs it in float32).
    torch.set_default_dtype(torch.float64)
    out = {
        'generator': 'scripts/golden/losses_official.py',
        'torch': torch.__version__,
        'negInf': neg_inf_cases(),
        'labelSmoothingNegInf': smoothing_case(),
        'softTargets': soft_target_cases(),
        'focalWeighted': focal_weighted_cases(),
        'silencingSmoothing': silencing_smoothing_cases(),
        'supCon': supcon_cases(),
    }
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'losses_official.json')
    with open(path, 'w') as fh:
        json.dump(out, fh, indent=1, allow_nan=False)
    print('wrote', os.path.normpath(path))
    print('ce [[1,-inf,0]] label 0:', F.cross_entropy(torch.tensor([[1.0, -INF, 0.0]]), torch.tensor([0])).item())
    for c in out['focalWeighted']:
        print(c['name'], 'official', c['loss'], 'classWeighted reducer', c['classWeightedReducerLoss'])


if __name__ == '__main__':
    main()
