"""Golden values for LADE (Hong et al., CVPR 2021) and GRW (Zhang et al., CVPR 2021), from PyTorch
transcriptions of the official code (float64, CPU, CUDA calls dropped):

- hyperconnect/LADE @ 5db5d13 `loss/PriorCELoss.py` (PriorCELoss, "LADE-CE") and `loss/LADELoss.py`
  (LADELoss: the ReMINE-regularised Donsker-Varadhan bound per class, weighted by the train prior), summed
  as the official configs do (`config/*/lade.yaml`: PerformanceLoss weight 1, RouteWeightLoss weight alpha
  = 0.1, both on the same logits: DotProductClassifier with use_route returns (x, x));
- its inference (`run_networks.py` eval): plain-softmax models `logits - log(p_train)`, LADE models
  `logits + log(p_target)`;
- Megvii-BaseDetection/cvpods `cvpods/modeling/losses/grw_loss.py` GRWCrossEntropyLoss (the loss
  DisAlign's ImageNet-LT config builds, GRW_SCALE = 1.2): w = (1 / (n / sum n)) ** rho normalized to
  sum w = C, then F.cross_entropy(weight=w, reduction='mean').

Run: /usr/bin/python3 scripts/golden/lade_grw.py  -> writes test/golden/lade_grw.json.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------------------------------------------
# Official code, transcribed.


class PriorCELoss:
    """hyperconnect/LADE loss/PriorCELoss.py (img_num_per_cls given directly)."""

    def __init__(self, num_classes, img_num_per_cls):
        self.img_num_per_cls = torch.tensor(img_num_per_cls, dtype=torch.float64)
        self.prior = self.img_num_per_cls / self.img_num_per_cls.sum()
        self.num_classes = num_classes

    def __call__(self, x, y, reduction='mean'):
        logits = x + torch.log(self.prior + 1e-9)
        return F.cross_entropy(logits, y, reduction=reduction)


class LADELoss:
    """hyperconnect/LADE loss/LADELoss.py."""

    def __init__(self, num_classes, img_num_per_cls, remine_lambda=0.1):
        self.img_num_per_cls = torch.tensor(img_num_per_cls, dtype=torch.float64)
        self.prior = self.img_num_per_cls / self.img_num_per_cls.sum()
        self.balanced_prior = torch.tensor(1. / num_classes)
        self.remine_lambda = remine_lambda
        self.num_classes = num_classes
        self.cls_weight = self.img_num_per_cls / torch.sum(self.img_num_per_cls)

    def mine_lower_bound(self, x_p, x_q, num_samples_per_cls):
        N = x_p.size(-1)
        first_term = torch.sum(x_p, -1) / (num_samples_per_cls + 1e-8)
        second_term = torch.logsumexp(x_q, -1) - np.log(N)
        return first_term - second_term, first_term, second_term

    def remine_lower_bound(self, x_p, x_q, num_samples_per_cls):
        loss, first_term, second_term = self.mine_lower_bound(x_p, x_q, num_samples_per_cls)
        reg = (second_term ** 2) * self.remine_lambda
        return loss - reg, first_term, second_term

    def estim(self, y_pred, target):
        per_cls_pred_spread = y_pred.T * (target == torch.arange(0, self.num_classes).view(-1, 1).type_as(target))
        pred_spread = (y_pred - torch.log(self.prior + 1e-9) + torch.log(self.balanced_prior + 1e-9)).T
        num_samples_per_cls = torch.sum(target == torch.arange(0, self.num_classes).view(-1, 1).type_as(target), -1).double()
        estim_loss, _, _ = self.remine_lower_bound(per_cls_pred_spread, pred_spread, num_samples_per_cls)
        return estim_loss

    def __call__(self, y_pred, target):
        return -torch.sum(self.estim(y_pred, target) * self.cls_weight)


def grw_weights(num_samples_list, exp_scale):
    """cvpods grw_loss.py GRWCrossEntropyLoss._init_weights (num_classes = len(list))."""
    num_classes = len(num_samples_list)
    num_shots = np.array(num_samples_list, dtype=np.float64)
    ratio_list = num_shots / np.sum(num_shots)
    exp_reweight = 1 / (ratio_list ** exp_scale)
    exp_reweight = exp_reweight / np.sum(exp_reweight) * num_classes
    return exp_reweight


# ---------------------------------------------------------------------------------------------------


def lade_case(name, logits, labels, counts, alpha, remine_lambda):
    c = len(counts)
    prior_ce = PriorCELoss(c, counts)
    lade = LADELoss(c, counts, remine_lambda)
    z = torch.tensor(logits, requires_grad=True)
    y = torch.tensor(labels)
    ce_values = prior_ce(z, y, reduction='none')
    ce = ce_values.mean()
    bounds = lade.estim(z, y)
    reg = lade(z, y)
    total = 1.0 * ce + alpha * reg
    (grad,) = torch.autograd.grad(total, z, retain_graph=True)
    (reg_grad,) = torch.autograd.grad(reg, z)
    return {
        'name': name,
        'logits': logits,
        'labels': labels,
        'classCounts': counts,
        'alpha': alpha,
        'remineLambda': remine_lambda,
        'priorCEValues': ce_values.tolist(),
        'priorCE': ce.item(),
        'bounds': bounds.tolist(),
        'lader': reg.item(),
        'total': total.item(),
        'grad': grad.tolist(),
        'laderGrad': reg_grad.tolist(),
    }


def lade_cases():
    g = torch.Generator().manual_seed(16)
    out = []
    # Class 3 is absent from the batch (its first term is 0, its second term still counts).
    z = (1.5 * torch.randn(8, 4, generator=g)).tolist()
    out.append(lade_case('lade/absent-class', z, [0, 0, 1, 2, 0, 1, 0, 2], [50, 20, 5, 1], 0.1, 0.1))
    out.append(lade_case('lade/alpha1-lambda0', z, [0, 3, 1, 2, 0, 1, 3, 2], [50, 20, 5, 1], 1.0, 0.0))
    z5 = (2.0 * torch.randn(10, 5, generator=g)).tolist()
    out.append(lade_case('lade/zero-count', z5, [0, 1, 4, 0, 1, 3, 0, 4, 1, 0], [40, 12, 0, 3, 1], 0.1, 0.1))
    out.append(lade_case('lade/single-sample', [[0.3, -1.2, 0.8]], [2], [10, 5, 1], 0.5, 0.2))
    return out


def inference_cases():
    g = torch.Generator().manual_seed(17)
    z = (1.5 * torch.randn(5, 4, generator=g))
    train = [50, 20, 5, 1]
    target = [3, 10, 10, 30]
    p_train = torch.tensor(train, dtype=torch.float64) / sum(train)
    p_target = torch.tensor(target, dtype=torch.float64) / sum(target)
    return {
        'logits': z.tolist(),
        'trainCounts': train,
        'targetCounts': target,
        # run_networks.py eval, "Softmax" criterion branch (a plain-softmax model, uniform test set).
        'softmaxBranch': (z - torch.log(p_train)).tolist(),
        # run_networks.py eval, other branch (a LADE / PriorCE model): + log p_phase.
        'ladeBranch': (z + torch.log(p_target)).tolist(),
        'ladeBranchUniform': (z + torch.log(torch.full((4,), 0.25))).tolist(),
    }


def grw_cases():
    counts = [500, 120, 30, 8, 2]
    weights = {str(rho): grw_weights(counts, rho).tolist() for rho in [0.0, 0.5, 1.0, 1.2]}
    g = torch.Generator().manual_seed(18)
    logits = (1.5 * torch.randn(7, 5, generator=g)).tolist()
    labels = [0, 1, 4, 2, 0, 3, 1]
    losses = []
    for rho in [0.5, 1.2]:
        w = torch.tensor(grw_weights(counts, rho))
        z = torch.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(z, torch.tensor(labels), weight=w, reduction='mean')
        (grad,) = torch.autograd.grad(loss, z)
        losses.append({'rho': rho, 'loss': loss.item(), 'grad': grad.tolist()})
    return {'classCounts': counts, 'weights': weights, 'logits': logits, 'labels': labels, 'losses': losses}


def main():
    out = {
        'generator': 'scripts/golden/lade_grw.py',
        'torch': torch.__version__,
        'lade': lade_cases(),
        'inference': inference_cases(),
        'grw': grw_cases(),
    }
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'lade_grw.json')
    with open(path, 'w') as fh:
        json.dump(out, fh, indent=1, allow_nan=False)
    print('wrote', os.path.normpath(path))
    for c in out['lade']:
        print(c['name'], 'priorCE', c['priorCE'], 'lader', c['lader'], 'total', c['total'])


if __name__ == '__main__':
    main()
