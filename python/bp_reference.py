#!/usr/bin/env python3
"""An independent BP baseline for M/1/16 on the MNIST sample, in numpy (Debian: python3-numpy).

It shares no code with the library: the model (784 -> 512 dense, LayerNorm without affine, ReLU,
16 groups of 32 -> 32, per-group LayerNorm, ReLU, 512 -> 10) and its backward pass are written out here,
and trained with PyTorch's SGD update (buf = m * buf + g + wd * w on weights; w -= lr * buf), a
per-step linear warm-up of one epoch and a linear decay to 0. docs/RESULTS.md ("BP at 10 epochs")
uses it to tell a difference in the library from what the recipe itself gives.

    python3 python/bp_reference.py --data data/mnist-sample --lr 0.3 --seed 1

prints one JSON line: the final test and train error (%) and the test error after every epoch.
--init and --final-init choose PyTorch's nn.Linear initialisation or the library's (weights
N(0, s^2), s = min(2 / sqrt(fan_in), 0.1), biases 0, final classifier 0); --last-layer-mode lr scales the
final classifier's learning rate (its weight decay too), grad its gradient, as the library does.
"""
import argparse
import json
import os
import struct

import numpy as np

CHANNELS, GROUPS = 512, 16
WIDTH = CHANNELS // GROUPS  # channels per group
EPS = 1e-5


def read_idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder):
    def part(name):
        return read_idx(os.path.join(folder, name))
    return (part('train-images-idx3-ubyte').reshape(-1, 784), part('train-labels-idx1-ubyte').astype(np.int64),
            part('t10k-images-idx3-ubyte').reshape(-1, 784), part('t10k-labels-idx1-ubyte').astype(np.int64))


def layer_norm(h):
    """LN over the last axis: the normalised values and 1 / std."""
    centred = h - h.mean(-1, keepdims=True)
    rstd = 1.0 / np.sqrt((centred * centred).mean(-1, keepdims=True) + EPS)
    return centred * rstd, rstd


def layer_norm_backward(dz, z, rstd):
    return rstd * (dz - dz.mean(-1, keepdims=True) - z * (dz * z).mean(-1, keepdims=True))


def forward(p, x):
    """Logits and what the backward pass needs. x: (B, 784)."""
    batch = x.shape[0]
    z1, r1 = layer_norm(x @ p['W1'] + p['b1'])                       # (B, C)
    a1 = np.maximum(z1, 0).reshape(batch, GROUPS, WIDTH)             # (B, G, C/G)
    h2 = np.einsum('bgi,gij->bgj', a1, p['W2']) + p['b2'].reshape(GROUPS, WIDTH)
    z2, r2 = layer_norm(h2)                                          # per group
    a2 = np.maximum(z2, 0).reshape(batch, CHANNELS)
    return a2 @ p['Wf'] + p['bf'], (z1, r1, a1, z2, r2, a2)


def gradients(p, x, y):
    batch = x.shape[0]
    logits, (z1, r1, a1, z2, r2, a2) = forward(p, x)
    e = np.exp(logits - logits.max(1, keepdims=True))
    dlogits = e / e.sum(1, keepdims=True)
    dlogits[np.arange(batch), y] -= 1
    dlogits /= batch                                                 # mean cross-entropy
    g = {'Wf': a2.T @ dlogits, 'bf': dlogits.sum(0)}
    dz2 = (dlogits @ p['Wf'].T).reshape(batch, GROUPS, WIDTH) * (z2 > 0)
    dh2 = layer_norm_backward(dz2, z2, r2)
    g['W2'] = np.einsum('bgi,bgj->gij', a1, dh2)
    g['b2'] = dh2.sum(0).reshape(CHANNELS)
    dz1 = np.einsum('bgj,gij->bgi', dh2, p['W2']).reshape(batch, CHANNELS) * (z1 > 0)
    dh1 = layer_norm_backward(dz1, z1, r1)
    g['W1'] = x.T @ dh1
    g['b1'] = dh1.sum(0)
    return g


def initialise(rng, backbone, final):
    def pytorch(fan_in, shape):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape)

    def library(fan_in, shape):
        return rng.normal(0, min(2 / np.sqrt(fan_in), 0.1), shape)

    p = {}
    if backbone == 'pytorch':
        p.update(W1=pytorch(784, (784, CHANNELS)), b1=pytorch(784, CHANNELS),
                 W2=pytorch(WIDTH, (GROUPS, WIDTH, WIDTH)), b2=pytorch(WIDTH, CHANNELS))
    else:
        p.update(W1=library(784, (784, CHANNELS)), b1=np.zeros(CHANNELS),
                 W2=library(WIDTH, (GROUPS, WIDTH, WIDTH)), b2=np.zeros(CHANNELS))
    if final == 'pytorch':
        p.update(Wf=pytorch(CHANNELS, (CHANNELS, 10)), bf=pytorch(CHANNELS, 10))
    else:
        p.update(Wf=np.zeros((CHANNELS, 10)), bf=np.zeros(10))
    return {k: v.astype(np.float32) for k, v in p.items()}


def error(p, x, y):
    predicted = np.concatenate([forward(p, x[i:i + 500])[0].argmax(1) for i in range(0, len(x), 500)])
    return 100.0 * float((predicted != y).mean())


def train(a):
    train_x, train_y, test_x, test_y = load(a.data)
    rng = np.random.default_rng(a.seed)
    scaled = train_x / 255.0
    mean, std = scaled.mean(), scaled.std()                         # the training set's, as the library
    train_x = ((scaled - mean) / std).astype(np.float32)
    test_x = ((test_x / 255.0 - mean) / std).astype(np.float32)
    p = initialise(rng, a.init, a.final_init)
    momentum = {k: np.zeros_like(v) for k, v in p.items()}
    batches = (len(train_x) + a.batch_size - 1) // a.batch_size
    total, warmup = batches * a.epochs, batches
    curve, step = [], 0
    for _ in range(a.epochs):
        order = rng.permutation(len(train_x))
        for b in range(batches):
            rows = order[b * a.batch_size:(b + 1) * a.batch_size]
            g = gradients(p, train_x[rows], train_y[rows])
            lr = a.lr * ((step + 1) / warmup if step < warmup else 1 - (step - warmup) / max(1, total - warmup))
            for k in p:
                grad, rate = g[k].astype(np.float32), lr
                if k in ('Wf', 'bf'):
                    if a.last_layer_mode == 'grad':
                        grad = grad * a.last_layer_lr
                    else:
                        rate = lr * a.last_layer_lr
                if k.startswith('W'):
                    grad = grad + a.weight_decay * p[k]              # weights only, not biases
                momentum[k] = 0.9 * momentum[k] + grad
                p[k] = p[k] - np.float32(rate) * momentum[k]
            step += 1
        curve.append(round(error(p, test_x, test_y), 2))
    return curve[-1], error(p, train_x, train_y), curve


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default='data/mnist-sample', help='folder with the IDX files')
    ap.add_argument('--lr', type=float, default=0.3)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--batch-size', type=int, default=100)
    ap.add_argument('--weight-decay', type=float, default=1e-4)
    ap.add_argument('--init', choices=['pytorch', 'library'], default='pytorch')
    ap.add_argument('--final-init', choices=['pytorch', 'zero'], default='pytorch')
    ap.add_argument('--last-layer-lr', type=float, default=0.1)
    ap.add_argument('--last-layer-mode', choices=['lr', 'grad'], default='lr')
    a = ap.parse_args()
    test, train_error, curve = train(a)
    print(json.dumps({'test_error': round(test, 2), 'train_error': round(train_error, 2), 'curve': curve,
                      'settings': vars(a)}))


if __name__ == '__main__':
    main()
