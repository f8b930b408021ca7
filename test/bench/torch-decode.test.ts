// bench/torch_decode.py, the PyTorch peer of `npm run bench -- decode`, against tlc on the same
// weights (a random encdec model written as a safetensors checkpoint, pre- and post-LN): its cached
// greedy decoding, its uncached reference and its batched beam search (K = 1, 3; alpha 0 and 1; the
// end token stopping rows at different steps) give tlc's tokens for every sentence. Skipped where
// python3-torch is absent (`TLC_WITH_TORCH=1 bash scripts/bootstrap.sh` installs it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DecodeBatch, DecodeInput, DecodeMode, PeerOutput } from '../../bench/decode-report.ts';
import { writeSafetensors } from '../../src/engine/safetensors.ts';
import { createTsBackend } from '../../src/engine/ts-backend.ts';
import { beamSearch } from '../../src/model/beam.ts';
import { greedyDecodeCached } from '../../src/model/decode.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { seq2seqBatch, tinyConfig } from '../model/fixtures.ts';

const SCRIPT = fileURLToPath(new URL('../../bench/torch_decode.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : 'python3-torch is not installed (TLC_WITH_TORCH=1 bash scripts/bootstrap.sh)';
const BOS = 1;

for (const norm of ['pre', 'post'] as const) {
  test(`torch_decode.py gives tlc's tokens: greedy, uncached, beam (${norm}-LN)`, { skip }, () => {
    const cfg = tinyConfig('encdec', { norm, n_dec_layers: 2, max_len: 14, init_std: 0.3, vocab: 29 });
    const m = new Transformer(createTsBackend('f64'), cfg, 11);
    const B = 5;
    const Ts = 6;
    const b = seq2seqBatch(cfg.vocab, B, Ts, 4, 21); // the last row ends in padding
    const free = m.greedyDecode(b.src, b.srcMask, B, Ts, 12, BOS, -1);
    const eos = free[1]![3]!; // an end token some rows produce: they stop at different steps
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-torch-decode-'));
    try {
      const ck = path.join(dir, 'model.safetensors');
      writeSafetensors(
        ck,
        m.layout.specs.map((s) => ({
          name: s.name,
          dtype: 'F32',
          shape: s.shape,
          data: Float32Array.from(m.params.subarray(s.offset, s.offset + s.size)),
        })),
      );
      // tlc decodes in float64 here; the peer in float32 on the same (rounded) weights
      m.params.set(Float32Array.from(m.params));
      const batch: DecodeBatch = { B, Ts, src: Array.from(b.src), mask: Array.from(b.srcMask), maxLen: 12 };
      const beams: Array<[number, number]> = [
        [1, 0],
        [3, 0],
        [3, 1],
      ];
      const modes: DecodeMode[] = [
        { name: 'greedy', kind: 'greedy', batches: 'b', stop: true, what: '' },
        { name: 'fixed', kind: 'greedy', batches: 'b', stop: false, what: '' },
        { name: 'uncached', kind: 'uncached', batches: 'b', stop: true, what: '' },
        ...beams.map(
          ([K, a]): DecodeMode => ({
            name: `beam${K}-a${a}`,
            kind: 'beam',
            batches: 'b',
            stop: true,
            beam: K,
            lenPenalty: a,
            what: '',
          }),
        ),
      ];
      const input: DecodeInput = {
        run_dir: dir,
        checkpoint: ck,
        config: cfg as unknown as Record<string, unknown>,
        bos: BOS,
        eos,
        batches: { b: [batch] },
        modes,
      };
      const file = path.join(dir, 'input.json');
      fs.writeFileSync(file, JSON.stringify(input));
      const r = spawnSync(PYTHON, [SCRIPT, '--input', file, '--threads', '1'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerOutput;
      const want: Record<string, number[][]> = {
        greedy: greedyDecodeCached(m, b.src, b.srcMask, B, Ts, 12, BOS, eos).map((d) => Array.from(d.tokens)),
        fixed: greedyDecodeCached(m, b.src, b.srcMask, B, Ts, 12, BOS, -1).map((d) => Array.from(d.tokens)),
        uncached: m.greedyDecode(b.src, b.srcMask, B, Ts, 12, BOS, eos).map((y) => Array.from(y)),
      };
      for (const [K, a] of beams)
        want[`beam${K}-a${a}`] = beamSearch(m, b.src, b.srcMask, B, Ts, {
          beam: K,
          lenPenalty: a,
          maxLen: 12,
          bos: BOS,
          eos,
        }).map((h) => Array.from(h[0]!.tokens));
      assert.ok(
        want.greedy!.some((y) => y.length < 12) && want.greedy!.some((y) => y.length === 12),
        'some rows end, some run to the limit',
      );
      for (const mode of modes) {
        assert.deepEqual(got.modes[mode.name]!.outputs, want[mode.name], mode.name);
        assert.equal(got.modes[mode.name]!.batch_s.length, 1);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
