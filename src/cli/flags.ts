// Strict parsing of command-line values, the one way every `tlc` command checks its flags: each
// parser takes the flag's name and the raw string and returns the typed value, or throws an
// InputError saying what was expected, what was found and an example (exit code 2, no stack trace).
//
// Two ways to use it, both with the same rules:
//   - as a commander argument parser, so a bad value stops the command before its action runs:
//       .option('--threads <n>', 'threads (default: all cores)', arg.int('--threads', { min: 1 }))
//       .option('--lr <x>', 'learning rate', arg.num('--lr', { gt: 0 }))
//       .option('--precision <p>', 'fp32 | bf16', arg.oneOf('--precision', PRECISIONS), 'fp32')
//     (commander does not pass a default through the parser: give defaults as typed values);
//   - inside an action, for values that need context: int('--steps', o.steps, { min: 1 }).
// Numbers are plain decimals: `3`, `-2`, `0.5`, `3e-4`. Empty strings, `0x10`, `1_000`, `Infinity`,
// `NaN` and trailing garbage (`5s`) are refused rather than guessed at. Nothing here reads a default
// ("all cores" is the absence of --threads, never a value that failed to parse).
import * as fs from 'node:fs';
import { InputError } from '../engine/errors.ts';

export interface IntOptions {
  /** smallest allowed value (inclusive) */
  min?: number;
  /** largest allowed value (inclusive) */
  max?: number;
  /** a valid value to show in the hint (default: the lower bound, or 1) */
  example?: string;
}

export interface NumOptions extends IntOptions {
  /** the value must be greater than this (exclusive bound) */
  gt?: number;
  /** the value must be less than this (exclusive bound) */
  lt?: number;
  /** how the expectation is worded, e.g. 'a fraction in [0, 1)' (default: from the bounds) */
  what?: string;
}

const INT_RE = /^[+-]?\d+$/;
const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** `threads` and `--threads` both name the flag `--threads` in messages. */
function flagName(flag: string): string {
  return flag.startsWith('-') ? flag : `--${flag}`;
}

function fail(flag: string, expected: string, found: string, example: string): never {
  const f = flagName(flag);
  throw new InputError(`${f} expects ${expected}, found '${found}'`, `e.g. ${f} ${example}`);
}

function bounds(o: NumOptions): string {
  const parts: string[] = [];
  if (o.gt !== undefined) parts.push(`> ${o.gt}`);
  if (o.min !== undefined) parts.push(`≥ ${o.min}`);
  if (o.lt !== undefined) parts.push(`< ${o.lt}`);
  if (o.max !== undefined) parts.push(`≤ ${o.max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

function inBounds(n: number, o: NumOptions): boolean {
  return (
    (o.min === undefined || n >= o.min) &&
    (o.max === undefined || n <= o.max) &&
    (o.gt === undefined || n > o.gt) &&
    (o.lt === undefined || n < o.lt)
  );
}

/** A value for the hint: the caller's, else the lower bound (or 1), else the upper bound. */
function example(o: NumOptions & { example?: string }): string {
  if (o.example !== undefined) return o.example;
  const lo = o.min ?? 1;
  return String(inBounds(lo, o) ? lo : (o.max ?? lo));
}

/** A whole number in decimal notation, within the bounds. */
export function int(flag: string, value: string, o: IntOptions = {}): number {
  const s = value.trim();
  const n = INT_RE.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || !inBounds(n, o)) fail(flag, `an integer${bounds(o)}`, value, example(o));
  return n;
}

/** A finite decimal number (`0.5`, `3e-4`), within the bounds. */
export function num(flag: string, value: string, o: NumOptions = {}): number {
  const s = value.trim();
  const n = NUM_RE.test(s) ? Number(s) : Number.NaN;
  if (!Number.isFinite(n) || !inBounds(n, o)) fail(flag, o.what ?? `a number${bounds(o)}`, value, example(o));
  return n;
}

/** One of a fixed list of words (exact match). */
export function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    const list =
      choices.length <= 2 ? choices.join(' or ') : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
    fail(flag, `one of ${list}`, value, choices[0] ?? '');
  }
  return value as T;
}

export interface PathOptions {
  /** what must be there: a file, a folder, or either (default) */
  is?: 'file' | 'dir' | 'any';
  /** what the path should be, for the message, e.g. 'a run directory' */
  what?: string;
}

/** An existing file or folder. */
export function path(flag: string, value: string, o: PathOptions = {}): string {
  const is = o.is ?? 'any';
  const what =
    o.what ?? (is === 'file' ? 'an existing file' : is === 'dir' ? 'an existing folder' : 'an existing path');
  const f = flagName(flag);
  let st: fs.Stats;
  try {
    st = fs.statSync(value);
  } catch {
    throw new InputError(`${f} expects ${what}, found '${value}' (no such file or folder)`, 'check the path');
  }
  if (is === 'dir' && !st.isDirectory())
    throw new InputError(`${f} expects ${what}, found '${value}' (a file, not a folder)`, 'give the folder');
  if (is === 'file' && !st.isFile())
    throw new InputError(`${f} expects ${what}, found '${value}' (not a regular file)`, 'give a file');
  return value;
}

/** The same parsers in the form commander's `.option(flags, description, parser)` takes. */
export const arg = {
  int:
    (flag: string, o: IntOptions = {}) =>
    (v: string) =>
      int(flag, v, o),
  num:
    (flag: string, o: NumOptions = {}) =>
    (v: string) =>
      num(flag, v, o),
  oneOf:
    <T extends string>(flag: string, choices: readonly T[]) =>
    (v: string) =>
      oneOf(flag, v, choices),
  path:
    (flag: string, o: PathOptions = {}) =>
    (v: string) =>
      path(flag, v, o),
};

/** Values several commands share. */
export const BACKENDS = ['native', 'ts'] as const;
export const PRECISIONS = ['fp32', 'bf16'] as const;
export const FAMILIES = ['encoder', 'decoder', 'encdec'] as const;
