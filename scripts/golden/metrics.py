"""Golden values for src/metrics: scikit-learn's accuracy, confusion matrix, per-class recall and balanced
accuracy, and ECE (15 bins, Guo et al. 2017's binning) written directly in NumPy.

Run: /usr/bin/python3 scripts/golden/metrics.py  (writes test/golden/metrics.json)
"""
import json
import os

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, recall_score


def ece_numpy(probs, labels, bins=15):
    conf = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    correct = (pred == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(total)


def shot_groups(per_class, train_counts, many_above=100, few_below=20):
    out = {}
    for name, sel in (
        ("many", train_counts > many_above),
        ("medium", (train_counts >= few_below) & (train_counts <= many_above)),
        ("few", train_counts < few_below),
    ):
        vals = per_class[sel & ~np.isnan(per_class)]
        out[name] = {"accuracy": float(vals.mean()) if len(vals) else None, "numClasses": int(len(vals))}
    return out


def case(rng, n, c, skew, absent_class=None):
    # Long-tailed test labels when skew > 0; probabilities from a random softmax that favours the label.
    p = np.exp(-skew * np.arange(c))
    p /= p.sum()
    labels = rng.choice(c, size=n, p=p)
    if absent_class is not None:
        labels[labels == absent_class] = 0
    logits = rng.normal(size=(n, c)) * 1.5
    logits[np.arange(n), labels] += rng.uniform(0.0, 3.0, size=n)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs = probs.astype(np.float32)
    preds = probs.argmax(axis=1)
    train_counts = np.floor(600 * 100.0 ** (-np.arange(c) / (c - 1))).astype(np.int64)
    recall = recall_score(labels, preds, labels=np.arange(c), average=None, zero_division=0)
    present = np.bincount(labels, minlength=c) > 0
    per_class = np.where(present, recall, np.nan)
    return {
        "numClasses": c,
        "labels": labels.tolist(),
        "probabilities": probs.astype(np.float64).ravel().tolist(),
        "predictions": preds.tolist(),
        "trainCounts": train_counts.tolist(),
        "top1": float(accuracy_score(labels, preds)),
        "balancedAccuracy": float(balanced_accuracy_score(labels, preds)),
        "confusion": confusion_matrix(labels, preds, labels=np.arange(c)).ravel().tolist(),
        "perClass": [None if np.isnan(v) else float(v) for v in per_class],
        "groups": shot_groups(per_class, train_counts),
        "ece": ece_numpy(probs.astype(np.float64), labels),
    }


def main():
    rng = np.random.default_rng(20240607)
    cases = [
        case(rng, 200, 4, 0.0),
        case(rng, 500, 10, 0.4),
        case(rng, 300, 10, 0.0, absent_class=7),
        case(rng, 1000, 7, 0.8),
    ]
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "metrics.json")
    with open(out, "w") as f:
        json.dump({"generator": "scripts/golden/metrics.py (scikit-learn, numpy)", "cases": cases}, f)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
