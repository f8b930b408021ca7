// The pruning spec: its type, the text syntax (parse, format) and validation. No masks here.
import { InputError } from '../engine/errors.ts';

export type PrunePattern = 'unstructured' | { n: number; m: number } | 'heads' | 'neurons';

export interface PruneSpec {
  /** fraction of targeted weights to zero, in [0, 1]; for N:M it must equal 1 - n/m */
  sparsity: number;
  /** one threshold over all targets, or the same sparsity in every tensor / module */
  scope: 'global' | 'layer';
  pattern: PrunePattern;
  /** also prune token and position embeddings (unstructured and N:M only) */
  embeddings: boolean;
}

export const PRUNE_SYNTAX = [
  "tokens separated by ':' in any order:",
  '  50% or 0.5            sparsity (required unless N:M)',
  '  N:M                   keep N of every M weights along the input dimension (e.g. 2:4, 4:8)',
  '  global | layer        scope (default global)',
  '  unstructured | heads | neurons   pattern (default unstructured)',
  '  emb                   also prune token and position embeddings',
  "examples: '50%', '90%:layer:emb', '2:4', 'heads:30%', 'neurons:0.5:layer'",
].join('\n');

const WORDS = ['global', 'layer', 'unstructured', 'heads', 'neurons', 'emb'];

function bad(msg: string): InputError {
  return new InputError(msg, `prune spec syntax: ${PRUNE_SYNTAX}`);
}

/** Check a spec built in code (the parser calls it too); returns it unchanged. */
export function validatePruneSpec(spec: PruneSpec): PruneSpec {
  const { sparsity: s, pattern: p } = spec;
  if (typeof p === 'object' && !(Number.isInteger(p.n) && Number.isInteger(p.m) && p.n >= 1 && p.n < p.m)) {
    throw bad(`N:M pattern needs integers 1 <= N < M, found ${p.n}:${p.m}`);
  }
  if (!(s >= 0 && s <= 1)) throw bad(`prune sparsity must be in [0, 1], found ${s}`);
  if (spec.scope !== 'global' && spec.scope !== 'layer')
    throw bad(`prune scope must be global or layer, found '${spec.scope}'`);
  if (typeof p === 'object') {
    if (Math.abs(s - (1 - p.n / p.m)) > 1e-9)
      throw bad(`N:M ${p.n}:${p.m} has sparsity ${1 - p.n / p.m}, the spec says ${s}`);
  } else if (!['unstructured', 'heads', 'neurons'].includes(p)) {
    throw bad(`unknown prune pattern '${p}': expected unstructured, heads, neurons or {n, m}`);
  }
  if (spec.embeddings && (p === 'heads' || p === 'neurons'))
    throw bad(`'emb' applies to unstructured and N:M pruning, not ${p}`);
  return spec;
}

/** Parse the CLI form of a prune spec (see PRUNE_SYNTAX). Errors name the bad token. */
export function parsePruneSpec(text: string): PruneSpec {
  const toks = text.trim().toLowerCase().split(':');
  let sparsity: number | undefined;
  let scope: PruneSpec['scope'] | undefined;
  let pattern: PrunePattern | undefined;
  let embeddings = false;
  const once = (what: string, set: boolean, tok: string) => {
    if (set) throw bad(`prune spec '${text}': ${what} given twice (at '${tok}')`);
  };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (/^\d+(\.\d+)?%$/.test(t) || /^\d*\.\d+$/.test(t)) {
      once('sparsity', sparsity !== undefined, t);
      sparsity = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
    } else if (/^\d+$/.test(t)) {
      const next = toks[i + 1];
      if (next === undefined || !/^\d+$/.test(next)) {
        throw bad(
          `prune spec '${text}': '${t}' is neither a sparsity (write ${t}% or 0.${t}) nor part of N:M (e.g. 2:4)`,
        );
      }
      once('pattern', pattern !== undefined, t);
      pattern = { n: Number(t), m: Number(next) };
      i++;
    } else if (t === 'global' || t === 'layer') {
      once('scope', scope !== undefined, t);
      scope = t;
    } else if (t === 'unstructured' || t === 'heads' || t === 'neurons') {
      once('pattern', pattern !== undefined, t);
      pattern = t;
    } else if (t === 'emb') {
      once('emb', embeddings, t);
      embeddings = true;
    } else {
      throw bad(
        `prune spec '${text}': unknown token '${t}'; expected a sparsity (50%, 0.5), N:M, or one of ${WORDS.join(', ')}`,
      );
    }
  }
  pattern ??= 'unstructured';
  if (typeof pattern === 'object') sparsity ??= 1 - pattern.n / pattern.m;
  if (sparsity === undefined) throw bad(`prune spec '${text}': no sparsity given (e.g. 50% or 0.5)`);
  return validatePruneSpec({ sparsity, scope: scope ?? 'global', pattern, embeddings });
}

/** Canonical text of a spec, parseable by parsePruneSpec (for result files and run names). */
export function formatPruneSpec(spec: PruneSpec): string {
  const p = spec.pattern;
  if (typeof p === 'object') return `${p.n}:${p.m}${spec.embeddings ? ':emb' : ''}`;
  const pct = `${Number((spec.sparsity * 100).toFixed(6))}%`;
  return [pct, spec.scope, p, ...(spec.embeddings ? ['emb'] : [])].join(':');
}

// ---- units and ranges ------------------------------------------------------------------------

/** `count` runs of `len` contiguous entries, `stride` apart, from `offset` in the flat buffer. */
