"""Makes the feature files of examples/latent-synthesis.ts: "features a user computed elsewhere".

A small PyTorch MLP encoder (784 -> 128 -> 32, ReLU) is trained briefly with plain cross-entropy on the
shipped long-tailed Fashion-MNIST subset (data/fashion-mnist-lt-600, 1,485 images, IF 100); its 32-d
penultimate features of the training set and of the balanced 2,000-image test set are saved with
numpy.save (format 1.0, '<f4', C order), the labels as int64 ('<i8', numpy's default integer on Linux).
A metadata file records what was done. Seeded and single-threaded: re-running rewrites identical files.

Run: /usr/bin/python3 scripts/make-example-features.py   (torch 1.13, numpy)
"""
import gzip
import json
import os

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "data", "fashion-mnist-lt-600")
OUT = os.path.join(ROOT, "examples", "data", "fmnist-lt-features")
SEED = 0
EPOCHS = 15
HIDDEN, DIM = 128, 32


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


def load(prefix):
    x = read_idx(os.path.join(SRC, f"{prefix}-images-idx3-ubyte.gz"), 16).reshape(-1, 784)
    y = read_idx(os.path.join(SRC, f"{prefix}-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    encoder = torch.nn.Sequential(
        torch.nn.Linear(784, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, DIM), torch.nn.ReLU()
    )
    head = torch.nn.Linear(DIM, 10)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        perm = torch.randperm(len(y_train), generator=gen)
        for start in range(0, len(perm), 128):
            idx = perm[start : start + 128]
            loss = torch.nn.functional.cross_entropy(head(encoder(x_train[idx])), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    encoder.eval()
    os.makedirs(OUT, exist_ok=True)
    with torch.no_grad():
        for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
            feats = np.ascontiguousarray(encoder(x).numpy().astype("<f4"))
            np.save(os.path.join(OUT, f"{split}-features.npy"), feats)
            np.save(os.path.join(OUT, f"{split}-labels.npy"), y.numpy().astype("<i8"))
    meta = {
        "description": "32-d penultimate (ReLU) features of a PyTorch MLP encoder trained briefly on the long-tailed subset",
        "source": "data/fashion-mnist-lt-600 (train: 1,485 images, IF 100; test: 2,000 images, 200 per class)",
        "encoder": f"Linear(784,{HIDDEN})-ReLU-Linear({HIDDEN},{DIM})-ReLU, inputs x/255",
        "training": f"cross-entropy through a Linear({DIM},10) head, Adam lr 1e-3, batch 128, {EPOCHS} epochs, seed {SEED}",
        "files": {
            "train-features.npy": [int(len(y_train)), DIM],
            "train-labels.npy": [int(len(y_train))],
            "test-features.npy": [int(len(y_test)), DIM],
            "test-labels.npy": [int(len(y_test))],
        },
        "trainCounts": np.bincount(y_train.numpy(), minlength=10).tolist(),
        "made_by": "/usr/bin/python3 scripts/make-example-features.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
