// What a queue job may ask for: only the known kinds, run ids as the study makes them, study folders
// under the worker's root (symlinks resolved), strictly valid configs; and the queue's order
// (training first, largest first); and what a job's process inherits of the worker's environment.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../../src/engine/errors.ts';
import { childArgs, jobIdOf, priorities, validateJob } from '../../src/study/job-kinds.ts';
import { parseQueueUrl } from '../../src/study/redis-url.ts';
import { childEnv } from '../../src/study/worker.ts';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-jobs-')));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const root = path.join(tmp, 'root');
const study = path.join(root, 'study');
const outside = path.join(tmp, 'outside');
const config = `model: { family: encoder, d_model: 64, n_layers: 2, n_heads: 2 }
data: { name: prose-en-small, vocab_size: 2048, seq_len: 64, batch_size: 16, valid_batches: 4 }
budget: { steps: 10 }
`;
for (const s of [study, outside]) {
  fs.mkdirSync(path.join(s, 'configs'), { recursive: true });
  fs.mkdirSync(path.join(s, 'runs', 'd64-L2-s1'), { recursive: true });
  fs.writeFileSync(path.join(s, 'configs', 'd64-L2-s1.yaml'), config);
}
fs.writeFileSync(path.join(study, 'configs', 'd64-L1-s1.yaml'), `${config}exec: "touch ${outside}/pwned"\n`);
fs.symlinkSync(outside, path.join(root, 'link'));
fs.symlinkSync(path.join(outside, 'runs'), path.join(study, 'runs', 'd64-L4-s1'));
fs.writeFileSync(path.join(study, 'configs', 'd64-L4-s1.yaml'), config);

const ok = { v: 1, kind: 'train', study, run: 'd64-L2-s1' };

function refused(payload: unknown, why: RegExp): void {
  assert.throws(
    () => validateJob(payload, root),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `expected an InputError, got ${e}`);
      assert.match(e.message, why);
      return true;
    },
    JSON.stringify(payload),
  );
}

test('a study job is accepted and turned into fixed tlc arguments', () => {
  const v = validateJob(ok, root);
  assert.equal(v.writes, path.join(study, 'runs', 'd64-L2-s1'));
  assert.equal(v.config?.budget.steps, 10);
  assert.deepEqual(childArgs(v, { root, threads: 1 }), [
    'study-job',
    'train',
    `--root=${root}`,
    `--study=${study}`,
    '--run=d64-L2-s1',
    '--threads=1',
  ]);
  const c = validateJob(
    { v: 1, kind: 'compress', study, run: 'd64-L2-s1', preset: 'quick', arm: 'pretrain' },
    root,
  );
  assert.equal(c.writes, path.join(study, 'compress', 'd64-L2-s1'));
});

test('crafted payloads are refused: other kinds, extra keys, commands, paths out of the study', () => {
  refused({ kind: 'shell', cmd: `touch ${outside}/pwned` }, /not a tlc study job/);
  refused({ ...ok, args: ['--run-dir', outside] }, /not a tlc study job/);
  refused({ ...ok, v: 2 }, /not a tlc study job/);
  refused({ ...ok, run: '../../outside/runs/x' }, /run id/);
  refused({ ...ok, run: 'd64-L2-s1; rm -rf /' }, /run id/);
  refused({ ...ok, study: 'study' }, /absolute path/);
  refused({ ...ok, study: outside }, /outside this worker's root/);
  refused({ ...ok, study: path.join(root, 'link') }, /outside this worker's root/);
  refused({ ...ok, study: path.join(study, '..', '..', 'outside') }, /outside this worker's root/);
  refused({ ...ok, study: root }, /not a tlc study folder/);
  refused({ ...ok, run: 'd64-L1-s1' }, /exec: unknown key/);
  refused({ ...ok, run: 'd64-L4-s1' }, /resolves outside the study folder/);
  refused({ ...ok, run: 'd64-L8-s1' }, /no config for run/);
  refused(
    { v: 1, kind: 'compress', study, run: 'd64-L2-s1', preset: 'quick; touch x', arm: 'pretrain' },
    /preset/,
  );
  refused(
    { v: 1, kind: 'finetune', study, run: 'd64-L2-s1', data: `--run-dir=${outside}`, budget_s: 5 },
    /data/,
  );
  assert.equal(fs.existsSync(path.join(outside, 'pwned')), false);
});

test('priorities: training before fine-tuning before compression, largest model first', () => {
  const specs = [
    { kind: 'compress' as const, run: 'd256-L4-s1', preset: 'quick', arm: 'pretrain' as const },
    { kind: 'train' as const, run: 'd64-L1-s1' },
    { kind: 'train' as const, run: 'd256-L4-s1' },
    { kind: 'finetune' as const, run: 'd64-L1-s1', data: 'sentiment-en', budget_s: 10 },
    { kind: 'train' as const, run: 'd128-L2-s1' },
  ];
  const p = priorities(specs);
  const order = specs.map((s, i) => ({ s, p: p[i]! })).sort((a, b) => a.p - b.p);
  assert.deepEqual(
    order.map((o) => `${o.s.kind} ${o.s.run}`),
    ['train d256-L4-s1', 'train d128-L2-s1', 'train d64-L1-s1', 'finetune d64-L1-s1', 'compress d256-L4-s1'],
  );
  assert.ok(
    p.every((x) => x >= 1 && x < 2 ** 21),
    'BullMQ priorities are 1 … 2^21',
  );
  assert.notEqual(jobIdOf('/a/study', specs[1]!), jobIdOf('/b/study', specs[1]!));
  assert.ok(!jobIdOf('/a/study', specs[0]!).includes(':'), 'BullMQ ids cannot hold a colon');
});

test('a job process gets no environment variable holding the queue URL or its password', () => {
  const q = parseQueueUrl('redis://:p%40ss@10.0.0.5:6379');
  const env = childEnv(q, {
    PATH: '/usr/bin:/bin',
    HOME: '/home/tlc',
    TLC_REDIS_URL: 'redis://10.0.0.5:6379',
    MY_QUEUE: 'redis://:p%40ss@10.0.0.5:6379',
    OTHER: 'redis://:p@ss@10.0.0.5:6379/0',
    REDIS_PASSWORD: 'p@ss',
    NOTE: 'pass',
  });
  assert.deepEqual(Object.keys(env).sort(), ['HOME', 'NOTE', 'PATH']);
  // a one-letter password must not take PATH with it
  const short = childEnv(parseQueueUrl('redis://:s@h:1'), {
    PATH: '/usr/sbin:/usr/bin',
    Q: 'redis://:s@h:1',
  });
  assert.deepEqual(Object.keys(short), ['PATH']);
});
