"""Golden values and gradients for BCL and PaCo from PyTorch transcriptions of the official code (float64, CPU):

- FlamieZhu/Balanced-Contrastive-Learning loss/contrastive.py `BalSCL.forward` (two views, as official),
  generalised to V views only by replacing its hard-coded 2 with V (the one-view cases use V = 1); the
  features and centres are L2-normalized first, as the official model returns them
  (`F.normalize(head(feat))`, `F.normalize(head_fc(fc.weight.T))`); gradients w.r.t. the raw inputs;
- dvlab-research/Parametric-Contrastive-Learning PaCo/LT/losses.py `PaCoLoss.forward` with K = 0 (no MoCo
  queue), features = [q; k] (two views) with q, k normalized as the MoCo builder does, sup_logits the
  classifier's logits, with and without `cal_weight_for_classes` (the logit adjustment); and
  GPaCo/LT/losses.py `PaCoLoss.forward` (one view, `smooth`).

Run: /usr/bin/python3 scripts/golden/centre_contrastive.py -> writes test/golden/centre_contrastive.json.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def balscl(centers1, features, targets, num_classes, temperature, views=2):
    """BalSCL.forward, its `2` replaced by `views` (CUDA device logic dropped)."""
    batch_size = features.shape[0]
    targets = targets.contiguous().view(-1, 1)
    targets_centers = torch.arange(num_classes).view(-1, 1)
    targets = torch.cat([targets.repeat(views, 1), targets_centers], dim=0)
    batch_cls_count = torch.eye(num_classes)[targets].sum(dim=0).squeeze()
    mask = torch.eq(targets[:views * batch_size], targets.T).double()
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(batch_size * views).view(-1, 1), 0)
    mask = mask * logits_mask
    features = torch.cat(torch.unbind(features, dim=1), dim=0)
    features = torch.cat([features, centers1], dim=0)
    logits = features[:views * batch_size].mm(features.T)
    logits = torch.div(logits, temperature)
    logits_max, _ = torch.max(logits, dim=1, keepdim=True)
    logits = logits - logits_max.detach()
    exp_logits = torch.exp(logits) * logits_mask
    per_ins_weight = torch.tensor([batch_cls_count[i] for i in targets]).view(1, -1).expand(
        views * batch_size, views * batch_size + num_classes) - mask
    exp_logits_sum = exp_logits.div(per_ins_weight).sum(dim=1, keepdim=True)
    log_prob = logits - torch.log(exp_logits_sum)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
    loss = -mean_log_prob_pos
    per_anchor = loss
    loss = loss.view(views, batch_size).mean()
    return loss, per_anchor


def paco(features, labels, sup_logits, num_classes, alpha, beta=1.0, gamma=1.0, supt=1.0, temperature=1.0,
         base_temperature=None, weight=None, smooth=0.0, two_view=True):
    """PaCo/LT PaCoLoss.forward with K = 0 (two_view: batch_size = n // 2) or GPaCo/LT's (one view:
    batch_size = n; with its `smooth`). `weight` is cal_weight_for_classes's prior, or None (no adjustment,
    as PaCo/Full-ImageNet and GPaCo without counts)."""
    base_temperature = temperature if base_temperature is None else base_temperature
    batch_size = features.shape[0] // 2 if two_view else features.shape[0]
    labels = labels.contiguous().view(-1, 1)
    mask = torch.eq(labels[:batch_size], labels.T).double()
    anchor_dot_contrast = torch.div(torch.matmul(features[:batch_size], features.T), temperature)
    if weight is not None:
        anchor_dot_contrast = torch.cat(((sup_logits + torch.log(weight + 1e-9)) / supt, anchor_dot_contrast), dim=1)
    else:
        anchor_dot_contrast = torch.cat((sup_logits / supt, anchor_dot_contrast), dim=1)
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(batch_size).view(-1, 1), 0)
    mask = mask * logits_mask
    one_hot_label = F.one_hot(labels[:batch_size, ].view(-1, ), num_classes=num_classes).double()
    one_hot_label = smooth / (num_classes - 1) * (1 - one_hot_label) + (1 - smooth) * one_hot_label
    mask = torch.cat((one_hot_label * beta, mask * alpha), dim=1)
    logits_mask = torch.cat((torch.ones(batch_size, num_classes), gamma * logits_mask), dim=1)
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True) + 1e-12)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
    per_anchor = -(temperature / base_temperature) * mean_log_prob_pos
    return per_anchor.mean(), per_anchor


G = torch.Generator().manual_seed(16)


def randn(*shape, scale=1.0):
    return (scale * torch.randn(*shape, generator=G)).tolist()


def bcl_cases():
    out = []

    def case(name, x, centres, labels, num_classes, temperature):
        xt = torch.tensor(x, requires_grad=True)
        ct = torch.tensor(centres, requires_grad=True)
        f = F.normalize(xt, dim=-1)
        views = 1 if f.dim() == 2 else f.shape[1]
        if f.dim() == 2:
            f = f.unsqueeze(1)
        loss, per = balscl(F.normalize(ct, dim=1), f, torch.tensor(labels), num_classes, temperature, views)
        gx, gc = torch.autograd.grad(loss, [xt, ct])
        out.append({'name': name, 'features': x, 'centres': centres, 'labels': labels, 'temperature': temperature,
                    'values': per.tolist(), 'loss': loss.item(), 'gradFeatures': gx.tolist(), 'gradCentres': gc.tolist()})

    two = randn(6, 2, 5)
    centres4 = randn(4, 5)
    # Class 3 is absent from the batch: it is present only through its centre.
    for t in [0.07, 0.1, 0.5]:
        case(f'two-view/T{t}/absent-class', two, centres4, [0, 1, 0, 2, 1, 0], 4, t)
    one = randn(7, 5)
    case('one-view/T0.1/singleton-class', one, centres4, [0, 0, 1, 2, 2, 2, 0], 4, 0.1)
    case('one-view/T0.2/all-singletons', randn(3, 5), centres4, [0, 1, 3], 4, 0.2)
    three = randn(4, 3, 5)
    case('three-view/T0.1', three, centres4, [1, 1, 3, 0], 4, 0.1)
    return out


def paco_cases():
    out = []
    counts = [60, 20, 5, 1]

    def case(name, q_k, logits, labels, num_classes, alpha, temperature, beta=1.0, gamma=1.0, supt=1.0, base=None,
             counts_=None, smooth=0.0):
        xt = torch.tensor(q_k, requires_grad=True)
        zt = torch.tensor(logits, requires_grad=True)
        f = F.normalize(xt, dim=-1)
        two_view = f.dim() == 3
        y = torch.tensor(labels)
        if two_view:
            feats = torch.cat(torch.unbind(f, dim=1), dim=0)
            target = torch.cat([y, y], dim=0)
        else:
            feats, target = f, y
        weight = None
        if counts_ is not None:
            c = torch.tensor(counts_, dtype=torch.float64).view(1, num_classes)
            weight = c / c.sum()
        loss, per = paco(feats, target, zt, num_classes, alpha, beta, gamma, supt, temperature, base, weight, smooth, two_view)
        gx, gz = torch.autograd.grad(loss, [xt, zt])
        out.append({'name': name, 'features': q_k, 'logits': logits, 'labels': labels, 'alpha': alpha, 'beta': beta,
                    'gamma': gamma, 'logitTemperature': supt, 'temperature': temperature,
                    'baseTemperature': temperature if base is None else base, 'classCounts': counts_,
                    'labelSmoothing': smooth, 'values': per.tolist(), 'loss': loss.item(),
                    'gradFeatures': gx.tolist(), 'gradLogits': gz.tolist()})

    qk = randn(6, 2, 5)
    z = randn(6, 4, scale=2.0)
    labels = [0, 1, 0, 2, 1, 0]  # class 3 absent
    case('two-view/T0.2/alpha0.05/plain', qk, z, labels, 4, 0.05, 0.2)
    case('two-view/T0.2/alpha0.05/logitAdjusted', qk, z, labels, 4, 0.05, 0.2, counts_=counts)
    case('two-view/T0.05/alpha0.01/logitAdjusted', qk, z, labels, 4, 0.01, 0.05, counts_=counts)
    case('two-view/T0.07/base0.1/alpha1/beta0.5/gamma0.5/supt2', qk, z, labels, 4, 1.0, 0.07, beta=0.5, gamma=0.5, supt=2.0, base=0.1)
    one = randn(7, 5)
    z1 = randn(7, 4, scale=2.0)
    case('one-view/gpaco/T0.2/alpha1/smooth0.1/logitAdjusted', one, z1, [0, 0, 1, 2, 2, 2, 0], 4, 1.0, 0.2, counts_=counts, smooth=0.1)
    case('one-view/gpaco/T0.5/alpha0.05', one, z1, [0, 0, 1, 2, 2, 2, 0], 4, 0.05, 0.5)
    return out


def main():
    out = {'generator': 'scripts/golden/centre_contrastive.py', 'torch': torch.__version__, 'bcl': bcl_cases(), 'paco': paco_cases()}
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'centre_contrastive.json')
    with open(path, 'w') as fh:
        json.dump(out, fh, indent=1, allow_nan=False)
    print('wrote', os.path.normpath(path))
    for c in out['bcl'] + out['paco']:
        print(c['name'], c['loss'])


if __name__ == '__main__':
    main()
