#!/usr/bin/python3
"""The PyTorch side of bench/ada2i_floor.ts: Ada2I's model and training step as mmbalance builds and
runs them for the presets ada2i-iemocap and ada2i-meld, written in PyTorch from src/ and
../shared/docs/methods.md ("Ada2I"), on the same data and the same initial weights.

Usage (started by bench/ada2i_floor.ts): /usr/bin/python3 bench/ada2i_torch.py DATA.safetensors [--threads N]
  DATA.safetensors, written by bench/ada2i_floor.ts: the training dialogues' features
  (x.<modality>, all utterances in dialogue order, float32), lengths, labels, the model's initial
  weights under mmbalance's names (w.<name>) and the configuration (metadata "config", JSON).
  It prints one JSON line when ready, then answers one JSON request per stdin line with one JSON
  line on stdout: {"cmd": "check", "batch": [...]} (loss and gradient norm of one batch in eval
  mode), {"cmd": "epoch", "epoch": e, "batches": [[dialogue indices], ...]} (one training epoch
  on those batches: seconds and time by part), {"cmd": "rates", "specs": [...], "rounds": n} (the
  matmul rate of each product shape, for the floor), {"cmd": "quit"}.

The model, as src/models/conversation_model.ts builds it with parity off (the default):
  * encoders.<m>: 2 post-norm ReLU Transformer layers at the input width d_m (PyTorch's
    TransformerEncoderLayer semantics and parameter names), heads the first divisor of d_m in
    5..14, feed-forward 2048, dropout 0.5 (attention weights included), then proj = Linear(d_m,
    hidden). Packed as mmbalance packs (src/nn/attention.ts forwardPacked): every Linear runs on the
    batch's N real utterances only; q, k, v are laid out padded (B, T) for the attention matmuls
    with the padded keys masked; the projection's output is laid out padded with zeros at padding.
  * afw: 2 AFW layers (src/models/afw.ts, masked form) over the padded (B, T, hidden) features.
  * head: the AMW head in Ada2I's code form (src/models/amw.ts), on the real utterances; the
    unimodal logits are the linear slices of fc, used only for the modulation's scores.
Loss: cross entropy of the fused logits + the AFW loss. Step (src/train/trainer.ts): forward, loss,
the loss and its two terms read back, zero_grad (to None), backward, clip_grad_norm_(2), the
disparity-ratio modulation (src/balance/modulation.ts: scores in float64 without gradient,
rho_m = s_m / min s, k_m = 1 - tanh(alpha relu(rho_m)) for rho_m > 1; every encoder gradient
times k_m, then Gaussian noise of std(gradient) + 1e-8), Adam (weight decay 1e-8, one group per
encoder and one for the rest).
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NP_DTYPES = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64, 'I32': np.int32, 'U8': np.uint8, 'BOOL': np.bool_}


def read_safetensors(path):
    """Tensors and metadata of a safetensors file (no safetensors package needed)."""
    with open(path, 'rb') as f:
        n = int.from_bytes(f.read(8), 'little')
        header = json.loads(f.read(n))
        buf = memoryview(f.read())
    meta = header.pop('__metadata__', {})
    out = {}
    for name, info in header.items():
        s, e = info['data_offsets']
        arr = np.frombuffer(buf[s:e], dtype=NP_DTYPES[info['dtype']]).reshape(info['shape'])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


class Packing:
    """How the batch's N real utterances sit in its (B, T) padded layout (src/nn/attention.ts)."""

    def __init__(self, real_index, pad_map, B, T, key_padding_mask):
        self.real_index, self.pad_map, self.B, self.T, self.kpm = real_index, pad_map, B, T, key_padding_mask


def pack(x, p):
    return x.reshape(p.B * p.T, x.shape[2]).index_select(0, p.real_index)


def unpack(x, p):
    E = x.shape[1]
    return torch.cat([x, x.new_zeros(1, E)], 0).index_select(0, p.pad_map).reshape(p.B, p.T, E)


class MultiheadAttention(nn.Module):
    def __init__(self, E, H, dropout):
        super().__init__()
        self.E, self.H, self.Dh, self.dropout = E, H, E // H, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * E, E))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * E))
        self.out_proj = nn.Linear(E, E)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x, p):
        B, T, H, Dh = p.B, p.T, self.H, self.Dh
        qkv = unpack(F.linear(x, self.in_proj_weight, self.in_proj_bias), p)
        q, k, v = (t.reshape(B, T, H, Dh).transpose(1, 2) for t in qkv.chunk(3, -1))
        scores = q.mul(1 / math.sqrt(Dh)).matmul(k.transpose(-2, -1))
        scores = scores.masked_fill(p.kpm.reshape(B, 1, 1, T), float('-inf'))
        attn = F.dropout(scores.softmax(-1), self.dropout, self.training)
        out = pack(attn.matmul(v).transpose(1, 2).reshape(B, T, self.E), p)
        return self.out_proj(out)


class EncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer (post-norm, ReLU) over packed tokens."""

    def __init__(self, d, H, ff, dropout):
        super().__init__()
        self.self_attn = MultiheadAttention(d, H, dropout)
        self.linear1 = nn.Linear(d, ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ff, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x, p):
        y = self.norm1(x + self.dropout1(self.self_attn(x, p)))
        return self.norm2(y + self.dropout2(self.linear2(self.dropout(F.relu(self.linear1(y))))))


class Transformer(nn.Module):
    def __init__(self, d, H, ff, dropout, layers):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(d, H, ff, dropout) for _ in range(layers)])

    def forward(self, x, p):
        for layer in self.layers:
            x = layer(x, p)
        return x


class ConversationEncoder(nn.Module):
    def __init__(self, d, H, ff, dropout, layers, hidden):
        super().__init__()
        self.transformer = Transformer(d, H, ff, dropout, layers)
        self.proj = nn.Linear(d, hidden)

    def forward(self, x, p):
        return unpack(self.proj(self.transformer(pack(x, p), p)), p)


class AFWBlock(nn.Module):
    def __init__(self, d, R):
        super().__init__()
        self.wq1, self.wq2, self.wk1, self.wk2 = (nn.Linear(d, R) for _ in range(4))
        self.att = nn.Linear(R * R, d)
        self.mapping = nn.Linear(d, d)

    def cores(self, z):
        # The four rank projections as one product (as src/models/afw.ts does).
        ps = (self.wq1, self.wq2, self.wk1, self.wk2)
        w = torch.cat([l.weight for l in ps], 0)
        bias = torch.cat([l.bias for l in ps], 0)
        q1, q2, k1, k2 = F.linear(z, w, bias).chunk(4, -1)
        gq = q1.unsqueeze(-1).mul(q2.unsqueeze(-2))
        gk = k1.unsqueeze(-1).mul(k2.unsqueeze(-2))
        return gq.mul(gk)


class AFWLayer(nn.Module):
    """One AFW layer, masked form (parity off): pooled means and the loss over real utterances."""

    def __init__(self, mods, dims, R, beta, dropout, order):
        super().__init__()
        self.mods, self.dims, self.R, self.beta, self.p, self.order = mods, dims, R, beta, dropout, order
        self.modalities = nn.ModuleDict({m: AFWBlock(dims[m], R) for m in mods})

    def forward(self, feats, mask):
        b, t = mask.shape
        r = self.R
        padding = mask.logical_not()
        cores, pooled = {}, {}
        for m in self.mods:
            g = self.modalities[m].cores(feats[m])
            cores[m] = g
            count = mask.sum(1).to(g.dtype).clamp_min(1).reshape(b, 1, 1)
            pooled[m] = g.masked_fill(padding.reshape(b, t, 1, 1), 0).sum(1).div(count)
        out, abs_sum = {}, None
        for m in self.mods:
            # C = G A per dialogue as one (T*R, R) @ (R, R) product (as src/models/afw.ts does).
            block, z, c = self.modalities[m], feats[m], cores[m].reshape(b, t * r, r)
            for other in self.order:
                if other != m:
                    c = c.matmul(pooled[other])
            att = block.att(c.reshape(b, t, r * r))
            y = att.mul(z).add(z.mul(self.beta))
            diff = block.mapping(z).sub(att).abs()
            s = diff.masked_fill(padding.unsqueeze(-1), 0).sum()
            abs_sum = s if abs_sum is None else abs_sum.add(s)
            out[m] = F.dropout(y, self.p, self.training)
        width = sum(self.dims[m] for m in self.mods)
        return out, abs_sum.div(mask.sum().to(abs_sum.dtype).clamp_min(1).mul(width))


class AFW(nn.Module):
    def __init__(self, mods, dims, R, beta, dropout, order, layers):
        super().__init__()
        self.layers = nn.ModuleList([AFWLayer(mods, dims, R, beta, dropout, order) for _ in range(layers)])

    def forward(self, feats, mask):
        loss = None
        for layer in self.layers:
            feats, l = layer(feats, mask)
            loss = l if loss is None else loss.add(l)
        return feats, loss


class AMWHead(nn.Module):
    """Ada2I's AMW head, code form: sum_m normalize(h_m) normalize(W_m, dim 0)^T + b / |M|."""

    def __init__(self, mods, dims, C):
        super().__init__()
        self.mods = mods
        self.offsets, off = {}, 0
        for m in mods:
            self.offsets[m] = (off, dims[m])
            off += dims[m]
        self.fc = nn.Linear(off, C)

    def slice(self, m):
        o, d = self.offsets[m]
        return self.fc.weight.narrow(1, o, d)

    def forward(self, h):
        bias = self.fc.bias.div(len(self.mods))
        terms = [F.linear(F.normalize(h[m], 2, 1), F.normalize(self.slice(m), 2, 0), bias) for m in self.mods]
        fused = terms[0]
        for t in terms[1:]:
            fused = fused.add(t)
        bias = self.fc.bias.div(len(self.mods))
        unimodal = {m: F.linear(h[m], self.slice(m), bias) for m in self.mods}
        return fused, unimodal


class Ada2I(nn.Module):
    def __init__(self, c):
        super().__init__()
        mods, dims, hid = c['modalities'], c['dims'], c['hidden']
        self.mods = mods
        self.encoders = nn.ModuleDict({
            m: ConversationEncoder(dims[m], c['heads'][m], c['dimFeedforward'], c['dropout'], c['layers'], hid) for m in mods
        })
        hidden = {m: hid for m in mods}
        self.afw = AFW(mods, hidden, c['afwRank'], c['afwBeta'], c['afwDropout'], c['afwOrder'], c['afwLayers'])
        self.head = AMWHead(mods, hidden, len(c['classNames']))

    def forward(self, batch, clock=None):
        padded = {}
        for m in self.mods:
            padded[m] = self.encoders[m](batch['x'][m], batch['packing'])
            clock and clock.lap(f'forward: encoder {m}')
        padded, afw_loss = self.afw(padded, batch['mask'])
        clock and clock.lap('forward: AFW')
        features = {m: padded[m].reshape(-1, padded[m].shape[2]).index_select(0, batch['real_index']) for m in self.mods}
        clock and clock.lap('forward: other')
        fused, unimodal = self.head(features)
        clock and clock.lap('forward: AMW head')
        return fused, unimodal, afw_loss


class Clock:
    """Wall time between consecutive laps, summed per name (CPU ops are synchronous)."""

    def __init__(self):
        self.totals = {}
        self.t = time.perf_counter()

    def start(self):
        self.t = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.totals[name] = self.totals.get(name, 0.0) + (now - self.t)
        self.t = now
        return True


class Data:
    def __init__(self, tensors, c):
        self.mods = c['modalities']
        self.x = {m: tensors[f'x.{m}'] for m in self.mods}
        self.lengths = tensors['lengths'].numpy()
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.labels = tensors['labels']

    def batch(self, idx):
        """The padded batch as src/data/conversation/batch.ts makeBatch builds it (speakers left out)."""
        lens = [int(self.lengths[i]) for i in idx]
        offs = [int(self.offsets[i]) for i in idx]
        B, T, N = len(idx), max(lens), sum(lens)
        x = {}
        for m in self.mods:
            src = self.x[m]
            buf = torch.zeros(B, T, src.shape[1])
            for b in range(B):
                buf[b, :lens[b]] = src[offs[b]:offs[b] + lens[b]]
            x[m] = buf
        mask = np.zeros((B, T), dtype=np.bool_)
        for b in range(B):
            mask[b, :lens[b]] = True
        real = np.flatnonzero(mask.reshape(-1))
        pad_map = np.full(B * T, N, dtype=np.int64)
        pad_map[real] = np.arange(N)
        labels = torch.cat([self.labels[o:o + n] for o, n in zip(offs, lens)])
        mask_t = torch.from_numpy(mask)
        padding = mask_t.logical_not()
        real_t = torch.from_numpy(real.astype(np.int64))
        return {
            'x': x,
            'labels': labels,
            'mask': mask_t,
            'real_index': real_t,
            'packing': Packing(real_t, torch.from_numpy(pad_map), B, T, padding),
        }


class Runner:
    def __init__(self, path, threads):
        torch.set_num_threads(threads)
        tensors, meta = read_safetensors(path)
        self.c = c = json.loads(meta['config'])
        self.data = Data(tensors, c)
        self.model = Ada2I(c)
        weights = {k[2:]: v for k, v in tensors.items() if k.startswith('w.')}
        self.model.load_state_dict(weights, strict=True)
        enc = {m: list(self.model.encoders[m].parameters()) for m in c['modalities']}
        owned = {id(p) for ps in enc.values() for p in ps}
        groups = [{'params': enc[m]} for m in c['modalities']]
        groups.append({'params': [p for p in self.model.parameters() if id(p) not in owned]})
        self.enc = enc
        self.params = list(self.model.parameters())
        self.opt = torch.optim.Adam(groups, lr=c['lr'], weight_decay=c['weightDecay'])
        self.threads = threads

    def info(self):
        return {
            'ready': True,
            'torch': torch.__version__,
            'threads': torch.get_num_threads(),
            'parameters': sum(p.numel() for p in self.params),
        }

    def loss(self, batch, clock=None):
        fused, unimodal, afw_loss = self.model(batch, clock)
        ce = F.cross_entropy(fused, batch['labels'])
        total = ce.add(afw_loss)
        clock and clock.lap('loss')
        return total, ce, afw_loss, unimodal

    def check(self, idx):
        """Loss and gradient norm on one batch in eval mode (no dropout): the same model gives the same numbers."""
        self.model.eval()
        total, _, _, _ = self.loss(self.data.batch(idx))
        value = total.item()
        total.backward()
        norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in self.params if p.grad is not None))
        self.opt.zero_grad(set_to_none=True)
        self.model.train()
        return {'loss': value, 'gradNorm': norm}

    def modulate(self, unimodal, labels, clock):
        c = self.c
        with torch.no_grad():
            index = labels.long().unsqueeze(1)
            scores = torch.stack([unimodal[m].double().softmax(1).gather(1, index).sum() for m in c['modalities']]).tolist()
        low = min(scores)
        coef = {}
        for m, s in zip(c['modalities'], scores):
            rho = s / low
            coef[m] = 1 - math.tanh(c['alpha'] * max(0.0, rho)) if rho > 1 else 1.0
        clock.lap('afterBackward: scores')
        with torch.no_grad():
            for m in c['modalities']:
                k = coef[m]
                for p in self.enc[m]:
                    g = p.grad
                    if g is None:
                        continue
                    if k != 1:
                        g.mul_(k)
                    sigma = g.std() + 1e-8 if g.numel() > 1 else torch.tensor(1e-8)
                    g.add_(torch.randn_like(g).mul_(sigma))
        clock.lap('afterBackward: scale + noise')

    def epoch(self, epoch, batches):
        c = self.c
        torch.manual_seed(c['seed'] * 1000 + epoch)
        self.model.train()
        clock = Clock()
        loss_sum = 0.0
        t0 = time.perf_counter()
        for idx in batches:
            clock.start()
            batch = self.data.batch(idx)
            clock.lap('batch building')
            total, ce, afw_loss, unimodal = self.loss(batch, clock)
            value = total.item()
            ce.item()
            afw_loss.item()
            if not math.isfinite(value):
                raise RuntimeError(f'the loss became {value} at epoch {epoch}')
            clock.lap('step: other')
            self.opt.zero_grad(set_to_none=True)
            clock.lap('optimizer')
            total.backward()
            clock.lap('backward')
            torch.nn.utils.clip_grad_norm_(self.params, c['clipGradNorm'])
            clock.lap('clip')
            self.modulate(unimodal, batch['labels'], clock)
            self.opt.step()
            clock.lap('optimizer')
            loss_sum += value
            del batch, total, ce, afw_loss, unimodal
            clock.lap('outside step')
        seconds = time.perf_counter() - t0
        return {'epoch': epoch, 'seconds': seconds, 'steps': len(batches), 'loss': loss_sum / max(1, len(batches)),
                'partsMs': {k: v * 1e3 for k, v in clock.totals.items()}}


def matmul_rate(spec, rounds):
    """GFLOP/s of one product as bench/ada2i_floor.ts measures it: operands of spec's shapes (a
    transposed operand is a transposed view), best of `rounds` rounds of >= 20 ms."""
    def make(shape, t):
        if not t:
            return torch.randn(*shape)
        return torch.randn(*shape[:-2], shape[-1], shape[-2]).transpose(-2, -1)

    x, y = make(spec['a'], spec.get('ta')), make(spec['b'], spec.get('tb'))
    with torch.no_grad():
        x.matmul(y)
        x.matmul(y)
        t0 = time.perf_counter()
        x.matmul(y)
        reps = max(1, math.ceil(0.020 / max(1e-6, time.perf_counter() - t0)))
        best = float('inf')
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(reps):
                x.matmul(y)
            best = min(best, (time.perf_counter() - t0) / reps)
    batch = 1
    for i in range(len(spec['a']) - 2):
        batch *= max(spec['a'][i], spec['b'][i] if i < len(spec['b']) - 2 else 1)
    return 2 * batch * spec['a'][-2] * spec['a'][-1] * spec['b'][-1] / best / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('data')
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    runner = Runner(a.data, a.threads)
    out = sys.stdout
    out.write(json.dumps(runner.info()) + '\n')
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req['cmd'] == 'quit':
            break
        if req['cmd'] == 'check':
            reply = runner.check(req['batch'])
        elif req['cmd'] == 'epoch':
            reply = runner.epoch(req['epoch'], req['batches'])
        elif req['cmd'] == 'rates':
            reply = {'rates': [matmul_rate(x, req['rounds']) for x in req['specs']]}
        else:
            reply = {'error': f"unknown command {req['cmd']!r}"}
        out.write(json.dumps(reply) + '\n')
        out.flush()


if __name__ == '__main__':
    main()
