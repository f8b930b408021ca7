#!/usr/bin/python3
# The PyTorch half of bench/curve.ts: trains tlc's model (the float32 twin of
# scripts/golden/make_fixtures.py's reference: pre-LN encoder, RoBERTa head, tied output, loss at
# masked positions) from the initial weights tlc dumped, on exactly the batches tlc trained on,
# with the learning rates tlc used at each step (read from its metrics), torch.optim.AdamW and
# clip_grad_norm_; evaluates on tlc's validation windows at the same steps. Prints one JSON object.
#
#     /usr/bin/python3 bench/torch_curve.py DUMP_DIR
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'golden'))
from make_fixtures import forward, layout  # noqa: E402  (the reference model, shared with the golden test)


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = int.from_bytes(f.read(8), 'little')
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        out[name] = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(e['shape']).clone()
    return out


def load_batches(d, name, B, T, n):
    raw = lambda f: torch.frombuffer(bytearray(open(os.path.join(d, f), 'rb').read()), dtype=torch.int32)
    tok = raw(f'{name}-tokens.bin').reshape(n, B, T).long()
    tgt = raw(f'{name}-targets.bin').reshape(n, B, T).long()
    km = raw(f'{name}-keymask.bin').reshape(n, B, T).long()
    return [{'tokens': tok[i], 'targets': tgt[i], 'keyMask': km[i]} for i in range(n)]


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, 'meta.json')))
    torch.manual_seed(0)
    torch.set_num_threads(meta['threads'])
    cfg = meta['model']
    lay = layout(cfg)
    init = load_safetensors(os.path.join(d, 'init.safetensors'))
    P = {n: init[n].clone().requires_grad_(True) for n, _, _ in lay}
    dec = [P[n] for n, _, k in lay if k == 'matrix']
    rest = [P[n] for n, _, k in lay if k != 'matrix']
    o = meta['optim']
    opt = torch.optim.AdamW(
        [{'params': dec, 'weight_decay': o['weight_decay']}, {'params': rest, 'weight_decay': 0.0}],
        lr=o['lr'], betas=(o['beta1'], o['beta2']), eps=o['eps'])
    B, T = meta['batch'], meta['seq']
    train = load_batches(d, 'train', B, T, meta['steps'])
    valid = load_batches(d, 'valid', B, T, meta['valid_batches'])
    lrs = meta['lrs']
    eval_steps = set(meta['eval_steps'])

    def evaluate():
        with torch.no_grad():
            s, c = 0.0, 0
            for b in valid:
                _, loss = forward(cfg, P, b)
                n = int((b['targets'] >= 0).sum())
                s += loss.item() * n
                c += n
        return s / c

    out = {'train_loss': [], 'valid': []}
    if 0 in eval_steps:
        out['valid'].append({'step': 0, 'loss': evaluate()})
    for k in range(meta['steps']):
        for g in opt.param_groups:
            g['lr'] = lrs[k]
        opt.zero_grad(set_to_none=False)
        _, loss = forward(cfg, P, train[k])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), o['clip'])
        opt.step()
        out['train_loss'].append(loss.item())
        if k + 1 in eval_steps:
            out['valid'].append({'step': k + 1, 'loss': evaluate()})
    out['torch'] = torch.__version__
    print(json.dumps(out))


if __name__ == '__main__':
    main()
