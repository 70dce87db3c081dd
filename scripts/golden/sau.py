"""Golden values for SAU's synthetic-aware branch (src/recipes/sau-contrastive.ts), written from
methods.md ("SAU dual branch") and the official code lgX1123/gm4lt (`loss/ContrastiveLoss.py` SCL,
`loss/MixLoss.py`), with PyTorch in float64 and scikit-learn for the Euclidean 1-NN.

Run: /usr/bin/python3 scripts/golden/sau.py  → writes test/golden/sau.json.

A hand-made batch of 8 samples (3 real, 5 synthetic) with two views of 3-d unit projections, and class
prototypes (means of unit vectors, shorter than 1) for classes 0, 1, 2. The label correction marks a
synthetic sample clean iff its nearest neighbour among [real samples; prototypes] has its label in both
views, by cosine similarity (the paper) or Euclidean distance (the official KNeighborsClassifier).
The contrastive loss is SupCon at T = 0.1 without T/T_base scaling, over the rows
[real; prototypes; synthetic] (every row an anchor, both views), with noisy synthetic rows dropped
('drop'), relabelled -1, -2, ... ('pos_neg'), or relabelled -1 and left out of the anchor mean
('neg_only'): the official SCL.forward, re-implemented here.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.neighbors import KNeighborsClassifier

torch.set_default_dtype(torch.float64)
T = 0.1


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


# Batch order: r0, s0, r1, s1, s2, r2, s3, s4 (r = real, s = synthetic).
rows = [
    # (label, synthetic, view 0, view 1)
    (0, 0, [1, 0, 0], [1, 0.1, 0]),
    (0, 1, [1, 0.02, 0.01], [1, 0.05, 0.02]),  # s0: clean in both views
    (1, 0, [0, 1, 0], [0.1, 1, 0]),
    (1, 1, [0.1, 1, 0.05], [1, 0, 0.1]),  # s1: right in view 0 only -> noisy
    (0, 1, [1, 0.45, 0.3], [1, 0.3, 0.2]),  # s2: cosine -> prototype 0, Euclidean -> real r2 (class 2)
    (2, 0, [1, 0.6, 0.0], [0, 0, 1]),
    (2, 1, [0, 0.05, 1], [0.02, 0, 1]),  # s3: clean
    (1, 1, [0, 0, 1], [0, 0.1, 1]),  # s4: wrong in both views -> noisy
]
labels = np.array([r[0] for r in rows])
synthetic = np.array([r[1] for r in rows])
features = np.stack([np.stack([unit(r[2]), unit(r[3])]) for r in rows]).astype(np.float32).astype(np.float64)
# Prototypes: means of unit vectors, so shorter than 1 (not re-normalized, as in the official code).
proto_dirs = [
    ([1, 0.35, 0.35], [1, 0.05, 0.05]),
    ([0, 1, 0.1], [0.05, 1, 0]),
    ([0, 0.1, 1], [0, 0, 1]),
]
prototypes = np.stack([np.stack([0.6 * unit(a), 0.6 * unit(b)]) for a, b in proto_dirs]).astype(np.float32).astype(np.float64)
proto_labels = np.array([0, 1, 2])


def nearest_cosine(ref, q):
    rn = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    return np.argmax(qn @ rn.T, axis=1)


def relabel(real_f, real_y, syn_f, syn_y, metric, strategy):
    """Official SCL.relabel: 1-NN per view; clean iff both views agree with the synthetic label."""
    preds = []
    for v in range(2):
        if metric == 'euclidean':
            knn = KNeighborsClassifier(n_neighbors=1)
            knn.fit(real_f[:, v], real_y)
            preds.append(knn.predict(syn_f[:, v]))
        else:
            preds.append(real_y[nearest_cosine(real_f[:, v], syn_f[:, v])])
    noisy = ~((preds[0] == syn_y) & (preds[1] == syn_y))
    new = syn_y.copy()
    if strategy == 'pos_neg':
        new[noisy] = -1 * np.arange(1, noisy.sum() + 1)
    else:
        new[noisy] = -1
    return new, noisy


def scl(feats, labs, is_syn, protos, proto_labs, metric, strategy):
    """Official SCL.forward in float64 (T = 0.1, no T/T_base factor)."""
    real_f = feats[is_syn == 0]
    real_y = labs[is_syn == 0]
    syn_f = feats[is_syn == 1]
    syn_y = labs[is_syn == 1]
    if protos is not None:
        real_f = np.concatenate([real_f, protos], 0)
        real_y = np.concatenate([real_y, proto_labs], 0)
    new_syn, noisy = relabel(real_f, real_y, syn_f, syn_y, metric, strategy)
    if strategy == 'drop':
        syn_f = syn_f[new_syn != -1]
        new_syn = new_syn[new_syn != -1]
    f = torch.tensor(np.concatenate([real_f, syn_f], 0))
    y = torch.tensor(np.concatenate([real_y, new_syn], 0)).view(-1, 1)
    n = f.shape[0]
    mask = torch.eq(y, y.T).double()
    views = f.shape[1]
    contrast = torch.cat(torch.unbind(f, dim=1), dim=0)
    logits = contrast @ contrast.T / T
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    mask = mask.repeat(views, views)
    self_mask = torch.ones_like(mask)
    self_mask[torch.arange(n * views), torch.arange(n * views)] = 0
    mask = mask * self_mask
    exp_logits = torch.exp(logits) * self_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    pos = mask.sum(1)
    pos = torch.where(pos < 1e-6, torch.ones_like(pos), pos)
    mean_log_prob_pos = (mask * log_prob).sum(1) / pos
    if strategy == 'neg_only':
        noise_mask = (y.flatten().repeat(views) != -1).double()
        loss = (-mean_log_prob_pos * noise_mask).sum() / noise_mask.sum()
    else:
        loss = (-mean_log_prob_pos).mean()
    # Noisy flags in batch order.
    flags = np.zeros(len(labs), dtype=int)
    flags[np.where(is_syn == 1)[0][noisy]] = 1
    return float(loss), flags.tolist()


out = {
    'temperature': T,
    'labels': labels.tolist(),
    'synthetic': synthetic.tolist(),
    'features': features.tolist(),
    'prototypes': prototypes.tolist(),
    'prototypeLabels': proto_labels.tolist(),
    'cases': [],
}
names = {'drop': 'drop', 'pos_neg': 'posNeg', 'neg_only': 'negOnly'}
for metric in ['cosine', 'euclidean']:
    for strategy in ['drop', 'pos_neg', 'neg_only']:
        for with_protos in [True, False]:
            loss, noisy = scl(features, labels, synthetic, prototypes if with_protos else None, proto_labels, metric, strategy)
            out['cases'].append({'metric': metric, 'strategy': names[strategy], 'prototypes': with_protos, 'loss': loss, 'noisy': noisy})

# The design must exercise the rule: view disagreement, metric disagreement.
by = {(c['metric'], c['strategy'], c['prototypes']): c for c in out['cases']}
cos_noisy = by[('cosine', 'drop', True)]['noisy']
euc_noisy = by[('euclidean', 'drop', True)]['noisy']
assert cos_noisy != euc_noisy, (cos_noisy, euc_noisy)
assert cos_noisy[3] == 1 and cos_noisy[1] == 0 and cos_noisy[6] == 0 and cos_noisy[7] == 1, cos_noisy
assert cos_noisy[4] == 0 and euc_noisy[4] == 1, (cos_noisy, euc_noisy)

out['noisyRowsCosine'] = [i for i, f in enumerate(cos_noisy) if f == 1]

# Soft-target cross-entropy of the mix branch (official MixLoss): -mean_i sum_j t_ij log softmax(z_i)_j.
g = np.random.default_rng(3)
z = g.normal(0, 1.5, (4, 3))
lam = 0.3
y1 = np.array([0, 1, 2, 1])
perm = np.array([2, 0, 3, 1])
t = lam * np.eye(3)[y1] + (1 - lam) * np.eye(3)[y1[perm]]
soft_ce = float(-(torch.tensor(t) * F.log_softmax(torch.tensor(z), dim=1)).sum(1).mean())
out['softCe'] = {'logits': z.tolist(), 'labels': y1.tolist(), 'permutation': perm.tolist(), 'lambda': lam, 'value': soft_ce}

path = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'sau.json')
with open(path, 'w') as fh:
    json.dump(out, fh, indent=1)
print('wrote', os.path.normpath(path))
for c in out['cases']:
    print(c['metric'], c['strategy'], c['prototypes'], round(c['loss'], 6), c['noisy'])
