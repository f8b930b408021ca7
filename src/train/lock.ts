// One writer per run directory: a lock file (runDir/writer.lock) created atomically with O_EXCL
// by the process that trains there, holding its pid, host and start time. A lock whose process is
// gone does not count: on the same host the pid is checked (and its start time, against pid reuse);
// from another host only the heartbeat (the file's mtime, renewed while training) can tell, so a
// lock not renewed for `staleRemoteS` is taken over. It does not lock anything a process reads.
//
// NFS: O_EXCL create is atomic on NFSv3 and v4 (Linux clients since 2.6.5), not on NFSv2. The
// remote staleness test compares the heartbeat with the local clock: keep the hosts' clocks in sync
// (NTP); hostnames must differ between machines (and containers) that share the folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BusyError, InputError } from '../engine/errors.ts';

export const LOCK_FILE = 'writer.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** when the lock was taken (ISO 8601) */
  since: string;
  /** the process's start time in clock ticks since boot (Linux /proc), against pid reuse */
  proc_start: number | null;
  /** what holds it, e.g. "tlc train" */
  what: string;
}

export interface LockOptions {
  what?: string;
  /** a lock from another host is stale after this long without a heartbeat (default 10 min) */
  staleRemoteS?: number;
  /** heartbeats at most this often (default 15 s) */
  beatEveryS?: number;
  /** injectable for tests: this process's identity and the clock (ms) */
  self?: { pid: number; host: string };
  now?: () => number;
}

/** The run directory is being written by another live process. */
export class RunLockedError extends BusyError {
  constructor(
    readonly runDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `run directory ${runDir} is in use by ${holder.what} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`,
      'wait for that process to finish (or stop it); a dead process does not keep the lock',
    );
  }
}

export interface RunLock {
  readonly file: string;
  /** renew the heartbeat (rate-limited); throws RunLockedError if another process took the lock */
  beat(): void;
  /** remove the lock if it is still ours */
  release(): void;
}

/** State and start time (clock ticks since boot) of a process, from Linux /proc; null elsewhere. */
function procStat(pid: number): { state: string; start: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name (which may hold spaces): state is field 3, starttime 22
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', start: Number(rest[19]) };
  } catch {
    return null;
  }
}

function procStart(pid: number): number | null {
  const s = procStat(pid)?.start;
  return s !== undefined && Number.isFinite(s) ? s : null;
}

/** A process that exists and has not exited (a zombie waiting for its parent to reap it has). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = procStat(pid);
  return !(st && (st.state === 'Z' || st.state === 'X'));
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return null;
    return {
      pid: h.pid,
      host: h.host,
      since: String(h.since ?? '?'),
      proc_start: typeof h.proc_start === 'number' ? h.proc_start : null,
      what: String(h.what ?? 'a process'),
    };
  } catch {
    return null;
  }
}

/** Read the current lock of a run directory, or null when there is none. */
export function readLock(
  runDir: string,
): { holder: LockHolder | null; text: string; mtimeMs: number } | null {
  const file = path.join(runDir, LOCK_FILE);
  try {
    const text = fs.readFileSync(file, 'utf8');
    return { holder: parseHolder(text), text, mtimeMs: fs.statSync(file).mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Does this lock still belong to a live process? */
export function lockIsLive(
  lock: { holder: LockHolder | null; mtimeMs: number },
  o: { host?: string; nowMs?: number; staleRemoteS?: number } = {},
): boolean {
  const nowMs = o.nowMs ?? Date.now();
  const h = lock.holder;
  // an unreadable lock is one being written right now, or left by a process killed while writing it
  if (!h) return nowMs - lock.mtimeMs < 10_000;
  if (h.host === (o.host ?? os.hostname())) {
    if (!pidAlive(h.pid)) return false;
    const start = procStart(h.pid);
    return h.proc_start === null || start === null || start === h.proc_start;
  }
  return nowMs - lock.mtimeMs < (o.staleRemoteS ?? 600) * 1000;
}

/** Move a stale lock aside; true when it was still the one judged stale (so it is gone now). */
function breakStale(file: string, staleText: string): boolean {
  const aside = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true; // someone else broke it
    throw e;
  }
  const moved = fs.readFileSync(aside, 'utf8');
  if (moved === staleText) {
    fs.rmSync(aside, { force: true });
    return true;
  }
  // another process took the lock between our read and the rename: put it back
  try {
    fs.linkSync(aside, file);
  } catch {
    // a third process holds the path now; theirs stands
  }
  fs.rmSync(aside, { force: true });
  return false;
}

/**
 * Take the run directory's lock, or throw RunLockedError naming the live holder. A stale lock (its
 * process gone) is taken over. The directory must exist.
 */
export function acquireRunLock(runDir: string, o: LockOptions = {}): RunLock {
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory())
    throw new InputError(`run directory ${runDir} does not exist`, 'check the path');
  const self = o.self ?? { pid: process.pid, host: os.hostname() };
  const now = o.now ?? Date.now;
  const file = path.join(runDir, LOCK_FILE);
  const holder: LockHolder = {
    pid: self.pid,
    host: self.host,
    since: new Date(now()).toISOString(),
    proc_start: self.pid === process.pid ? procStart(process.pid) : null,
    what: o.what ?? 'tlc train',
  };
  const text = `${JSON.stringify(holder)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const cur = readLock(runDir);
      if (!cur) continue; // released in between
      if (lockIsLive(cur, { host: self.host, nowMs: now(), staleRemoteS: o.staleRemoteS }))
        throw new RunLockedError(runDir, cur.holder ?? { ...holder, what: 'a process starting up' });
      breakStale(file, cur.text);
      continue;
    }
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return makeLock(runDir, file, text, o.beatEveryS ?? 15, now);
  }
  const cur = readLock(runDir);
  throw new RunLockedError(runDir, cur?.holder ?? { ...holder, what: 'another process' });
}

function makeLock(
  runDir: string,
  file: string,
  text: string,
  beatEveryS: number,
  now: () => number,
): RunLock {
  let lastBeat = now();
  let released = false;
  const ours = (): boolean => {
    try {
      return fs.readFileSync(file, 'utf8') === text;
    } catch {
      return false;
    }
  };
  return {
    file,
    beat(): void {
      if (released || now() - lastBeat < beatEveryS * 1000) return;
      lastBeat = now();
      if (!ours()) {
        const cur = readLock(runDir);
        released = true;
        throw new RunLockedError(runDir, cur?.holder ?? parseHolder(text)!);
      }
      const t = new Date(lastBeat);
      fs.utimesSync(file, t, t);
    },
    release(): void {
      if (released) return;
      released = true;
      if (ours()) fs.rmSync(file, { force: true });
    },
  };
}
