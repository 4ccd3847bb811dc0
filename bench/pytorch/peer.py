#!/usr/bin/env python3
"""PyTorch CPU peer for a few of `npm run bench`'s cases, to run on the same machine.

Optional and outside the npm project (seqfair never uses PyTorch): Debian's `python3-torch`
(1.13) gives it, `apt-get install python3-torch`, then

    /usr/bin/python3 bench/pytorch/peer.py [--threads 2] [--only gemm-1024,sasrec-step-b256,...]

prints one JSON object per case in bench/main.ts's --json format with impl "pytorch-cpu".
The models mirror the seqfair bench cases (bench/cases/model-step.ts) in shape and work:
  sasrec-step-*: L 50, D 64, 2 pre-LN blocks, 2 heads, causal + key-padding attention, FFN 4·D
    GELU, dropout 0.2, full-softmax CE against the item table (items + padding row) at all L
    positions, Adam lr 1e-3.
  narm-step-b256: D 64, GRU H 128, NARM local attention of the last state over all states, bilinear
    decoder, full-softmax CE of the last position, Adam. This is NARM as a PyTorch user writes it
    (one prefix per row); seqfair's NARM computes every prefix's representation in the same pass.
Timing as bench/timer.ts: warm-up, then up to --reps single calls, median and min.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(fn, reps, budget_s=2.0):
    for _ in range(3):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < reps and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def gemm_case(n):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: torch.mm(a, b)


class Block(nn.Module):
    def __init__(self, d, heads, p):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=p, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.drop = nn.Dropout(p)

    def forward(self, x, causal, pad):
        h = self.ln1(x)
        a, _ = self.attn(h, h, h, attn_mask=causal, key_padding_mask=pad, need_weights=False)
        x = x + self.drop(a)
        f = self.ln2(x)
        return f + self.drop(self.fc2(self.drop(F.gelu(self.fc1(f)))))


class Sasrec(nn.Module):
    def __init__(self, items, L=50, d=64, blocks=2, heads=2, p=0.2):
        super().__init__()
        self.emb, self.pos = nn.Embedding(items + 1, d), nn.Embedding(L, d)
        self.blocks = nn.ModuleList(Block(d, heads, p) for _ in range(blocks))
        self.ln, self.drop, self.d = nn.LayerNorm(d), nn.Dropout(p), d

    def forward(self, ids):
        L = ids.shape[1]
        x = self.drop(self.emb(ids) * math.sqrt(self.d) + self.pos.weight[:L])
        causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
        pad = ids == 0
        for blk in self.blocks:
            x = blk(x, causal, pad)
        return self.ln(x) @ self.emb.weight.t()


class Narm(nn.Module):
    def __init__(self, items, d=64, h=128, p=0.25):
        super().__init__()
        self.emb = nn.Embedding(items + 1, d)
        self.gru = nn.GRU(d, h, batch_first=True)
        self.a1, self.a2 = nn.Linear(h, h, bias=False), nn.Linear(h, h, bias=False)
        self.v, self.b = nn.Linear(h, 1, bias=False), nn.Linear(2 * h, d, bias=False)
        self.drop_e, self.drop_o = nn.Dropout(p), nn.Dropout(0.5)

    def forward(self, ids):
        states, _ = self.gru(self.drop_e(self.emb(ids)))
        last = states[:, -1]
        alpha = self.v(torch.sigmoid(self.a1(last).unsqueeze(1) + self.a2(states))) * (ids != 0).unsqueeze(2)
        c = self.drop_o(torch.cat([last, (alpha * states).sum(1)], 1))
        return self.b(c) @ self.emb.weight.t()


def step_case(model, B, items, L=50, last=False):
    g = torch.Generator().manual_seed(B)
    ids = torch.randint(1, items + 1, (B, L + 1), generator=g)
    inputs, targets = ids[:, :-1], (ids[:, -1] if last else ids[:, 1:])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def run():
        opt.zero_grad()
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        opt.step()
    return run


CASES = {
    'gemm-1024': lambda: gemm_case(1024),
    'gemm-2048': lambda: gemm_case(2048),
    'sasrec-step-b64': lambda: step_case(Sasrec(1683), 64, 1683),
    'sasrec-step-b256': lambda: step_case(Sasrec(1683), 256, 1683),
    'sasrec-step-20k-b128': lambda: step_case(Sasrec(20_000), 128, 20_000),
    'narm-step-b256': lambda: step_case(Narm(1683), 256, 1683, last=True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=20)
    ap.add_argument('--only', default=','.join(CASES))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    for name in args.only.split(','):
        if name not in CASES:
            raise SystemExit(f'unknown case {name}; cases: {", ".join(CASES)}')
        med, mn = timed(CASES[name](), args.reps)
        print(json.dumps({'case': name, 'impl': 'pytorch-cpu', 'median_ms': round(med, 3), 'min_ms': round(mn, 3),
                          'threads': args.threads, 'torch': torch.__version__}), flush=True)


if __name__ == '__main__':
    main()
