// The tlc side of `npm run bench -- decode`, run by bench/decode.ts in its own process: loads the
// run's latest checkpoint on the native backend, decodes the batches of the input file in every
// mode (cached greedy, beam search, the uncached reference), one untimed warm-up batch per mode,
// each batch timed, and prints one JSON object: the outputs (token ids) and the times.
// bench/torch_decode.py is its PyTorch twin and reads the same input file.
//
//   node --import tsx bench/decode-tlc.ts --input runs/bench-decode/input-….json --threads 2
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/engine/select.ts';
import { openModelDir } from '../src/io/model-dir.ts';
import { beamSearch } from '../src/model/beam.ts';
import { greedyDecodeCached } from '../src/model/decode.ts';
import { Transformer } from '../src/model/transformer.ts';
import type { DecodeBatch, DecodeInput, DecodeMode, PeerOutput } from './decode-report.ts';

function decodeBatch(
  m: Transformer<Float32Array>,
  mode: DecodeMode,
  b: DecodeBatch,
  bos: number,
  eos: number,
) {
  const src = Int32Array.from(b.src);
  const mask = Uint8Array.from(b.mask);
  const end = mode.stop ? eos : -1; // -1: no token ends a row, every row runs to maxLen
  if (mode.kind === 'beam')
    return beamSearch(m, src, mask, b.B, b.Ts, {
      beam: mode.beam!,
      lenPenalty: mode.lenPenalty!,
      maxLen: b.maxLen,
      bos,
      eos: end,
    }).map((h) => Array.from(h[0]!.tokens));
  if (mode.kind === 'greedy')
    return greedyDecodeCached(m, src, mask, b.B, b.Ts, b.maxLen, bos, end).map((d) => Array.from(d.tokens));
  return m.greedyDecode(src, mask, b.B, b.Ts, b.maxLen, bos, end).map((y) => Array.from(y));
}

function main(): void {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      input: { type: 'string' },
      threads: { type: 'string', default: '1' },
      modes: { type: 'string', default: '' },
    },
    strict: true,
  });
  if (!values.input) throw new Error('--input: expected the batches JSON that bench/decode.ts wrote');
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`--threads: expected a positive integer, found '${values.threads}'`);
  const input = JSON.parse(fs.readFileSync(values.input, 'utf8')) as DecodeInput;
  const md = openModelDir(input.run_dir);
  const m = new Transformer(createBackend('native', threads), md.cfg, 0);
  m.params.set(md.params.data);
  const wanted = values.modes ? values.modes.split(',') : input.modes.map((x) => x.name);
  const out: PeerOutput = { peer: 'tlc', threads, modes: {}, peak_rss_mb: 0 };
  for (const mode of input.modes) {
    if (!wanted.includes(mode.name)) continue;
    const batches = input.batches[mode.batches]!;
    decodeBatch(m, mode, batches[0]!, input.bos, input.eos); // warm-up, untimed
    const outputs: number[][] = [];
    const times: number[] = [];
    for (const b of batches) {
      const t0 = performance.now();
      outputs.push(...decodeBatch(m, mode, b, input.bos, input.eos));
      times.push(+((performance.now() - t0) / 1000).toFixed(6));
    }
    out.modes[mode.name] = { outputs, batch_s: times };
  }
  out.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main();
