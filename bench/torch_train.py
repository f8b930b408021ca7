#!/usr/bin/python3
# The PyTorch peer for bench/train.ts: the same pre-LN Transformer as tlc (encoder MLM with the
# RoBERTa head and tied output, loss only at masked positions; or decoder causal LM), the same batch,
# AdamW settings and clipping, timed step by step. Prints one JSON object per line.
# It does not import tlc and does not compare anything itself; bench/train.ts runs and compares.
#
# Run with Debian's python3-torch (the `python3` on PATH may lack torch):
#     /usr/bin/python3 bench/torch_train.py --family encoder --threads 1 --steps 8 --warmup 2
# Two ways to write the blocks, as a user would (--module):
#   hand  (default) written as a performance-minded PyTorch user would: fused qkv Linear, one batched
#         matmul per attention product;
#   stock nn.TransformerEncoder of nn.TransformerEncoderLayer(norm_first=True, batch_first=True).
# Both share the embeddings and the head (masked rows gathered before the tied LM head),
# AdamW(foreach=True), zero_grad(set_to_none=True), torch.set_num_threads(N). --precision bf16 runs
# the forward under torch.autocast('cpu', dtype=torch.bfloat16). Every run counts its GEMM FLOPs
# (one untimed forward + backward under a dispatch mode) and names the BLAS it loaded.
import argparse
import ctypes
import functools
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode


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
    p.add_argument('--module', choices=['hand', 'stock'], default='hand', help='how the blocks are written')
    p.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32', help='bf16: CPU autocast')
    p.add_argument('--gelu', choices=['tanh', 'erf'], default='tanh', help="tanh: tlc's; erf: F.gelu's default")
    p.add_argument('--probe-blas', action='store_true', help='print the BLAS this process loaded and exit')
    p.add_argument('--jit', action='store_true', help='torch.jit.script the model (hand only)')
    p.add_argument('--no-foreach', action='store_true', help='AdamW with a per-tensor loop')
    return p.parse_args(argv)


class Block(nn.Module):
    """Pre-LN block: x + proj(attn(ln1(x))); x + fc2(gelu(fc1(ln2(x)))). qkv is one (3C, C) Linear."""

    def __init__(self, C, NH, FF, causal, approximate):
        super().__init__()
        self.NH, self.causal, self.approximate = NH, causal, approximate
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
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate=self.approximate))


class HandBody(nn.Module):
    """The hand-written blocks, then the final layer norm."""

    def __init__(self, a, causal):
        super().__init__()
        approximate = 'tanh' if a.gelu == 'tanh' else 'none'
        self.blocks = nn.ModuleList([Block(a.d_model, a.heads, a.ff, causal, approximate) for _ in range(a.layers)])
        self.ln_f = nn.LayerNorm(a.d_model)

    def forward(self, x, mask_bias):
        for blk in self.blocks:
            x = blk(x, mask_bias)
        return self.ln_f(x)


class StockBody(nn.Module):
    """nn.TransformerEncoder(norm_first=True) with the final layer norm as its `norm`. PyTorch 1.13
    has no `is_causal`: the decoder passes the (T, T) -inf mask (one baddbmm per layer); its fast
    paths (torch._transformer_encoder_layer_fwd, nested tensors) run only without grad, never here."""

    def __init__(self, a, causal):
        super().__init__()
        self.causal = causal
        # the string 'gelu' is F.gelu's erf form; the tanh form is passed as a callable
        act = functools.partial(F.gelu, approximate='tanh') if a.gelu == 'tanh' else 'gelu'
        layer = nn.TransformerEncoderLayer(a.d_model, a.heads, a.ff, dropout=0.0, activation=act,
                                           batch_first=True, norm_first=True)
        self.stack = nn.TransformerEncoder(layer, a.layers, norm=nn.LayerNorm(a.d_model),
                                           enable_nested_tensor=False)

    def forward(self, x, mask_bias):
        return self.stack(x, mask=mask_bias if self.causal else None)


class Model(nn.Module):
    """tlc's encoder (MLM, RoBERTa head: dense-GELU-LN, tied embedding, output bias) or decoder
    (causal LM, plain tied head). Logits only at rows with a target (encoder: the masked ones)."""

    def __init__(self, a):
        super().__init__()
        C, V = a.d_model, a.vocab
        self.encoder = a.family == 'encoder'
        self.approximate = 'tanh' if a.gelu == 'tanh' else 'none'
        self.tok_emb = nn.Embedding(V, C)
        self.pos_emb = nn.Embedding(a.seq, C)
        self.body = (HandBody if a.module == 'hand' else StockBody)(a, not self.encoder)
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
        h = self.body(x, self.mask_bias).reshape(B * T, -1).index_select(0, rows)
        if self.encoder:
            # .float(): under CPU autocast (1.13) layer_norm takes no bf16 input with fp32 weights
            h = self.head_ln(F.gelu(self.dense(h), approximate=self.approximate).float())
            logits = F.linear(h, self.tok_emb.weight, self.head_bias)
        else:
            logits = F.linear(h, self.tok_emb.weight)
        return F.cross_entropy(logits.float(), targets)


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


class GemmFlops(TorchDispatchMode):
    """Counts 2 FLOPs per multiply-add of every GEMM the aten dispatcher runs (forward and backward):
    mm, addmm, bmm, baddbmm, by operand dtype; the rest (elementwise, softmax, norms) is not
    counted, as in tlc's modelStats."""

    def __init__(self):
        super().__init__()
        self.flops = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        ab = (args[0], args[1]) if name in ('mm', 'bmm') else (args[1], args[2]) if name in ('addmm', 'baddbmm') else None
        if ab is not None:
            a, b = ab
            batch = a.shape[0] if a.dim() == 3 else 1
            key = str(a.dtype).replace('torch.', '')
            self.flops[key] = self.flops.get(key, 0) + 2 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return func(*args, **(kwargs or {}))


def count_flops(model, batch, bf16):
    """GEMM FLOPs of one forward + backward by dtype (an untimed step; the gradients are dropped)."""
    tokens, rows, targets = batch
    with GemmFlops() as c:
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            loss = model(tokens, rows, targets)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return c.flops


class _DlInfo(ctypes.Structure):
    _fields_ = [('dli_fname', ctypes.c_char_p), ('dli_fbase', ctypes.c_void_p),
                ('dli_sname', ctypes.c_char_p), ('dli_saddr', ctypes.c_void_p)]


def _mapped(prefix):
    """Path of the first shared object this process mapped whose file name starts with prefix."""
    with open('/proc/self/maps') as f:
        paths = sorted({line.split()[-1] for line in f if '/' in line})
    return next((p for p in paths if os.path.basename(p).startswith(prefix)), None)


def blas_identity():
    """Which library torch's fp32 GEMMs run in, asked directly: the `sgemm_` that libtorch_cpu
    resolves (dlsym on its handle searches it and its dependencies in load order, as the dynamic
    linker does for its calls), located with dladdr, then the library asked what it is: OpenBLAS,
    BLIS and MKL export a version or threading function; Netlib's reference BLAS (Debian's
    default libblas.so.3, from libblas3) exports only the BLAS routines. A build with its BLAS
    linked in (pip wheels: MKL) resolves sgemm_ in libtorch_cpu itself; its build config names it."""
    config = torch.__config__.show()
    info = next((w.split('=')[1].rstrip(',') for w in config.split() if w.startswith('BLAS_INFO=')), None)
    out = {'torch_blas_info': info, 'sgemm_from': None, 'kind': 'unknown'}
    torch_cpu = _mapped('libtorch_cpu')
    if torch_cpu is None:
        return out
    try:
        sgemm = ctypes.CDLL(torch_cpu).sgemm_
    except AttributeError:
        return out
    where = _DlInfo()
    if not ctypes.CDLL(None).dladdr(ctypes.cast(sgemm, ctypes.c_void_p), ctypes.byref(where)):
        return out
    path = os.path.realpath(where.dli_fname.decode())
    out['sgemm_from'] = path
    if os.path.basename(path).startswith('libtorch_cpu'):
        out['kind'] = 'mkl' if info == 'mkl' else f'built-in ({info})'
        return out
    lib = ctypes.CDLL(path)
    if hasattr(lib, 'openblas_get_config'):
        for fn in ('openblas_get_config', 'openblas_get_corename'):
            getattr(lib, fn).restype = ctypes.c_char_p
        out.update(kind='openblas', config=lib.openblas_get_config().decode(),
                   corename=lib.openblas_get_corename().decode())
    elif hasattr(lib, 'bli_info_get_version_str'):
        out['kind'] = 'blis'
    elif hasattr(lib, 'mkl_get_max_threads') or hasattr(lib, 'MKL_Get_Max_Threads'):
        out['kind'] = 'mkl'
    else:
        out['kind'] = 'reference'
    return out


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.probe_blas:
        torch.zeros(2, 2) @ torch.zeros(2, 2)  # the BLAS is loaded with torch; a GEMM to be sure
        print(json.dumps({'blas': blas_identity()}), flush=True)
        return
    torch.manual_seed(a.seed)
    model = Model(a)
    batches = make_batches(a, torch.Generator().manual_seed(a.seed))
    bf16 = a.precision == 'bf16'
    flops = count_flops(model, batches[0], bf16)
    if a.jit:
        model = torch.jit.script(model)
    opt = optimizer(model, not a.no_foreach)
    params = list(model.parameters())
    times = []
    for i in range(a.warmup + a.steps):
        tokens, rows, targets = batches[i % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
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
        'flops_per_token': round(sum(flops.values()) / tokens),
        'gemm_flops_by_dtype': flops,
        'predicted_rows': int(batches[0][1].numel()),
        'module': a.module,
        'precision': a.precision,
        'gelu': a.gelu,
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'jit': a.jit,
        'foreach': not a.no_foreach,
        'blas': blas_identity(),
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        'openblas_env': {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS')},
    }), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
