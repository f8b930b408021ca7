#!/usr/bin/python3
# The PyTorch reference for bench/train.ts: the same pre-LN Transformer as tlc (encoder MLM with the
# RoBERTa head and tied output, loss only at masked positions; or decoder causal LM), the same batch,
# AdamW settings and clipping, fp32, timed step by step. Prints one JSON object per line.
# It does not import tlc and does not compare anything itself; bench/train.ts runs and compares.
#
# Run with Debian's python3-torch (the `python3` on PATH may lack torch):
#     /usr/bin/python3 bench/torch_train.py --family encoder --threads 1 --steps 8 --warmup 2
# Written as a performance-minded PyTorch user would: fused qkv Linear, one batched matmul per
# attention product, masked rows gathered before the tied LM head, AdamW(foreach=True),
# zero_grad(set_to_none=True), torch.set_num_threads(N). Options --jit / --no-foreach try variants.
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--family', choices=['encoder', 'decoder'], default='encoder')
    p.add_argument('--vocab', type=int, default=8192)
    p.add_argument('--d-model', type=int, default=256)
    p.add_argument('--layers', type=int, default=4)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--ff', type=int, default=1024)
    p.add_argument('--seq', type=int, default=128)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--steps', type=int, default=8)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--jit', action='store_true', help='torch.jit.script the model')
    p.add_argument('--no-foreach', action='store_true', help='AdamW with a per-tensor loop')
    return p.parse_args(argv)


class Block(nn.Module):
    """Pre-LN block: x + proj(attn(ln1(x))); x + fc2(gelu(fc1(ln2(x)))). qkv is one (3C, C) Linear."""

    def __init__(self, C, NH, FF, causal):
        super().__init__()
        self.NH, self.causal = NH, causal
        self.ln1 = nn.LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, FF)
        self.fc_proj = nn.Linear(FF, C)

    def forward(self, x, mask_bias):
        B, T, C = x.shape
        hs = C // self.NH
        qkv = self.qkv(self.ln1(x)).view(B, T, 3, self.NH, hs).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, NH, T, hs) each
        s = torch.matmul(q, k.transpose(-2, -1)).mul_(1.0 / math.sqrt(hs))  # (B, NH, T, T)
        if self.causal:
            s = s + mask_bias
        y = torch.matmul(torch.softmax(s, dim=-1), v)  # (B, NH, T, hs)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate='tanh'))


class Model(nn.Module):
    """tlc's encoder (MLM, RoBERTa head: dense-GELU-LN, tied embedding, output bias) or decoder
    (causal LM, plain tied head). Logits only at rows with a target (encoder: the masked ones)."""

    def __init__(self, a):
        super().__init__()
        C, V = a.d_model, a.vocab
        self.encoder = a.family == 'encoder'
        self.tok_emb = nn.Embedding(V, C)
        self.pos_emb = nn.Embedding(a.seq, C)
        self.blocks = nn.ModuleList([Block(C, a.heads, a.ff, not self.encoder) for _ in range(a.layers)])
        self.ln_f = nn.LayerNorm(C)
        if self.encoder:
            self.dense = nn.Linear(C, C)
            self.head_ln = nn.LayerNorm(C)
            self.head_bias = nn.Parameter(torch.zeros(V))
        else:  # parameter-free stand-ins, so TorchScript can compile the unused encoder branch
            self.dense = nn.Identity()
            self.head_ln = nn.Identity()
            self.register_buffer('head_bias', torch.zeros(0), persistent=False)
        causal = torch.full((a.seq, a.seq), float('-inf')).triu(1)
        self.register_buffer('mask_bias', causal, persistent=False)
        for name, p in self.named_parameters():  # tlc's init: N(0, 0.02) matrices, zero biases, unit LN
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
            elif name.endswith('bias'):
                nn.init.zeros_(p)

    def forward(self, tokens, rows, targets):
        B, T = tokens.shape
        x = self.tok_emb(tokens) + self.pos_emb.weight[:T]
        for blk in self.blocks:
            x = blk(x, self.mask_bias)
        h = self.ln_f(x).reshape(B * T, -1).index_select(0, rows)
        if self.encoder:
            h = self.head_ln(F.gelu(self.dense(h), approximate='tanh'))
            logits = F.linear(h, self.tok_emb.weight, self.head_bias)
        else:
            logits = F.linear(h, self.tok_emb.weight)
        return F.cross_entropy(logits, targets)


def make_batches(a, gen):
    """Four batches cycled as tlc's bench does: ids in [5, V), MLM targets at ~15% of positions."""
    out = []
    for _ in range(4):
        tokens = torch.randint(5, a.vocab, (a.batch, a.seq), generator=gen)
        if a.family == 'encoder':
            pick = torch.rand(a.batch * a.seq, generator=gen) < 0.15
            targets = tokens.reshape(-1)
        else:
            pick = torch.ones(a.batch * a.seq, dtype=torch.bool)
            targets = torch.randint(5, a.vocab, (a.batch * a.seq,), generator=gen)
        rows = pick.nonzero().squeeze(1)
        out.append((tokens, rows, targets.index_select(0, rows)))
    return out


def optimizer(model, foreach):
    """AdamW as tlc's defaults: betas (0.9, 0.98), eps 1e-6, decay 0.01 on matrices/embeddings only."""
    decay = [p for p in model.parameters() if p.dim() == 2]
    rest = [p for p in model.parameters() if p.dim() != 2]
    groups = [{'params': decay, 'weight_decay': 0.01}, {'params': rest, 'weight_decay': 0.0}]
    return torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.98), eps=1e-6, foreach=foreach)


def blas_library():
    """The BLAS shared object this process mapped (reference BLAS is far slower than OpenBLAS)."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
        return sorted(os.path.realpath(x) for x in libs)
    except OSError:
        return []


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Model(a)
    if a.jit:
        model = torch.jit.script(model)
    opt = optimizer(model, not a.no_foreach)
    batches = make_batches(a, torch.Generator().manual_seed(a.seed))
    params = list(model.parameters())
    times = []
    for i in range(a.warmup + a.steps):
        tokens, rows, targets = batches[i % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(tokens, rows, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({'step': i, 'ms': round(ms, 3), 'warmup': i < a.warmup, 'loss': round(loss.item(), 5)}), flush=True)
        if i >= a.warmup:
            times.append(ms)
    times.sort()
    med = times[len(times) // 2]
    tokens = a.batch * a.seq
    print(json.dumps({
        'summary': True,
        'tokens_per_s': round(tokens / med * 1000),
        'step_ms': round(med, 2),
        'step_ms_min': round(times[0], 2),
        'step_ms_max': round(times[-1], 2),
        'params': sum(p.numel() for p in params),
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'jit': a.jit,
        'foreach': not a.no_foreach,
        'blas': blas_library(),
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        'openblas_env': {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS')},
    }), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
