// One writer per run directory: the lock refuses a second process while the first is alive (on this
// host by pid, from another host by heartbeat), is taken over from a dead one, and two real `tlc
// train` processes on one run give a clear refusal naming the holder instead of a crash.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { acquireRunLock, LOCK_FILE, lockIsLive, RunLockedError, readLock } from '../../src/train/lock.ts';
import { readMetrics } from '../../src/train/rundir.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const tlc = path.join(root, 'bin', 'tlc.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-lock-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const dir = (name: string) => {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
};

/** A pid that belonged to a process which has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

test('a second acquire is refused while the holder lives, and allowed after release', () => {
  const d = dir('basic');
  const lock = acquireRunLock(d);
  const held = readLock(d)!;
  assert.equal(held.holder?.pid, process.pid);
  assert.equal(held.holder?.host, os.hostname());
  assert.throws(
    () => acquireRunLock(d),
    (e: unknown) =>
      e instanceof RunLockedError && new RegExp(`pid ${process.pid} on ${os.hostname()}`).test(e.message),
  );
  lock.release();
  assert.equal(fs.existsSync(path.join(d, LOCK_FILE)), false);
  acquireRunLock(d).release();
});

test('a lock left by a dead process (same host) is taken over', () => {
  const d = dir('dead');
  const pid = deadPid();
  const stale = {
    pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    proc_start: null,
    what: 'tlc train',
  };
  fs.writeFileSync(path.join(d, LOCK_FILE), JSON.stringify(stale));
  assert.equal(lockIsLive(readLock(d)!), false);
  const lock = acquireRunLock(d);
  assert.equal(readLock(d)!.holder?.pid, process.pid);
  lock.release();
});

test('a lock from another host counts while its heartbeat is fresh, not after', () => {
  const d = dir('remote');
  const other = { pid: 1, host: 'some-other-machine', since: 'x', proc_start: null, what: 'tlc train' };
  fs.writeFileSync(path.join(d, LOCK_FILE), JSON.stringify(other));
  assert.throws(() => acquireRunLock(d, { staleRemoteS: 600 }), /pid 1 on some-other-machine/);
  const old = new Date(Date.now() - 700_000);
  fs.utimesSync(path.join(d, LOCK_FILE), old, old);
  acquireRunLock(d, { staleRemoteS: 600 }).release();
});

test('an empty lock (a process killed while writing it) is respected briefly, then taken over', () => {
  const d = dir('empty');
  fs.writeFileSync(path.join(d, LOCK_FILE), '');
  assert.throws(() => acquireRunLock(d), RunLockedError);
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(d, LOCK_FILE), old, old);
  acquireRunLock(d).release();
});

test('the heartbeat notices a lock taken by someone else and stops the writer', () => {
  const d = dir('stolen');
  let t = 0;
  const lock = acquireRunLock(d, { beatEveryS: 1, now: () => t });
  t = 2000;
  lock.beat(); // still ours: renews the mtime
  fs.writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid: 99, host: 'elsewhere', since: 'y' }));
  t = 4000;
  assert.throws(() => lock.beat(), /pid 99 on elsewhere/);
  lock.release(); // not ours any more: left alone
  assert.ok(fs.existsSync(path.join(d, LOCK_FILE)));
});

test('two tlc train processes on one run: the second is refused naming the holder, the first finishes intact', async () => {
  const run = path.join(tmp, 'two');
  const common = ['--config', 'tiny-encoder', '--deterministic', '--threads', '1'];
  const sets = [
    'budget.steps=1000',
    'budget.seconds=600',
    'checkpoint.every_seconds=0.2',
    'eval.every_steps=100',
  ];
  const first = spawn(
    process.execPath,
    [tlc, 'train', ...common, ...sets.flatMap((s) => ['--set', s]), '--run-dir', run],
    {
      cwd: root,
      stdio: 'ignore',
    },
  );
  const exited = new Promise<number | null>((r) => first.on('exit', (c) => r(c)));
  const manifest = path.join(run, 'checkpoints', 'manifest.json');
  const t0 = Date.now();
  while (!fs.existsSync(manifest) && first.exitCode === null && Date.now() - t0 < 120_000)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(fs.existsSync(manifest), 'the first run wrote no checkpoint');
  for (const args of [
    ['train', '--resume', run],
    ['train', ...common, '--run-dir', run],
  ]) {
    const second = spawnSync(process.execPath, [tlc, ...args], { cwd: root, encoding: 'utf8' });
    // too late to test anything when the first one finished meanwhile (its exit event cannot arrive
    // while spawnSync blocks the loop, but its lock is gone): the assertion below then says so
    if (first.exitCode !== null || !fs.existsSync(path.join(run, LOCK_FILE))) break;
    assert.equal(second.status, 3, second.stderr);
    assert.match(second.stderr, new RegExp(`in use by tlc train \\(pid ${first.pid} on ${os.hostname()}`));
    assert.doesNotMatch(second.stderr, /ENOENT|\n\s+at /, 'no raw error or stack trace');
  }
  assert.equal(first.exitCode, null, 'the first run finished before the second started: use more steps');
  assert.equal(await exited, 0);
  const losses = readMetrics(path.join(run, 'metrics.jsonl')).filter(
    (m) => m.split === 'train' && m.name === 'loss',
  );
  assert.equal(losses.length, 1000);
  assert.equal(fs.existsSync(path.join(run, LOCK_FILE)), false, 'the lock is released at the end');
});
