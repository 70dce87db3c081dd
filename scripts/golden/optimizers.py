"""Golden values for src/train/optimizers.ts: PyTorch SGD (momentum, nesterov, weight decay), Adam with L2
weight decay and AdamW, applied to fixed parameters with a fixed sequence of gradients.

Run: /usr/bin/python3 scripts/golden/optimizers.py  (writes test/golden/optimizers.json)
"""
import json
import os

import torch

torch.manual_seed(0)
P0 = torch.randn(3, 4, dtype=torch.float64)
GRADS = [torch.randn(3, 4, dtype=torch.float64) for _ in range(6)]
LRS = [0.1, 0.1, 0.05, 0.05, 0.02, 0.02]

CASES = {
    "sgd": dict(cls=torch.optim.SGD, spec=dict(kind="sgd", learningRate=0.1), kw=dict()),
    "sgd_momentum_wd": dict(cls=torch.optim.SGD, spec=dict(kind="sgd", learningRate=0.1, momentum=0.9, weightDecay=5e-4), kw=dict(momentum=0.9, weight_decay=5e-4)),
    "sgd_nesterov": dict(cls=torch.optim.SGD, spec=dict(kind="sgd", learningRate=0.1, momentum=0.9, nesterov=True), kw=dict(momentum=0.9, nesterov=True)),
    "adam_l2": dict(cls=torch.optim.Adam, spec=dict(kind="adam", learningRate=0.1, weightDecay=5e-2), kw=dict(weight_decay=5e-2)),
    "adamw": dict(cls=torch.optim.AdamW, spec=dict(kind="adamw", learningRate=0.1, weightDecay=1e-1), kw=dict(weight_decay=1e-1)),
}

out = {"p0": P0.flatten().tolist(), "shape": list(P0.shape), "grads": [g.flatten().tolist() for g in GRADS], "lrs": LRS, "cases": {}}
for name, case in CASES.items():
    p = torch.nn.Parameter(P0.clone())
    opt = case["cls"]([p], lr=LRS[0], **case["kw"])
    trajectory = []
    for g, lr in zip(GRADS, LRS):
        for group in opt.param_groups:
            group["lr"] = lr
        p.grad = g.clone()
        opt.step()
        trajectory.append(p.detach().flatten().tolist())
    out["cases"][name] = {"spec": case["spec"], "trajectory": trajectory}

path = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "optimizers.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
