#!/usr/bin/python3
"""The PyTorch side of bench/balancemla_throughput.ts: BalanceMLA as mmbalance builds it with the
preset balancemla (src/models/balancemla.ts, src/models/balancemla/*.ts), and joint training of the
same sequence encoders with a concat head, each with the same training loop, written in PyTorch.
Training samples per second per phase: the median epoch of EPOCHS after a warm-up epoch.
Usage: /usr/bin/python3 bench/balancemla_throughput.py MODEL [threads] [epochs] [samples]
MODEL: balancemla (phases pretrain, then finetune) | joint

The model follows mmbalance's shapes exactly (not test/fixtures/balancemla/gen.py's, whose classes
hard-code dropout 0 and one head count for every encoder):
  * encoders.<m>: nn.TransformerEncoder (2 post-norm ReLU layers at the input width d_in, heads the
    first divisor of d_in in 5..14: audio 40 -> 5, image 28 -> 7; feed-forward 256, dropout 0.1),
    then proj = Linear(d_in, 64) at every step (BalanceMLA) or on the mean over the steps (joint);
  * classifiers.<m>: Linear(64, 10) on the mean over the steps of f^m;
  * brff.<b>: bilinear Linear(64, 64, bias=False), res = softmax(bilinear(f^b) f^x^T) f^x, three
    cross-modal layers (nn.MultiheadAttention(64, 8) with queries from f^b, keys and values from
    res, then the feed-forward block 64 -> 256 -> 64; post-norm, ReLU, dropout 0.1), f^{fuse-b} =
    f^b + block(f^b, res); the auxiliary of b is the other modality's f;
  * decision: Linear(2 * 64, 10 * 2) on the concatenated means of f^{fuse-m}; alpha = its (10, 2)
    log-softmax over modalities; fused = logsumexp_m(alpha + log_softmax(branch_m)).
Phases: pretrain (the branches alone: sum of the unimodal cross entropies, Adam 3e-4 over the
encoders and classifiers), then finetune (CE(fused) + sum CE(branch_m), Adam 5e-5 over every
parameter, a fresh optimizer state). Joint: CE of Linear(128, 10) on the concatenated features, Adam 3e-4.
"""
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
n = int(sys.argv[4]) if len(sys.argv) > 4 else 2048
if model_name not in ('balancemla', 'joint'):
    sys.exit(f'MODEL must be balancemla or joint, not {model_name!r}')
torch.set_num_threads(threads)
torch.manual_seed(0)

HIDDEN, LAYERS, FF, DROPOUT = 64, 2, 256, 0.1
BRFF_LAYERS, BRFF_HEADS, C = 3, 8, 10
BATCH = 32
shapes = {'audio': (40, 40), 'image': (28, 28)}


def default_heads(d):
    """mmbalance's rule for the encoders' heads (src/models/encoders.ts defaultHeads)."""
    return next((h for h in range(5, 15) if d % h == 0), 1)


class SequenceEncoder(nn.Module):
    def __init__(self, d_in, per_step):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_in, default_heads(d_in), FF, dropout=DROPOUT, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.proj = nn.Linear(d_in, HIDDEN)
        self.per_step = per_step

    def forward(self, x):
        h = self.transformer(x)
        # BalanceMLA projects every step (f^m is (B, T, hidden)); the clip recipe's encoder pools first.
        return self.proj(h) if self.per_step else self.proj(h.mean(1))


class CrossModalLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(HIDDEN, BRFF_HEADS, dropout=DROPOUT, batch_first=True)
        self.linear1 = nn.Linear(HIDDEN, FF)
        self.dropout = nn.Dropout(DROPOUT)
        self.linear2 = nn.Linear(FF, HIDDEN)
        self.norm1 = nn.LayerNorm(HIDDEN)
        self.norm2 = nn.LayerNorm(HIDDEN)
        self.dropout1 = nn.Dropout(DROPOUT)
        self.dropout2 = nn.Dropout(DROPOUT)

    def forward(self, x, memory):
        a = self.cross_attn(x, memory, memory, need_weights=False)[0]
        y = self.norm1(x + self.dropout1(a))
        return self.norm2(y + self.dropout2(self.linear2(self.dropout(F.relu(self.linear1(y))))))


class AttentionBRFF(nn.Module):
    def __init__(self):
        super().__init__()
        self.bilinear = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.layers = nn.ModuleList([CrossModalLayer() for _ in range(BRFF_LAYERS)])

    def forward(self, basic, aux):
        res = torch.softmax(self.bilinear(basic) @ aux.transpose(1, 2), -1) @ aux
        x = basic
        for layer in self.layers:
            x = layer(x, res)
        return basic + x


class BalanceMLA(nn.Module):
    def __init__(self):
        super().__init__()
        self.mods = list(shapes)
        self.encoders = nn.ModuleDict({m: SequenceEncoder(s[1], True) for m, s in shapes.items()})
        self.classifiers = nn.ModuleDict({m: nn.Linear(HIDDEN, C) for m in self.mods})
        self.brff = nn.ModuleDict({m: AttentionBRFF() for m in self.mods})
        self.decision = nn.Linear(len(self.mods) * HIDDEN, C * len(self.mods))

    def unimodal(self, inputs):
        f = {m: self.encoders[m](inputs[m]) for m in self.mods}
        return f, {m: self.classifiers[m](f[m].mean(1)) for m in self.mods}

    def forward(self, inputs):
        f, uni = self.unimodal(inputs)
        pooled, branch = [], {}
        for b in self.mods:
            aux = torch.cat([f[x] for x in self.mods if x != b], 1)
            g = self.brff[b](f[b], aux).mean(1)
            pooled.append(g)
            branch[b] = self.classifiers[b](g)
        log_w = self.decision(torch.cat(pooled, 1)).reshape(-1, C, len(self.mods)).log_softmax(2)
        logp = torch.stack([branch[m].log_softmax(1) for m in self.mods], 2)
        return (logp + log_w).logsumexp(2), uni, branch


class Joint(nn.Module):
    def __init__(self):
        super().__init__()
        self.mods = list(shapes)
        self.encoders = nn.ModuleDict({m: SequenceEncoder(s[1], False) for m, s in shapes.items()})
        self.head = nn.Linear(len(self.mods) * HIDDEN, C)

    def forward(self, inputs):
        return self.head(torch.cat([self.encoders[m](inputs[m]) for m in self.mods], 1))


data = {m: torch.rand(n, *s) * 2 - 1 for m, s in shapes.items()}
labels = torch.randint(0, C, (n,))


def epoch(seed, step):
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        step({m: data[m].index_select(0, idx) for m in shapes}, labels.index_select(0, idx))


def measure(step):
    """Seconds of each of `epochs` epochs after a warm-up epoch."""
    epoch(0, step)
    times = []
    for e in range(1, epochs + 1):
        t0 = time.perf_counter()
        epoch(e, step)
        times.append(time.perf_counter() - t0)
    return {'epochSeconds': times, 'samplesPerSecond': n / statistics.median(times)}


def train_step(opt, loss_of):
    def step(x, y):
        loss = loss_of(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


phases = {}
if model_name == 'balancemla':
    model = BalanceMLA()
    model.train()
    branches = list(model.encoders.parameters()) + list(model.classifiers.parameters())
    pre = torch.optim.Adam(branches, lr=3e-4)
    phases['pretrain'] = measure(train_step(pre, lambda x, y: sum(F.cross_entropy(u, y) for u in model.unimodal(x)[1].values())))

    def composite(x, y):
        fused, _, branch = model(x)
        return F.cross_entropy(fused, y) + sum(F.cross_entropy(branch[m], y) for m in model.mods)

    fine = torch.optim.Adam(model.parameters(), lr=5e-5)
    phases['finetune'] = measure(train_step(fine, composite))
else:
    model = Joint()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    phases['joint'] = measure(train_step(opt, lambda x, y: F.cross_entropy(model(x), y)))
print(json.dumps({'model': model_name, 'threads': threads, 'torch': torch.__version__, 'samples': n,
                  'parameters': sum(p.numel() for p in model.parameters()), 'phases': phases}))
