// Tests of training checkpoints: retention of the last K, exact round trip of tensors and state,
// fallback past truncated / corrupted / missing files, manifest recovery by scan, and atomicity.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { CorruptError, InputError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { readSafetensors, writeSafetensors } from '../../src/engine/safetensors.ts';
import {
  type CheckpointIn,
  checkpointDir,
  checkpointFileName,
  listCheckpoints,
  loadLatestCheckpoint,
  saveCheckpoint,
} from '../../src/train/checkpoint.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-checkpoint-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
function freshRun(): string {
  return path.join(root, `run${counter++}`);
}

/** A checkpoint whose tensors and state depend on the step, so a wrong step is visible. */
function makeCk(step: number): CheckpointIn {
  const rng = new Rng(step);
  const flat = new Float32Array(20).map(() => rng.normal());
  return {
    step,
    // named views into one flat buffer, as the trainer keeps parameters
    tensors: [
      { name: 'w', shape: [2, 3], data: flat.subarray(0, 6) },
      { name: 'b', shape: [3], data: flat.subarray(6, 9) },
      { name: 'm.w', shape: [11], data: flat.subarray(9, 20) },
    ],
    state: {
      step,
      rng: rng.getState(),
      tokens: step * 1000,
      wall_s: step / 3,
      budget: { kind: 'seconds', spent: step * 0.5 },
    },
  };
}

function warnings(): { warn: (m: string) => void; msgs: string[] } {
  const msgs: string[] = [];
  return { warn: (m) => msgs.push(m), msgs };
}

function assertLoadedIs(got: ReturnType<typeof loadLatestCheckpoint>, step: number): void {
  assert.ok(got, 'expected a checkpoint');
  const want = makeCk(step);
  assert.equal(got.step, step);
  assert.equal(got.info.step, step);
  assert.deepEqual(got.state, want.state);
  assert.deepEqual([...got.tensors.keys()].sort(), want.tensors.map((t) => t.name).sort());
  for (const t of want.tensors) assert.deepEqual(got.tensors.get(t.name), new Float32Array(t.data), t.name);
}

function saveSteps(run: string, steps: number[], keep: number): void {
  for (const s of steps) saveCheckpoint(run, makeCk(s), keep);
}

const fileOf = (run: string, step: number): string => path.join(checkpointDir(run), checkpointFileName(step));
const manifestOf = (run: string): string => path.join(checkpointDir(run), 'manifest.json');

describe('save and retention', () => {
  test('saving 3 with keep 2 leaves the last 2 files and manifest entries, newest last', () => {
    const run = freshRun();
    const t0 = new Date('2024-05-06T07:08:09.000Z');
    for (const s of [100, 200, 300]) saveCheckpoint(run, makeCk(s), 2, { now: new Date(t0.getTime() + s) });
    const dir = checkpointDir(run);
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      'manifest.json',
      'step-00000200.safetensors',
      'step-00000300.safetensors',
    ]);
    const manifest = JSON.parse(fs.readFileSync(manifestOf(run), 'utf8'));
    assert.equal(manifest.format, 'tlc-checkpoints');
    assert.equal(manifest.version, 1);
    assert.deepEqual(
      manifest.checkpoints.map((c: { step: number; file: string }) => [c.step, c.file]),
      [
        [200, 'step-00000200.safetensors'],
        [300, 'step-00000300.safetensors'],
      ],
    );
    for (const c of manifest.checkpoints) {
      const raw = fs.readFileSync(path.join(dir, c.file));
      assert.equal(c.bytes, raw.length);
      assert.equal(c.sha256, createHash('sha256').update(raw).digest('hex'));
    }
    assert.equal(manifest.checkpoints[1].time, '2024-05-06T07:08:09.300Z');
    assert.deepEqual(
      listCheckpoints(run).map((c) => [c.step, c.source]),
      [
        [200, 'manifest'],
        [300, 'manifest'],
      ],
    );
  });

  test('the file holds F32 tensors and the tlc metadata', () => {
    const run = freshRun();
    const info = saveCheckpoint(run, makeCk(7), 3);
    assert.equal(info.file, 'step-00000007.safetensors');
    const f = readSafetensors(fileOf(run, 7));
    assert.equal(f.metadata['tlc.format'], 'tlc-checkpoint');
    assert.equal(f.metadata['tlc.version'], '1');
    assert.deepEqual(JSON.parse(f.metadata['tlc.state']!), makeCk(7).state);
    assert.deepEqual(f.tensors.get('w')!.shape, [2, 3]);
    assert.ok([...f.tensors.values()].every((t) => t.dtype === 'F32'));
  });

  test('saving a step again replaces it instead of duplicating it', () => {
    const run = freshRun();
    saveSteps(run, [1, 2], 5);
    const again = { ...makeCk(2), state: { replaced: true } };
    saveCheckpoint(run, again, 5);
    assert.deepEqual(
      listCheckpoints(run).map((c) => c.step),
      [1, 2],
    );
    assert.deepEqual(loadLatestCheckpoint(run, assert.fail)!.state, { replaced: true });
  });

  test('no tmp files are left behind, and leftovers of a killed write are cleaned on the next save', () => {
    const run = freshRun();
    saveSteps(run, [1, 2], 2);
    const dir = checkpointDir(run);
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.includes('.tmp')),
      [],
    );
    fs.writeFileSync(path.join(dir, 'step-00000003.safetensors.tmp-999-abcd'), 'half a file');
    saveSteps(run, [3], 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      'manifest.json',
      'step-00000002.safetensors',
      'step-00000003.safetensors',
    ]);
  });

  test('bad arguments are InputErrors and write nothing', () => {
    const run = freshRun();
    assert.throws(() => saveCheckpoint(run, makeCk(1), 0), InputError);
    assert.throws(() => saveCheckpoint(run, { ...makeCk(1), step: -1 }, 1), InputError);
    assert.throws(() => saveCheckpoint(run, { ...makeCk(1), state: { n: 1n } }, 1), InputError);
    assert.throws(() => saveCheckpoint(run, { ...makeCk(1), state: undefined }, 1), InputError);
    assert.equal(fs.existsSync(checkpointDir(run)), false);
  });
});

describe('load', () => {
  test('no checkpoint at all gives null without warnings', () => {
    assert.equal(loadLatestCheckpoint(freshRun(), assert.fail), null);
  });

  test('loads the newest checkpoint exactly', () => {
    const run = freshRun();
    saveSteps(run, [10, 20, 30], 2);
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 30);
    assert.deepEqual(msgs, []);
  });

  test('a truncated newest checkpoint is reported and the previous one is used', () => {
    const run = freshRun();
    saveSteps(run, [10, 20], 3);
    const f = fileOf(run, 20);
    fs.truncateSync(f, fs.statSync(f).size - 10);
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 10);
    assert.equal(msgs.length, 1);
    assert.match(
      msgs[0]!,
      /step-00000020\.safetensors is unusable: the file is \d+ bytes, the manifest says \d+/,
    );
    assert.match(msgs[0]!, /falling back to the previous checkpoint step-00000010\.safetensors/);
  });

  test('a flipped byte (same size) is caught by the sha256 check', () => {
    const run = freshRun();
    saveSteps(run, [10, 20], 3);
    const f = fileOf(run, 20);
    const raw = fs.readFileSync(f);
    raw[raw.length - 3]! ^= 0x01; // inside tensor data: the safetensors structure stays valid
    fs.writeFileSync(f, raw);
    assert.ok(readSafetensors(f).tensors.size > 0, 'the damaged file still parses');
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 10);
    assert.equal(msgs.length, 1);
    assert.match(
      msgs[0]!,
      /step-00000020\.safetensors is unusable: its sha256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}/,
    );
  });

  test('a missing file listed in the manifest is reported and skipped', () => {
    const run = freshRun();
    saveSteps(run, [10, 20], 3);
    fs.rmSync(fileOf(run, 20));
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 10);
    assert.match(msgs[0]!, /step-00000020\.safetensors is unusable: the file is missing; falling back/);
  });

  test('all checkpoints corrupt: each is reported, then a CorruptError with a hint', () => {
    const run = freshRun();
    saveSteps(run, [10, 20], 3);
    for (const s of [10, 20]) fs.writeFileSync(fileOf(run, s), 'garbage');
    const { warn, msgs } = warnings();
    assert.throws(
      () => loadLatestCheckpoint(run, warn),
      (e: unknown) =>
        e instanceof CorruptError &&
        /none of the 2 checkpoint\(s\)/.test(e.message) &&
        e.message.includes('step-00000010.safetensors') &&
        /new run directory/.test(e.hint ?? ''),
    );
    assert.equal(msgs.length, 2);
    assert.match(msgs[1]!, /step-00000010\.safetensors is unusable: .*no earlier checkpoint to fall back to/);
  });
});

describe('manifest recovery', () => {
  test('a deleted manifest is recovered by scanning, with a warning, and rebuilt by the next save', () => {
    const run = freshRun();
    saveSteps(run, [10, 20, 30], 3);
    fs.rmSync(manifestOf(run));
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 30);
    assert.equal(msgs.length, 1);
    assert.match(msgs[0]!, /manifest\.json is missing; recovered 3 checkpoint\(s\) by scanning/);
    assert.deepEqual(
      listCheckpoints(run).map((c) => [c.step, c.source]),
      [
        [10, 'scan'],
        [20, 'scan'],
        [30, 'scan'],
      ],
    );
    saveCheckpoint(run, makeCk(40), 2);
    assert.deepEqual(
      listCheckpoints(run).map((c) => [c.step, c.source]),
      [
        [30, 'manifest'],
        [40, 'manifest'],
      ],
    );
  });

  test('a corrupt manifest is recovered by scanning, and a truncated scanned file is skipped', () => {
    const run = freshRun();
    saveSteps(run, [10, 20], 3);
    fs.writeFileSync(manifestOf(run), '{"format": "tlc-checkp');
    const f = fileOf(run, 20);
    fs.truncateSync(f, fs.statSync(f).size - 1);
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 10);
    assert.match(msgs[0]!, /manifest\.json is not valid JSON/);
    assert.match(msgs[1]!, /step-00000020\.safetensors is unusable: .*truncated.*falling back/);
  });

  test('a corrupt manifest with no checkpoint files is a CorruptError, not a fresh start', () => {
    const run = freshRun();
    saveSteps(run, [10], 3);
    fs.writeFileSync(
      manifestOf(run),
      '{"format":"tlc-checkpoints","version":1,"checkpoints":[{"step":"x"}]}',
    );
    fs.rmSync(fileOf(run, 10));
    assert.throws(
      () => loadLatestCheckpoint(run, () => {}),
      (e: unknown) => e instanceof CorruptError && /invalid or duplicate entry #0/.test(e.message),
    );
  });

  test('a checkpoint written just before the run was killed (not yet in the manifest) is used', () => {
    const run = freshRun();
    saveSteps(run, [10, 20], 3);
    const before = fs.readFileSync(manifestOf(run));
    saveSteps(run, [30], 3);
    fs.writeFileSync(manifestOf(run), before); // as if killed between the file's rename and the manifest's
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 30);
    assert.match(msgs[0]!, /step-00000030\.safetensors is not in the manifest/);
    assert.deepEqual(
      listCheckpoints(run).map((c) => c.source),
      ['manifest', 'manifest', 'orphan'],
    );
  });

  test('a file from another format in place of a checkpoint is rejected by its metadata', () => {
    const run = freshRun();
    saveSteps(run, [10], 3);
    fs.rmSync(manifestOf(run));
    writeSafetensors(fileOf(run, 20), [{ name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) }], {
      format: 'pt',
    });
    const { warn, msgs } = warnings();
    assertLoadedIs(loadLatestCheckpoint(run, warn), 10);
    assert.match(
      msgs[1]!,
      /step-00000020\.safetensors is unusable: tlc\.format is undefined, expected "tlc-checkpoint"/,
    );
  });
});
