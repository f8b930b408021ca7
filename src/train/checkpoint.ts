// Training checkpoints in a run directory: F32 safetensors files plus a sha256 manifest, written
// atomically, pruned to the last K, and loaded newest-first with fallback past damaged files.
// It stores whatever trainer state it is given; deciding when to save and what the state holds is the trainer's job.
//
//   runDir/checkpoints/step-00001234.safetensors   tensors (F32) + __metadata__ tlc.format/version/step/state
//   runDir/checkpoints/manifest.json               { format, version, checkpoints: [{ step, file, bytes, sha256, time }] }, newest last

import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../data/fetch/cache.ts';
import { TMP_MARK, writeFileAtomic } from '../engine/atomic.ts';
import { CorruptError, InputError, TlcError } from '../engine/errors.ts';
import { asFloat32, readSafetensors, writeSafetensors } from '../engine/safetensors.ts';

export interface CheckpointInfo {
  step: number;
  /** file name inside runDir/checkpoints */
  file: string;
  bytes: number;
  sha256: string;
  /** ISO 8601 time of the save */
  time: string;
}

export interface CheckpointIn {
  step: number;
  tensors: Array<{ name: string; shape: number[]; data: Float32Array }>;
  /** JSON-serializable trainer state (data position, RNG state, budget spent, optimizer step, ...) */
  state: unknown;
}

export interface LoadedCheckpoint {
  step: number;
  tensors: Map<string, Float32Array>;
  state: unknown;
  info: CheckpointInfo;
}

/** Where a listed checkpoint came from: the manifest, a scan (manifest missing/corrupt), or a file newer than the manifest. */
export type CheckpointSource = 'manifest' | 'scan' | 'orphan';
export type ListedCheckpoint = CheckpointInfo & { source: CheckpointSource };

export interface SaveOptions {
  /** time recorded in the manifest (default: now) */
  now?: Date;
  /** told when the manifest had to be rebuilt or a damaged file was dropped */
  warn?: (msg: string) => void;
}

const MANIFEST = 'manifest.json';
const MANIFEST_FORMAT = 'tlc-checkpoints';
const MANIFEST_VERSION = 1;
const FILE_FORMAT = 'tlc-checkpoint';
const FILE_VERSION = '1';
const FILE_RE = /^step-(\d+)\.safetensors$/;
const MISSING = 'is missing';

export function checkpointDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.safetensors`;
}

function isStep(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** The manifest's entries, or why they cannot be used (MISSING, or what is wrong). */
function readManifest(dir: string): CheckpointInfo[] | { problem: string } {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { problem: MISSING };
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { problem: `is not valid JSON (${(e as Error).message})` };
  }
  const m = json as { format?: unknown; version?: unknown; checkpoints?: unknown } | null;
  if (m === null || typeof m !== 'object') return { problem: 'is not a JSON object' };
  if (m.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION) {
    return {
      problem: `has format ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)}, expected "${MANIFEST_FORMAT}" version ${MANIFEST_VERSION}`,
    };
  }
  if (!Array.isArray(m.checkpoints)) return { problem: 'has no "checkpoints" array' };
  const entries: CheckpointInfo[] = [];
  const steps = new Set<number>();
  for (const [i, raw] of m.checkpoints.entries()) {
    const e = raw as Partial<CheckpointInfo> | null;
    const ok =
      e !== null &&
      typeof e === 'object' &&
      isStep(e.step) &&
      e.file === checkpointFileName(e.step) &&
      isStep(e.bytes) &&
      typeof e.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(e.sha256) &&
      typeof e.time === 'string' &&
      !steps.has(e.step);
    if (!ok) return { problem: `has an invalid or duplicate entry #${i}: ${JSON.stringify(raw)}` };
    steps.add(e.step as number);
    entries.push({
      step: e.step as number,
      file: e.file as string,
      bytes: e.bytes as number,
      sha256: e.sha256 as string,
      time: e.time as string,
    });
  }
  return entries;
}

/** step-*.safetensors files in dir, by ascending step. */
function scanFiles(dir: string): Array<{ step: number; file: string }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const found: Array<{ step: number; file: string }> = [];
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (m === null) continue;
    const step = Number(m[1]);
    if (isStep(step) && name === checkpointFileName(step)) found.push({ step, file: name });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** Info for a file the manifest does not vouch for: its own size, hash and mtime (null if it vanished). */
function describeFile(
  dir: string,
  step: number,
  file: string,
  source: CheckpointSource,
): ListedCheckpoint | null {
  const full = path.join(dir, file);
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    return null;
  }
  return { step, file, bytes: st.size, sha256: sha256File(full), time: st.mtime.toISOString(), source };
}

/** Listed checkpoints (see listCheckpoints), leaving out step `skip` without reading it. */
function listIn(dir: string, skip = -1): { entries: ListedCheckpoint[]; manifestProblem: string | null } {
  const manifest = readManifest(dir);
  const files = scanFiles(dir).filter((f) => f.step !== skip);
  if (!Array.isArray(manifest)) {
    const entries = files
      .map((f) => describeFile(dir, f.step, f.file, 'scan'))
      .filter((x): x is ListedCheckpoint => x !== null);
    return { entries, manifestProblem: manifest.problem };
  }
  const newest = manifest.reduce((m, e) => Math.max(m, e.step), -1);
  const orphans = files
    .filter((f) => f.step > newest)
    .map((f) => describeFile(dir, f.step, f.file, 'orphan'))
    .filter((x): x is ListedCheckpoint => x !== null);
  const listed: ListedCheckpoint[] = manifest
    .filter((e) => e.step !== skip)
    .map((e) => ({ ...e, source: 'manifest' }));
  return { entries: [...listed, ...orphans], manifestProblem: null };
}

/**
 * The run's checkpoints, oldest first: the manifest's entries plus files newer than all of them
 * (a run killed between writing a checkpoint and its manifest entry), or, when the manifest is
 * missing or corrupt, every step-*.safetensors file. For files not in the manifest, bytes and
 * sha256 are computed from the file itself, so they vouch for nothing.
 */
export function listCheckpoints(runDir: string): ListedCheckpoint[] {
  return listIn(checkpointDir(runDir)).entries;
}

function serializeState(state: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(state);
  } catch (e) {
    throw new InputError(
      `checkpoint state is not JSON-serializable: ${(e as Error).message}`,
      'Store plain numbers, strings, arrays and objects.',
    );
  }
  if (json === undefined) {
    throw new InputError(
      `checkpoint state is ${typeof state}, expected a JSON value`,
      'Pass an object describing the trainer state.',
    );
  }
  return json;
}

/** Check a file's content against what its metadata and the caller expect; a problem string if it is unusable. */
function decodeFile(dir: string, c: ListedCheckpoint): LoadedCheckpoint | string {
  const full = path.join(dir, c.file);
  let parsed: ReturnType<typeof readSafetensors>;
  try {
    parsed = readSafetensors(full);
  } catch (e) {
    if (e instanceof TlcError) return e.message;
    throw e;
  }
  const meta = parsed.metadata;
  if (meta['tlc.format'] !== FILE_FORMAT)
    return `tlc.format is ${JSON.stringify(meta['tlc.format'])}, expected "${FILE_FORMAT}"`;
  if (meta['tlc.version'] !== FILE_VERSION) {
    return `format version ${JSON.stringify(meta['tlc.version'])}, this tlc reads version ${FILE_VERSION}`;
  }
  if (meta['tlc.step'] !== String(c.step))
    return `its metadata says step ${JSON.stringify(meta['tlc.step'])}, its name says ${c.step}`;
  let state: unknown;
  try {
    state = JSON.parse(meta['tlc.state'] ?? '');
  } catch (e) {
    return `tlc.state is not valid JSON (${(e as Error).message})`;
  }
  const tensors = new Map<string, Float32Array>();
  for (const [name, entry] of parsed.tensors) {
    if (entry.dtype !== 'F32') return `tensor "${name}" is ${entry.dtype}, checkpoints hold F32`;
    tensors.set(name, asFloat32(entry));
  }
  const { source: _source, ...info } = c;
  return { step: c.step, tensors, state, info };
}

/** Load one listed checkpoint, verifying size and sha256 against the manifest first. */
function tryLoad(dir: string, c: ListedCheckpoint): LoadedCheckpoint | string {
  const full = path.join(dir, c.file);
  if (c.source === 'manifest') {
    let size: number;
    try {
      size = fs.statSync(full).size;
    } catch {
      return 'the file is missing';
    }
    if (size !== c.bytes)
      return `the file is ${size} bytes, the manifest says ${c.bytes} (truncated or overwritten)`;
    const sha = sha256File(full);
    if (sha !== c.sha256)
      return `its sha256 is ${sha}, the manifest says ${c.sha256} (the file is corrupted)`;
  }
  return decodeFile(dir, c);
}

function noneValid(dir: string, problems: string[]): CorruptError {
  return new CorruptError(
    `none of the ${problems.length} checkpoint(s) in ${dir} is usable:\n  ${problems.join('\n  ')}`,
    `Start over with a new run directory, or delete the damaged files and ${MANIFEST} in ${dir} to restart this run from step 0.`,
  );
}

/**
 * The newest usable checkpoint of a run, or null when it has none. Walks newest to oldest; each
 * missing, truncated or corrupted file is reported through `warn` and skipped. Throws
 * CorruptError when checkpoints exist but none is usable.
 */
export function loadLatestCheckpoint(
  runDir: string,
  warn: (msg: string) => void,
  /** the newest usable checkpoint at or before this step (default: any) */
  atOrBefore = Number.POSITIVE_INFINITY,
): LoadedCheckpoint | null {
  const dir = checkpointDir(runDir);
  const listed = listIn(dir);
  const manifestProblem = listed.manifestProblem;
  const entries = listed.entries.filter((e) => e.step <= atOrBefore);
  if (manifestProblem !== null && manifestProblem !== MISSING && entries.length === 0) {
    throw noneValid(dir, [`${MANIFEST} ${manifestProblem}, and there are no step-*.safetensors files`]);
  }
  if (manifestProblem !== null && entries.length > 0) {
    warn(
      `checkpoint manifest ${path.join(dir, MANIFEST)} ${manifestProblem}; recovered ${entries.length} checkpoint(s) by scanning ${dir} (without recorded sha256, only their structure is checked)`,
    );
  }
  if (entries.length === 0) return null;
  const problems: string[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const c = entries[i]!;
    const full = path.join(dir, c.file);
    const r = tryLoad(dir, c);
    if (typeof r !== 'string') {
      if (c.source === 'orphan') {
        warn(
          `checkpoint ${full} is not in the manifest (the run probably stopped while saving it); without a recorded sha256, only its structure was checked`,
        );
      }
      return r;
    }
    const prev = entries[i - 1];
    const next = prev
      ? `falling back to the previous checkpoint ${prev.file}`
      : 'no earlier checkpoint to fall back to';
    warn(`checkpoint ${full} is unusable: ${r}; ${next}`);
    problems.push(`${c.file}: ${r}`);
  }
  throw noneValid(dir, problems);
}

/** Entries to carry into a new manifest (all but step `skip`): manifest entries as they are, other files only if they parse. */
function carriedEntries(dir: string, skip: number, warn: (msg: string) => void): CheckpointInfo[] {
  const { entries, manifestProblem } = listIn(dir, skip);
  if (manifestProblem !== null && entries.length > 0) {
    warn(
      `checkpoint manifest ${path.join(dir, MANIFEST)} ${manifestProblem}; rebuilding it from the files in ${dir}`,
    );
  }
  const out: CheckpointInfo[] = [];
  for (const c of entries) {
    if (c.source !== 'manifest') {
      const r = decodeFile(dir, c);
      if (typeof r === 'string') {
        warn(`dropping checkpoint ${path.join(dir, c.file)} from the manifest: ${r}`);
        continue;
      }
    }
    const { source: _source, ...info } = c;
    out.push(info);
  }
  return out;
}

/** Delete checkpoint files not kept, and tmp files left by killed writes (one writer per run dir). */
function removeStale(dir: string, kept: CheckpointInfo[]): void {
  const keep = new Set(kept.map((e) => e.file));
  for (const name of fs.readdirSync(dir)) {
    if ((FILE_RE.test(name) && !keep.has(name)) || name.includes(TMP_MARK)) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}

/**
 * Save a checkpoint: write runDir/checkpoints/step-NNNNNNNN.safetensors atomically, then the
 * manifest (atomically, newest last), then delete checkpoints beyond the last `keep`. Saving a
 * step that already exists replaces it.
 */
export function saveCheckpoint(
  runDir: string,
  ck: CheckpointIn,
  keep: number,
  opts: SaveOptions = {},
): CheckpointInfo {
  if (!isStep(ck.step))
    throw new InputError(
      `checkpoint step must be a non-negative integer, got ${ck.step}`,
      'Pass the optimizer step count.',
    );
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new InputError(
      `checkpoints to keep must be an integer >= 1, got ${keep}`,
      'Keep at least the newest checkpoint.',
    );
  }
  const warn = opts.warn ?? (() => {});
  const dir = checkpointDir(runDir);
  const file = checkpointFileName(ck.step);
  const metadata = {
    'tlc.format': FILE_FORMAT,
    'tlc.version': FILE_VERSION,
    'tlc.step': String(ck.step),
    'tlc.state': serializeState(ck.state),
  };
  const tensors = ck.tensors.map((t) => ({
    name: t.name,
    dtype: 'F32' as const,
    shape: t.shape,
    data: t.data,
  }));
  const carried = carriedEntries(dir, ck.step, warn);
  const { bytes, sha256 } = writeSafetensors(path.join(dir, file), tensors, metadata);
  const info: CheckpointInfo = {
    step: ck.step,
    file,
    bytes,
    sha256,
    time: (opts.now ?? new Date()).toISOString(),
  };

  const entries = [...carried, info];
  const kept = entries.slice(-keep);
  const manifest = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, checkpoints: kept };
  writeFileAtomic(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  removeStale(dir, kept);
  return info;
}
