"""PyTorch side of bench/backends.ts: one SGD step (lr 0.01, mean softmax cross-entropy, loss read back with
.item()) of the bench's linear head, MLP and small CNN on one thread, from the inputs and initial weights the
TypeScript bench wrote (tfjs layouts: NHWC images, HWIO kernels, [in, out] dense weights; converted here to
PyTorch's NCHW / OIHW / [out, in]). Also times the small CNN's convolution kernels alone (forward, and the
backward with the gradients the step needs: the filter's for both layers, the input's for the second only).
The CNN runs twice: as PyTorch runs by default, and again after raising glibc's mmap and trim thresholds
(mallopt), so its multi-MB activation buffers are reused from the heap instead of being mapped afresh each
step; the page faults of fresh mappings are slow on a loaded machine (a cost allocators like jemalloc also
remove), so this second figure is PyTorch's cost without them.
Usage: /usr/bin/python3 scripts/bench/backends_bench.py <dir>
<dir>/spec.json lists the workloads; prints one JSON object
{versions, workloads: [{kind, loss, step, stepBest}], cnnHeap: {kind, loss, step, stepBest},
convs: {forward, backward, forwardBest, backwardBest}, convsHeap: {...}} with times in ms (loss: the loss at the
initial weights; step: median step; stepBest: fastest step)."""
import ctypes
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from timing import times_ms


def load(folder, entry):
    return torch.from_numpy(np.fromfile(os.path.join(folder, entry['file']), dtype=np.float32).reshape(entry['shape']).copy())


def dense(w):
    """tfjs [in, out] -> PyTorch's nn.Linear layout [out, in]."""
    return w.t().contiguous()


def model(kind, params):
    """The workload's forward pass and its trainable tensors, in PyTorch layouts."""
    if kind == 'linear':
        w, b = dense(params[0]), params[1]
        return (lambda x: F.linear(x, w, b)), [w, b]
    if kind == 'mlp':
        w1, b1, w2, b2 = dense(params[0]), params[1], dense(params[2]), params[3]
        return (lambda x: F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)), [w1, b1, w2, b2]
    if kind == 'cnn':
        k1, b1, k2, b2, w, b = params
        k1 = k1.permute(3, 2, 0, 1).contiguous()
        k2 = k2.permute(3, 2, 0, 1).contiguous()
        # tfjs flattens NHWC as (h, w, c); PyTorch flattens NCHW as (c, h, w): reorder the dense rows to match.
        hw, c = w.shape[0] // k2.shape[0], k2.shape[0]
        side = int(round(hw ** 0.5))
        w = dense(w.reshape(side, side, c, -1).permute(2, 0, 1, 3).reshape(c * hw, -1))

        def forward(x):
            h = F.max_pool2d(F.relu(F.conv2d(x, k1, b1, padding=1)), 2)
            h = F.max_pool2d(F.relu(F.conv2d(h, k2, b2, padding=1)), 2)
            return F.linear(h.flatten(1), w, b)

        return forward, [k1, b1, k2, b2, w, b]
    raise ValueError(kind)


def nchw(x_nhwc):
    """NHWC images as a contiguous NCHW tensor (PyTorch's default layout, as a DataLoader gives it)."""
    return x_nhwc.permute(0, 3, 1, 2).clone(memory_format=torch.contiguous_format)


def keep_heap():
    """glibc: serve allocations up to 32 MB (the largest allowed threshold) from the heap and never trim it."""
    libc = ctypes.CDLL('libc.so.6')
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024) and libc.mallopt(m_trim_threshold, 2**31 - 1)
    if not ok:
        raise RuntimeError('mallopt failed')


def run_workload(folder, spec):
    x = load(folder, spec['x'])
    if spec['kind'] == 'cnn':
        x = nchw(x)
    y = torch.from_numpy(np.fromfile(os.path.join(folder, spec['y']), dtype=np.int32).astype(np.int64))
    forward, params = model(spec['kind'], [load(folder, p) for p in spec['params']])
    for p in params:
        p.requires_grad_(True)
    with torch.no_grad():
        loss0 = float(F.cross_entropy(forward(x), y))
    opt = torch.optim.SGD(params, lr=0.01)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    t = times_ms(step, spec['warmup'], spec['runs'])
    return {'kind': spec['kind'], 'loss': loss0, 'step': float(np.median(t)), 'stepBest': float(np.min(t))}


def conv_times(spec):
    """The small CNN's convolution kernels alone at the step's shapes (3x3, padding 1, NCHW), median and fastest ms."""
    g = torch.Generator().manual_seed(0)
    n, size, c0, c1, c2 = spec['batch'], spec['size'], spec['channels'][0], spec['channels'][1], spec['channels'][2]
    x1 = nchw(torch.randn(n, size, size, c0, generator=g))
    layers = [
        (x1, torch.randn(c1, c0, 3, 3, generator=g), [False, True, False]),
        (torch.randn(n, c1, size // 2, size // 2, generator=g), torch.randn(c2, c1, 3, 3, generator=g), [True, True, False]),
    ]
    dys = [torch.randn(n, k.shape[0], x.shape[2], x.shape[3], generator=g) for x, k, _ in layers]

    def forward():
        for x, k, _ in layers:
            F.conv2d(x, k, padding=1)

    def backward():
        for (x, k, mask), dy in zip(layers, dys):
            torch.ops.aten.convolution_backward(dy, x, k, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)

    with torch.no_grad():
        f = times_ms(forward, 2, spec['runs'])
        b = times_ms(backward, 2, spec['runs'])
    return {'forward': float(np.median(f)), 'backward': float(np.median(b)), 'forwardBest': float(np.min(f)), 'backwardBest': float(np.min(b))}


def main(folder):
    torch.set_num_threads(1)
    spec = json.load(open(os.path.join(folder, 'spec.json')))
    out = {
        'versions': {'torch': torch.__version__, 'numpy': np.__version__, 'threads': torch.get_num_threads()},
        'workloads': [run_workload(folder, w) for w in spec['workloads']],
        'convs': conv_times(spec['convs']),
    }
    keep_heap()
    out['cnnHeap'] = run_workload(folder, next(w for w in spec['workloads'] if w['kind'] == 'cnn'))
    out['convsHeap'] = conv_times(spec['convs'])
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1])
