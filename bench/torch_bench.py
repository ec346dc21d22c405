"""PyTorch side of `npm run bench`: the same tasks as bench/index.ts, on the same data.

Run with Debian's python3 (`apt-get install python3-torch`). Prints one JSON object:
{"torch": version, "threads": n, "tasks": {name: seconds}, "losses": {name: value}}.
Every timing is the median of `--repeats` runs; PyTorch keeps its default threads unless
`--threads` is given.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class AE(nn.Module):
    """Seed 001 Part 1: 784-400-20-400-784."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc2 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        return self.fc2(F.relu(self.fc1(x)))

    def forward(self, x):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(self.encode(x)))))


class StridedConvAE(nn.Module):
    """Seed 004's denoising autoencoder."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def encode(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def epoch_ae(model, train, batch_size, gen):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(train.shape[0], generator=gen)
    total = 0.0
    model.train()
    for i in range(0, train.shape[0], batch_size):
        x = train[perm[i:i + batch_size]].view(-1, 784)
        opt.zero_grad()
        loss = F.binary_cross_entropy(model(x), x, reduction="sum")
        loss.backward()
        opt.step()
        total += loss.item()
    return total / train.shape[0]


def epoch_denoise(model, train, batch_size, gen, noise=0.1):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(train.shape[0], generator=gen)
    total = 0.0
    model.train()
    for i in range(0, train.shape[0], batch_size):
        x = train[perm[i:i + batch_size]]
        noisy = torch.clamp(x + noise * torch.randn(x.shape, generator=gen), 0.0, 1.0)
        opt.zero_grad()
        loss = F.mse_loss(model(noisy), x)
        loss.backward()
        opt.step()
        total += loss.item() * x.shape[0]
    return total / train.shape[0]


def encode_all(model, test, flat):
    model.eval()
    with torch.no_grad():
        outs = [model.encode(test[i:i + 1000].view(-1, 784) if flat else test[i:i + 1000]) for i in range(0, test.shape[0], 1000)]
    return torch.cat(outs).shape


def median_time(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mnist", required=True, help="directory with the MNIST IDX files")
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--tasks", default="ae-epoch,conv-epoch,ae-encode,conv-encode")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    train = torch.from_numpy(read_idx(os.path.join(a.mnist, "train-images-idx3-ubyte"))[: a.train_size].astype(np.float32) / 255.0).unsqueeze(1)
    test = torch.from_numpy(read_idx(os.path.join(a.mnist, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0).unsqueeze(1)
    tasks = a.tasks.split(",")
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "trainSize": a.train_size, "tasks": {}, "losses": {}}
    ae, conv = AE(), StridedConvAE()
    if "ae-epoch" in tasks:
        out["tasks"]["ae-epoch"], out["losses"]["ae-epoch"] = median_time(lambda: epoch_ae(ae, train, a.batch_size, gen), a.repeats)
    if "conv-epoch" in tasks:
        out["tasks"]["conv-epoch"], out["losses"]["conv-epoch"] = median_time(lambda: epoch_denoise(conv, train, a.batch_size, gen), a.repeats)
    if "ae-encode" in tasks:
        out["tasks"]["ae-encode"], _ = median_time(lambda: encode_all(ae, test, True), a.repeats)
    if "conv-encode" in tasks:
        out["tasks"]["conv-encode"], _ = median_time(lambda: encode_all(conv, test, False), a.repeats)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
