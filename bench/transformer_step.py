#!/usr/bin/python3
"""The PyTorch side of bench/transformer_step.ts: one training step of a 2-layer Transformer
encoder (d 768, 6 heads, ff 2048, dropout 0.1, batch 10 x 60) with Adam. Prints JSON timings.
Usage: /usr/bin/python3 bench/transformer_step.py [threads] [steps]"""
import json
import statistics
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.set_num_threads(threads)
torch.manual_seed(0)
layer = torch.nn.TransformerEncoderLayer(768, 6, dim_feedforward=2048, dropout=0.1, batch_first=True)
enc = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
opt = torch.optim.Adam(enc.parameters(), lr=1e-4)
x = torch.randn(10, 60, 768)


def step():
    opt.zero_grad()
    loss = enc(x).pow(2).mean()
    loss.backward()
    opt.step()


for _ in range(3):
    step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
print(json.dumps({"threads": threads, "torch": torch.__version__, "medianMs": statistics.median(times) * 1e3,
                  "minMs": min(times) * 1e3}))
