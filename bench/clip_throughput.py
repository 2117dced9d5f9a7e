#!/usr/bin/python3
"""The PyTorch side of bench/clip_throughput.ts: the same clip models and training loop, written
in PyTorch. Training samples per second: the median epoch of EPOCHS after a warm-up epoch.
Usage: /usr/bin/python3 bench/clip_throughput.py MODEL [threads] [epochs]   MODEL: lenet | resnet18"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

model_name = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 4
torch.set_num_threads(threads)
torch.manual_seed(0)


class LeNet(nn.Module):
    """LeNet-5's layout as mmbalance's LeNetEncoder: conv5x5(6), pool, conv5x5(16), pool, fc(128)."""

    def __init__(self, size):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        flat = 16 * (((size - 4) // 2 - 4) // 2) ** 2
        self.fc = nn.Linear(flat, 128)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc(x.flatten(1)))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers.append(nn.Sequential(Block(cin, cout, stride), Block(cout, cout, 1)))
            cin = cout
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return F.adaptive_avg_pool2d(self.layers(x), 1).flatten(1)


if model_name == 'lenet':
    encoders = nn.ModuleDict({'audio': LeNet(40), 'image': LeNet(28)})
    shapes = {'audio': (1, 40, 40), 'image': (1, 28, 28)}
    n, batch, width = 3200, 32, 256
else:
    encoders = nn.ModuleDict({'spec': ResNet18()})
    shapes = {'spec': (1, 128, 128)}
    n, batch, width = 128, 16, 512
head = nn.Linear(width, 10)
params = list(encoders.parameters()) + list(head.parameters())
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
data = {m: torch.randn(n, *s) for m, s in shapes.items()}
labels = torch.randint(0, 10, (n,))


def epoch(seed):
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        feats = [encoders[m](data[m].index_select(0, idx)) for m in shapes]
        loss = F.cross_entropy(head(torch.cat(feats, 1)), labels.index_select(0, idx))
        opt.zero_grad()
        loss.backward()
        opt.step()


encoders.train()
epoch(0)
times = []
for e in range(1, epochs + 1):
    t0 = time.perf_counter()
    epoch(e)
    times.append(time.perf_counter() - t0)
print(json.dumps({'model': model_name, 'threads': threads, 'torch': torch.__version__, 'samples': n, 'epochSeconds': times,
                  'samplesPerSecond': n / statistics.median(times)}))
