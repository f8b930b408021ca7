#!/usr/bin/python3
# Golden fixtures for tlc's whole-model test (test/model/golden.test.ts): a float64 PyTorch twin of
# tlc's tiny encoder (MLM, RoBERTa head) and decoder (causal LM) dumps params, logits, loss, every
# gradient and the losses of 10 AdamW steps. It does not import tlc: names, shapes and math mirror
# src/model/*.ts by hand, so a disagreement between the two is what the test is there to catch.
#
# Regenerate (Debian's python3-torch; the `python3` on PATH may lack torch):
#     /usr/bin/python3 scripts/golden/make_fixtures.py
# writes test/fixtures/golden/{encoder,decoder,encoder-postln}.json. Deterministic (fixed torch
# seed); rerunning on the same torch version gives byte-identical files.
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'golden'))

# Std of weight matrices and embeddings. Larger than the 0.02 used for training so that attention
# is far from uniform, GELU is in its curved range and logits are O(1): with 0.02 the q/k paths and
# the softmax backward would only contribute gradients too small for a 1e-4 check to see.
WEIGHT_STD = 0.25
BIAS_STD = 0.05  # linear and LayerNorm biases, lm_head.bias: non-zero so the test exercises them
LN_WEIGHT_STD = 0.1  # LayerNorm weights are 1 + N(0, this)

# AdamW with the betas and eps of tlc's defaultAdamW (src/engine/optim.ts); decay only on matrices
# and embeddings. lr and weight decay (0.1, not 0.01) are larger than a real run's so that 10 steps
# move the loss visibly and a wrong decay group shifts the losses far beyond the test's tolerance
# (the fixtures record that shift as decay_group_sensitivity, ~1e-2). No clipping.
OPTIM = OrderedDict(lr=1e-2, beta1=0.9, beta2=0.98, eps=1e-6, weight_decay=0.1, steps=10, clip=0)

BASE_CONFIG = OrderedDict(vocab=31, d_model=16, n_layers=2, n_heads=4, d_ff=24, max_len=12, dropout=0)


class Ref(float):
    """A reference output: written with 12 significant digits (5e-12 relative), so the float64
    comparison is limited by the math, not by the text; inputs keep 9 (exact for float32)."""


def fmt(x):
    """9 significant digits round-trip a float32 and keep the files small; Ref values get 12."""
    if not math.isfinite(x):
        raise ValueError(f'non-finite value {x} in a fixture')
    return ('%.12g' if isinstance(x, Ref) else '%.9g') % x


def to_json(obj, depth=0):
    """JSON with floats at 9 digits (Ref: 12); objects at depth < 2 get one key per line."""
    if isinstance(obj, bool):
        return 'true' if obj else 'false'
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return fmt(obj)
    if isinstance(obj, str):
        return json.dumps(obj)
    if isinstance(obj, (list, tuple)):
        return '[' + ','.join(to_json(v, depth + 1) for v in obj) + ']'
    if isinstance(obj, dict):
        sep = ',\n' + '  ' * (depth + 1) if depth < 2 else ','
        open_, close = ('{\n' + '  ' * (depth + 1), '\n' + '  ' * depth + '}') if depth < 2 else ('{', '}')
        return open_ + sep.join(json.dumps(k) + ': ' + to_json(v, depth + 1) for k, v in obj.items()) + close
    raise TypeError(f'cannot write {type(obj)}')


# ---- layout: the names and shapes of src/model/params.ts buildLayout, in its order ------------
def layout(cfg):
    """[(name, shape, kind)], kind in matrix | bias | ln_weight; decay applies to matrix only."""
    C, F_, V = cfg['d_model'], cfg['d_ff'], cfg['vocab']
    out = [('tok_emb.weight', [V, C], 'matrix'), ('pos_emb.weight', [cfg['max_len'], C], 'matrix')]

    def linear(p, o, i):
        out.extend([(f'{p}.weight', [o, i], 'matrix'), (f'{p}.bias', [o], 'bias')])

    def norm(p):
        out.extend([(f'{p}.weight', [C], 'ln_weight'), (f'{p}.bias', [C], 'bias')])

    if cfg['norm'] == 'post':
        norm('emb_ln')
    for i in range(cfg['n_layers']):
        p = f'layers.{i}'
        norm(f'{p}.ln1')
        linear(f'{p}.attn.qkv', 3 * C, C)
        linear(f'{p}.attn.proj', C, C)
        norm(f'{p}.ln2')
        linear(f'{p}.mlp.fc', F_, C)
        linear(f'{p}.mlp.proj', C, F_)
    if cfg['norm'] == 'pre':
        norm('ln_f')
    if cfg['family'] == 'encoder':
        linear('lm_head.dense', C, C)
        norm('lm_head.ln')
        out.append(('lm_head.bias', [V], 'bias'))
    return out


def init_params(lay, gen):
    """float32 draws, passed through their 9-digit text form, held as float64 leaf tensors: the
    fixture's text is then exactly what PyTorch computed with (and what tlc f64 loads)."""
    params = OrderedDict()
    for name, shape, kind in lay:
        z = torch.randn(shape, generator=gen, dtype=torch.float32)
        if kind == 'matrix':
            t = z * WEIGHT_STD
        elif kind == 'ln_weight':
            t = 1 + z * LN_WEIGHT_STD
        else:
            t = z * BIAS_STD
        t = t.to(torch.float32).flatten().tolist()
        t = torch.tensor([float(fmt(x)) for x in t], dtype=torch.float64).view(shape)
        params[name] = t.requires_grad_(True)
    return params


# ---- the model, mirroring src/model/{layers,stack,heads}.ts ------------------------------------
def linear(x, P, p):
    return x @ P[f'{p}.weight'].T + P[f'{p}.bias']  # weights (out, in) as nn.Linear


def layer_norm(x, P, p):
    return F.layer_norm(x, (x.shape[-1],), P[f'{p}.weight'], P[f'{p}.bias'], eps=1e-5)


def attention(u, P, p, NH, allowed):
    """Fused qkv (3C, C) split q|k|v along the output dim; heads are contiguous channel groups."""
    B, T, C = u.shape
    hs = C // NH
    q, k, v = linear(u, P, f'{p}.qkv').split(C, dim=-1)
    q, k, v = (t.reshape(B, T, NH, hs).transpose(1, 2) for t in (q, k, v))  # (B, NH, T, hs)
    s = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, NH, T, T)
    s = s.masked_fill(~allowed[:, None, :, :], float('-inf'))
    y = torch.softmax(s, dim=-1) @ v  # (B, NH, T, hs)
    return linear(y.transpose(1, 2).reshape(B, T, C), P, f'{p}.proj')


def mlp(u, P, p):
    return linear(F.gelu(linear(u, P, f'{p}.fc'), approximate='tanh'), P, f'{p}.proj')


def residual(x, pre, ln, f, P):
    """pre-LN: x + f(LN(x)); post-LN: LN(x + f(x)) (dropout is 0 in the fixtures)."""
    return x + f(layer_norm(x, P, ln)) if pre else layer_norm(x + f(x), P, ln)


def forward(cfg, P, batch):
    """Returns (logits at rows with target != -1, in b*T+t order; mean cross-entropy)."""
    tokens, key_mask, targets = batch['tokens'], batch['keyMask'], batch['targets']
    B, T = tokens.shape
    pre = cfg['norm'] == 'pre'
    allowed = key_mask.bool()[:, None, :].expand(B, T, T)  # (B, Tq, Tk): padding keys masked
    if cfg['family'] == 'decoder':
        allowed = allowed & torch.ones(T, T, dtype=torch.bool).tril()[None]
    assert bool(allowed.any(dim=-1).all()), 'every query needs an allowed key'
    x = P['tok_emb.weight'][tokens] + P['pos_emb.weight'][:T]  # positions 0..T-1
    if not pre:
        x = layer_norm(x, P, 'emb_ln')
    for i in range(cfg['n_layers']):
        lp = f'layers.{i}'
        x = residual(x, pre, f'{lp}.ln1', lambda u: attention(u, P, f'{lp}.attn', cfg['n_heads'], allowed), P)
        x = residual(x, pre, f'{lp}.ln2', lambda u: mlp(u, P, f'{lp}.mlp'), P)
    if pre:
        x = layer_norm(x, P, 'ln_f')
    flat_t = targets.reshape(-1)
    idx = (flat_t >= 0).nonzero().squeeze(1)
    h = x.reshape(B * T, -1)[idx]
    if cfg['family'] == 'encoder':  # RoBERTa's LM head: dense, GELU, LayerNorm, tied E, bias
        h = layer_norm(F.gelu(linear(h, P, 'lm_head.dense'), approximate='tanh'), P, 'lm_head.ln')
        logits = h @ P['tok_emb.weight'].T + P['lm_head.bias']
    else:
        logits = h @ P['tok_emb.weight'].T
    return logits, F.cross_entropy(logits, flat_t[idx])


# ---- batches ------------------------------------------------------------------------------------
def make_batch(cfg, B, T, pad_row, n_pad, gen):
    """Tokens in [1, V), padding (token 0, keyMask 0) at the end of one row. Encoder: ~20% of real
    positions carry a random target (at least one per row). Decoder: every real position's target
    is the next token (a random id at the last real position)."""
    V = cfg['vocab']
    tokens = torch.randint(1, V, (B, T), generator=gen)
    key_mask = torch.ones(B, T, dtype=torch.int64)
    key_mask[pad_row, T - n_pad:] = 0
    tokens[key_mask == 0] = 0
    targets = torch.full((B, T), -1, dtype=torch.int64)
    for b in range(B):
        real = int(key_mask[b].sum())
        if cfg['family'] == 'decoder':
            targets[b, :real - 1] = tokens[b, 1:real]
            targets[b, real - 1] = int(torch.randint(0, V, (1,), generator=gen))
            continue
        pick = torch.rand(real, generator=gen) < 0.2
        pick[int(torch.randint(0, real, (1,), generator=gen))] = True
        rnd = torch.randint(0, V, (real,), generator=gen)
        targets[b, :real] = torch.where(pick, rnd, targets[b, :real])
    return {'B': B, 'T': T, 'tokens': tokens, 'keyMask': key_mask, 'targets': targets}


# ---- one fixture --------------------------------------------------------------------------------
def adamw(P, lay, decay=True):
    """torch.optim.AdamW with two groups: decay on matrices/embeddings, none on biases and LN.
    decay=False puts everything in the decayed group (only used to check the fixture's power)."""
    dec = [P[n] for n, _, k in lay if k == 'matrix' or not decay]
    rest = [P[n] for n, _, k in lay if k != 'matrix' and decay]
    groups = [{'params': dec, 'weight_decay': OPTIM['weight_decay']}, {'params': rest, 'weight_decay': 0.0}]
    return torch.optim.AdamW(
        [g for g in groups if g['params']], lr=OPTIM['lr'], betas=(OPTIM['beta1'], OPTIM['beta2']), eps=OPTIM['eps']
    )


def train_losses(cfg, lay, P0, batch, decay=True):
    """loss_k is measured before the k-th update (k = 0..steps-1), same batch every step."""
    P = OrderedDict((n, t.detach().clone().requires_grad_(True)) for n, t in P0.items())
    opt = adamw(P, lay, decay)
    losses = []
    for _ in range(OPTIM['steps']):
        opt.zero_grad(set_to_none=False)
        _, loss = forward(cfg, P, batch)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    return losses


def make_fixture(family, norm, seed):
    cfg = OrderedDict(family=family, **BASE_CONFIG, norm=norm)
    gen = torch.Generator().manual_seed(seed)
    lay = layout(cfg)
    P = init_params(lay, gen)
    batch = make_batch(cfg, 3, 10, 1 if family == 'encoder' else 2, 3 if family == 'encoder' else 2, gen)
    logits, loss = forward(cfg, P, batch)
    loss.backward()
    losses = train_losses(cfg, lay, P, batch)
    assert abs(losses[0] - loss.item()) < 1e-12
    no_groups = train_losses(cfg, lay, P, batch, decay=False)
    flat = lambda t: [Ref(x) for x in t.detach().reshape(-1).tolist()]
    return OrderedDict(
        format='tlc-golden',
        version=1,
        generator='/usr/bin/python3 scripts/golden/make_fixtures.py',
        torch=torch.__version__,
        dtype='float64',
        config=cfg,
        optim=OPTIM,
        batch=OrderedDict((k, v.reshape(-1).tolist() if torch.is_tensor(v) else v) for k, v in batch.items()),
        shapes=OrderedDict((n, s) for n, s, _ in lay),
        params=OrderedDict((n, [float(x) for x in t.detach().reshape(-1).tolist()]) for n, t in P.items()),
        logits_shape=list(logits.shape),
        logits=flat(logits),
        loss=Ref(loss.item()),
        grads=OrderedDict((n, flat(t.grad)) for n, t in P.items()),
        losses=[Ref(x) for x in losses],
        # diagnostic: the largest loss change if decay also hit biases/LN (must exceed the tolerance)
        decay_group_sensitivity=max(abs(a - b) for a, b in zip(losses, no_groups)),
    )


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, family, norm, seed in [
        ('encoder', 'encoder', 'pre', 1234),
        ('decoder', 'decoder', 'pre', 5678),
        ('encoder-postln', 'encoder', 'post', 4321),
    ]:
        fx = make_fixture(family, norm, seed)
        path = os.path.join(OUT_DIR, f'{name}.json')
        with open(path, 'w') as f:
            f.write(to_json(fx) + '\n')
        print(f'{path}: loss {fx["loss"]:.6f} -> {fx["losses"][-1]:.6f}, '
              f'{os.path.getsize(path)} bytes, decay sensitivity {fx["decay_group_sensitivity"]:.2e}',
              file=sys.stderr)


if __name__ == '__main__':
    main()
