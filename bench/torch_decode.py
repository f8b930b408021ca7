#!/usr/bin/python3
# The PyTorch peer of bench/decode.ts: tlc's encoder-decoder Transformer (pre- or post-LN, tanh
# GELU, learned positions, tied output embedding) with its weights read from tlc's safetensors
# checkpoint, decoding the batches bench/decode.ts wrote, timed batch by batch. Written as a strong
# PyTorch user would: torch.inference_mode, preallocated self-attention key/value caches written in
# place, cross-attention keys/values computed once per batch, finished rows compacted out, batched
# beam search fully in tensors (the same candidates, length penalty and stopping rule as
# src/model/beam.ts), torch.set_num_threads(N). Prints one JSON object (the outputs and the times).
# It does not import tlc and compares nothing itself; bench/decode.ts runs and compares.
#
#     /usr/bin/python3 bench/torch_decode.py --input runs/bench-decode/input.json --threads 2
import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train import blas_identity  # noqa: E402  (the same BLAS check as the training peer)

NEG_INF = float('-inf')


def read_safetensors(path):
    """name -> float32 tensor (F32 only: tlc's checkpoints are F32)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        if e['dtype'] != 'F32':
            raise SystemExit(f'{path}: tensor {name} is {e["dtype"]}, expected F32 (a tlc training checkpoint)')
        a, b = e['data_offsets']
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e['shape'])
    return out


class Model:
    """tlc's encdec model over its parameter names (src/model/params.ts), eval mode."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg
        self.C, self.NH = cfg['d_model'], cfg['n_heads']
        self.hs = self.C // self.NH
        self.pre = cfg.get('norm', 'pre') == 'pre'
        self.enc_layers = [f'enc.layers.{i}' for i in range(cfg['n_layers'])]
        self.dec_layers = [f'dec.layers.{i}' for i in range(cfg.get('n_dec_layers') or cfg['n_layers'])]
        self.scale = 1.0 / math.sqrt(self.hs)

    def lin(self, x, name):
        return F.linear(x, self.w[f'{name}.weight'], self.w[f'{name}.bias'])

    def ln(self, x, name):
        return F.layer_norm(x, (self.C,), self.w[f'{name}.weight'], self.w[f'{name}.bias'], 1e-5)

    def residual(self, x, ln, f):
        """pre-LN: x + f(LN(x)); post-LN: LN(x + f(x))."""
        return x + f(self.ln(x, ln)) if self.pre else self.ln(x + f(x), ln)

    def mlp(self, u, lp):
        return self.lin(F.gelu(self.lin(u, f'{lp}.mlp.fc'), approximate='tanh'), f'{lp}.mlp.proj')

    def heads(self, x):
        """(N, T, C) -> (N, NH, T, hs)"""
        N, T, _ = x.shape
        return x.view(N, T, self.NH, self.hs).transpose(1, 2)

    def attend(self, q, k, v, bias):
        """q (N, NH, Tq, hs), k/v (N, NH, Tk, hs), bias broadcast to (N, NH, Tq, Tk) or None -> (N, Tq, C)"""
        s = torch.matmul(q, k.transpose(-2, -1)).mul_(self.scale)
        if bias is not None:
            s = s + bias
        y = torch.matmul(torch.softmax(s, dim=-1), v)
        N, _, Tq, _ = y.shape
        return y.transpose(1, 2).reshape(N, Tq, self.C)

    def embed(self, tokens, pos, stack):
        x = F.embedding(tokens, self.w['tok_emb.weight']) + self.w[f'{stack}.pos_emb.weight'][pos]
        return x if self.pre else self.ln(x, f'{stack}.emb_ln')

    def encode(self, src, pad_bias):
        """src (B, Ts) long, pad_bias (B, 1, 1, Ts): 0 at real tokens, -inf at padding -> (B, Ts, C)"""
        Ts = src.shape[1]
        x = self.embed(src, torch.arange(Ts), 'enc')
        for lp in self.enc_layers:
            def attn(u, lp=lp):
                q, k, v = [self.heads(t) for t in self.lin(u, f'{lp}.attn.qkv').split(self.C, dim=-1)]
                return self.lin(self.attend(q, k, v, pad_bias), f'{lp}.attn.proj')
            x = self.residual(x, f'{lp}.ln1', attn)
            x = self.residual(x, f'{lp}.ln2', lambda u, lp=lp: self.mlp(u, lp))
        return self.ln(x, 'enc.ln_f') if self.pre else x

    def logits(self, h):
        return F.linear(h, self.w['tok_emb.weight'])


class Cache:
    """The decoder's state for `rows` live rows: per layer a preallocated self-attention key and value
    cache (R, NH, Tcap, hs) written in place, and the cross keys/values of each source (B, NH, Ts, hs),
    gathered to the live rows only when the rows' sources change."""

    def __init__(self, m, enc, pad_bias, R, Tcap):
        B = enc.shape[0]
        self.m, self.t, self.n = m, 0, B
        self.src = torch.arange(B)
        self.pad_base = pad_bias
        self.pad = pad_bias
        self.self_kv = []
        self.cross_base, self.cross = [], []
        for lp in m.dec_layers:
            k, v = m.lin(enc, f'{lp}.xattn.kv').split(m.C, dim=-1)
            kv = (m.heads(k).contiguous(), m.heads(v).contiguous())
            self.cross_base.append(kv)
            self.cross.append(kv)
            self.self_kv.append([torch.empty(R, m.NH, Tcap, m.hs) for _ in range(4)])  # k, v, spare k, spare v

    def reorder(self, rows):
        """Keep the live rows `rows` (indices into the current rows) in that order."""
        t = self.t
        src = self.src.index_select(0, rows)
        m = rows.shape[0]
        for c in self.self_kv:
            for a in (0, 1):
                c[a + 2][:m, :, :t].copy_(c[a][:self.n, :, :t].index_select(0, rows))
                c[a], c[a + 2] = c[a + 2], c[a]
        if not torch.equal(src, self.src):
            self.cross = [(k.index_select(0, src), v.index_select(0, src)) for k, v in self.cross_base]
            self.pad = self.pad_base.index_select(0, src)
        self.src, self.n = src, m

    def step(self, tokens):
        """tokens (n,) at position t -> next-token logits (n, V); advances t."""
        m, t, n = self.m, self.t, self.n
        x = m.embed(tokens.view(n, 1), torch.tensor([t]), 'dec')
        for i, lp in enumerate(m.dec_layers):
            kc, vc = self.self_kv[i][0], self.self_kv[i][1]

            def self_attn(u, lp=lp, kc=kc, vc=vc):
                q, k, v = [m.heads(a) for a in m.lin(u, f'{lp}.attn.qkv').split(m.C, dim=-1)]
                kc[:n, :, t:t + 1].copy_(k)
                vc[:n, :, t:t + 1].copy_(v)
                return m.lin(m.attend(q, kc[:n, :, :t + 1], vc[:n, :, :t + 1], None), f'{lp}.attn.proj')

            def cross_attn(u, lp=lp, i=i):
                q = m.heads(m.lin(u, f'{lp}.xattn.q'))
                k, v = self.cross[i]
                return m.lin(m.attend(q, k, v, self.pad), f'{lp}.xattn.proj')

            x = m.residual(x, f'{lp}.ln1', self_attn)
            x = m.residual(x, f'{lp}.lnx', cross_attn)
            x = m.residual(x, f'{lp}.ln2', lambda u, lp=lp: m.mlp(u, lp))
        h = m.ln(x, 'dec.ln_f') if m.pre else x
        self.t = t + 1
        return m.logits(h.view(n, m.C))


def prepare(m, batch):
    B, Ts = batch['B'], batch['Ts']
    src = torch.tensor(batch['src'], dtype=torch.long).view(B, Ts)
    mask = torch.tensor(batch['mask'], dtype=torch.bool).view(B, Ts)
    pad_bias = torch.zeros(B, 1, 1, Ts).masked_fill_(~mask.view(B, 1, 1, Ts), NEG_INF)
    return src, pad_bias, m.encode(src, pad_bias)


def greedy(m, batch, L, bos, eos):
    """Cached greedy decoding; eos < 0: never stop (fixed length). Rows that produce eos leave."""
    src, pad_bias, enc = prepare(m, batch)
    B = batch['B']
    L = max(0, min(L, m.cfg['max_len']))
    cache = Cache(m, enc, pad_bias, B, L)
    out = torch.full((B, L), -1, dtype=torch.long)
    tokens = torch.full((B,), bos, dtype=torch.long)
    for t in range(L):
        if cache.n == 0:
            break
        best = cache.step(tokens).argmax(dim=-1)
        keep = best != eos
        out[cache.src[keep], t] = best[keep]
        if not bool(keep.all()):
            cache.reorder(keep.nonzero().view(-1))
            best = best[keep]
        tokens = best
    return [[int(x) for x in row if x >= 0] for row in out.tolist()]


def greedy_uncached(m, batch, L, bos, eos):
    """The reference without a cache: the whole prefix through the decoder at every position."""
    src, pad_bias, enc = prepare(m, batch)
    B = batch['B']
    L = max(0, min(L, m.cfg['max_len']))
    seq = torch.full((B, 1), bos, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    for t in range(L):
        T = t + 1
        x = m.embed(seq, torch.arange(T), 'dec')
        causal = torch.full((T, T), NEG_INF).triu_(1)
        for lp in m.dec_layers:
            def self_attn(u, lp=lp):
                q, k, v = [m.heads(a) for a in m.lin(u, f'{lp}.attn.qkv').split(m.C, dim=-1)]
                return m.lin(m.attend(q, k, v, causal), f'{lp}.attn.proj')

            def cross_attn(u, lp=lp):
                q = m.heads(m.lin(u, f'{lp}.xattn.q'))
                k, v = [m.heads(a) for a in m.lin(enc, f'{lp}.xattn.kv').split(m.C, dim=-1)]
                return m.lin(m.attend(q, k, v, pad_bias), f'{lp}.xattn.proj')

            x = m.residual(x, f'{lp}.ln1', self_attn)
            x = m.residual(x, f'{lp}.lnx', cross_attn)
            x = m.residual(x, f'{lp}.ln2', lambda u, lp=lp: m.mlp(u, lp))
        h = m.ln(x[:, -1], 'dec.ln_f') if m.pre else x[:, -1]
        best = m.logits(h).argmax(dim=-1)
        done |= best == eos
        seq = torch.cat([seq, torch.where(done, torch.full_like(best, eos), best).view(B, 1)], dim=1)
        if bool(done.all()):
            break
    out = []
    for row in seq[:, 1:].tolist():
        out.append(row[:row.index(eos)] if eos in row else row)
    return out


def beam_search(m, batch, K, alpha, L, bos, eos):
    """Batched beam search, the rules of src/model/beam.ts: per sentence the top 2K of
    (live logprob + log-softmax in double) over its rows, walked best first: an eos candidate
    finishes (score logprob / length^alpha, length counting eos), others are kept until K; at the
    length limit the kept ones finish; a sentence stops when no live hypothesis can beat its best
    finished one (live logprob / L^alpha <= best). Returns each sentence's best hypothesis."""
    src, pad_bias, enc = prepare(m, batch)
    B = batch['B']
    L = max(0, min(L, m.cfg['max_len']))
    cache = Cache(m, enc, pad_bias, B * K, L)
    max_norm = float(L) ** alpha
    best_score = torch.full((B,), NEG_INF, dtype=torch.float64)
    best_hist = torch.zeros((B, L), dtype=torch.long)
    best_len = torch.zeros(B, dtype=torch.long)
    sent = torch.arange(B)  # the source sentence of each live group
    live_lp = torch.zeros(B, dtype=torch.float64)
    hist = torch.zeros((B, 0), dtype=torch.long)
    tokens = torch.full((B,), bos, dtype=torch.long)
    for t in range(L):
        if cache.n == 0:
            break
        lp = cache.step(tokens).double().log_softmax(dim=-1)  # (n, V)
        n, V = lp.shape
        rows = n // sent.shape[0]  # 1 at t = 0, then K per live sentence
        S = sent.shape[0]
        cand = (live_lp.view(n, 1) + lp).view(S, rows * V)
        top_lp, top_i = cand.topk(2 * K, dim=1)  # sorted, best first
        parent = top_i.div(V, rounding_mode='floor') + (torch.arange(S) * rows).view(S, 1)
        tok = top_i.remainder(V)
        is_eos = tok == eos
        non = ~is_eos
        cum = non.long().cumsum(1)
        kept = non & (cum <= K)
        last = t + 1 == L
        fin = is_eos & (cum < K) if not last else (is_eos & (cum < K)) | kept
        score = torch.where(fin, top_lp / float(t + 1) ** alpha, NEG_INF)
        fmax, farg = score.max(dim=1)
        better = fmax > best_score[sent]
        if bool(better.any()):
            s_idx = sent[better]
            p = parent[better, farg[better]]
            best_hist[s_idx, :t] = hist[p]
            ends = is_eos[better, farg[better]]
            best_hist[s_idx, t] = torch.where(ends, 0, tok[better, farg[better]])
            best_len[s_idx] = torch.where(ends, t, t + 1)
            best_score[s_idx] = fmax[better]
        if last:
            break
        k_pos = kept.nonzero()[:, 1].view(S, K)  # the kept candidates, best first
        k_lp = top_lp.gather(1, k_pos)
        done = (k_lp.max(dim=1).values / max_norm <= best_score[sent])
        go = ~done
        if not bool(go.any()):
            break
        k_par = parent.gather(1, k_pos)[go].view(-1)
        k_tok = tok.gather(1, k_pos)[go].view(-1)
        cache.reorder(k_par)
        hist = torch.cat([hist.index_select(0, k_par), k_tok.view(-1, 1)], dim=1)
        live_lp = k_lp[go].view(-1)
        sent = sent[go]
        tokens = k_tok
    return [best_hist[s, :best_len[s]].tolist() for s in range(B)], best_score.tolist()


def run_mode(m, mode, batches, meta):
    bos, eos = meta['bos'], meta['eos']
    outs, times = [], []
    for b in batches:
        L = b['maxLen']
        t0 = time.perf_counter()
        if mode['kind'] == 'beam':
            res, _ = beam_search(m, b, mode['beam'], mode['lenPenalty'], L, bos, eos)
        elif mode['kind'] == 'greedy':
            res = greedy(m, b, L, bos, eos if mode['stop'] else -1)
        else:
            res = greedy_uncached(m, b, L, bos, eos if mode['stop'] else -1)
        times.append(time.perf_counter() - t0)
        outs.extend(res)
    return outs, times


def main(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--input', help='the batches JSON bench/decode.ts wrote')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--modes', default='', help='comma list of mode names (default: all in the input)')
    p.add_argument('--probe-blas', action='store_true', help='print the BLAS this process loaded and exit')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.probe_blas:
        torch.zeros(2, 2) @ torch.zeros(2, 2)
        print(json.dumps({'blas': blas_identity()}), flush=True)
        return
    if not a.input:
        p.error('--input is required (the batches JSON bench/decode.ts wrote)')
    with open(a.input) as f:
        meta = json.load(f)
    cfg = meta['config']
    if cfg['family'] != 'encdec':
        raise SystemExit(f"expected an encdec model, found {cfg['family']}")
    w = read_safetensors(meta['checkpoint'])
    m = Model(w, cfg)
    wanted = [x for x in a.modes.split(',') if x] or [md['name'] for md in meta['modes']]
    results = {}
    with torch.inference_mode():
        for mode in meta['modes']:
            if mode['name'] not in wanted:
                continue
            batches = meta['batches'][mode['batches']]
            run_mode(m, mode, batches[:1], meta)  # warm-up: one batch, untimed
            outs, times = run_mode(m, mode, batches, meta)
            results[mode['name']] = {'outputs': outs, 'batch_s': [round(x, 6) for x in times]}
    print(json.dumps({
        'peer': 'torch',
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'blas': blas_identity(),
        'openblas_env': {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS')},
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        'modes': results,
    }), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
