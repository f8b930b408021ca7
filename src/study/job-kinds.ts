// The job kinds a study puts on a queue, and their validation. A job is data, never a command line:
// a kind (train, compress, finetune), the study folder and a run id, checked against a strict schema;
// the worker builds the `tlc` arguments itself from the validated fields, so a crafted payload can
// neither run another program nor write outside a study folder under the worker's root.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { InputError } from '../engine/errors.ts';
import { parseConfig, type TrainConfig, trainConfigSchema } from '../train/config.ts';
import { PRESETS } from './presets.ts';

/** Run ids as planRuns makes them: d<width>-L<layers>-s<seed>. */
export const RUN_ID_RE = /^d(\d{1,5})-L(\d{1,3})-s(\d{1,6})$/;
/** Cool-down branch ids: a run id and the budget it anneals at, d<width>-L<layers>-s<seed>-c<seconds>. */
export const COOLDOWN_ID_RE = /^d(\d{1,5})-L(\d{1,3})-s(\d{1,6})-c(\d{1,7}(\.\d{1,3})?)$/;
const runId = z.string().regex(RUN_ID_RE, 'a run id like d64-L2-s1');
const cooldownId = z.string().regex(COOLDOWN_ID_RE, 'a cool-down id like d64-L2-s1-c30');
/** absolute, no NUL or newline; containment in the worker's root is checked on the real path */
const studyPath = z
  .string()
  .min(2)
  .max(4096)
  .refine((s) => path.isAbsolute(s) && !/[\0\n\r]/.test(s), 'an absolute path');
/** a recipe name or a path (read only); never an option */
const dataName = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !s.startsWith('-') && !/[\0\n\r]/.test(s), 'a data name or path');
const presetName = z.enum(Object.keys(PRESETS) as [string, ...string[]]);

const trainJob = z
  .object({ v: z.literal(1), kind: z.literal('train'), study: studyPath, run: runId })
  .strict();
const cooldownJob = z
  .object({ v: z.literal(1), kind: z.literal('cooldown'), study: studyPath, run: cooldownId })
  .strict();
const compressJob = z
  .object({
    v: z.literal(1),
    kind: z.literal('compress'),
    study: studyPath,
    run: runId,
    preset: presetName,
    /** pretrain: runs/<run>; finetune: finetune/<run> */
    arm: z.enum(['pretrain', 'finetune']),
  })
  .strict();
const finetuneJob = z
  .object({
    v: z.literal(1),
    kind: z.literal('finetune'),
    study: studyPath,
    run: runId,
    data: dataName,
    budget_s: z.number().positive().max(1e6),
  })
  .strict();
export const jobPayloadSchema = z.discriminatedUnion('kind', [
  trainJob,
  cooldownJob,
  compressJob,
  finetuneJob,
]);

export type JobPayload = z.output<typeof jobPayloadSchema>;
/** A job as the study describes it, before the executor adds the study folder. */
export type JobSpec =
  | { kind: 'train'; run: string }
  | { kind: 'cooldown'; run: string }
  | { kind: 'compress'; run: string; preset: string; arm: 'pretrain' | 'finetune' }
  | { kind: 'finetune'; run: string; data: string; budget_s: number };

/** A payload that passed validation, with the paths the job may read and write resolved. */
export interface ValidJob {
  payload: JobPayload;
  /** the study folder's real path */
  study: string;
  /** train: the config file to start from */
  configFile?: string;
  config?: TrainConfig;
  /** where the job writes (train/finetune: the run directory; compress: compress/<id>) */
  writes: string;
  /** what it reads (finetune/compress: the trained run directory) */
  reads?: string;
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of p, or of its nearest existing ancestor joined with the rest (p may not exist yet). */
function realish(p: string): string {
  let head = p;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail.reverse());
    } catch {
      const up = path.dirname(head);
      if (up === head) return p;
      tail.push(path.basename(head));
      head = up;
    }
  }
}

function mustBeInside(study: string, p: string, what: string): string {
  const real = realish(p);
  if (!inside(study, real)) throw new InputError(`${what} ${p} resolves outside the study folder ${study}`);
  return real;
}

/** Check a job payload from the queue against the known kinds and the worker's root folder. */
export function validateJob(raw: unknown, root: string): ValidJob {
  const r = jobPayloadSchema.safeParse(raw);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
    throw new InputError(`not a tlc study job: ${why}`, 'jobs come from `tlc study --queue`');
  }
  const payload = r.data;
  const realRoot = realish(path.resolve(root));
  let study: string;
  try {
    study = fs.realpathSync(payload.study);
  } catch {
    throw new InputError(
      `study folder ${payload.study} does not exist on this machine`,
      'mount the shared folder at the same path on every machine',
    );
  }
  if (!inside(realRoot, study))
    throw new InputError(
      `study folder ${payload.study} is outside this worker's root ${realRoot}`,
      'start the worker with --root set to the shared folder',
    );
  if (!fs.existsSync(path.join(study, 'configs')))
    throw new InputError(`${payload.study} is not a tlc study folder (no configs/)`);
  const run = (sub: string, id: string, what: string) => mustBeInside(study, path.join(study, sub, id), what);
  if (payload.kind === 'train') {
    const configFile = run('configs', `${payload.run}.yaml`, 'config');
    if (!fs.existsSync(configFile))
      throw new InputError(`no config for run ${payload.run} in ${study}/configs`);
    let raw: unknown;
    try {
      raw = YAML.parse(fs.readFileSync(configFile, 'utf8'));
    } catch (e) {
      throw new InputError(`could not parse ${configFile}: ${(e as Error).message}`);
    }
    const config = parseConfig(trainConfigSchema, raw, configFile);
    return { payload, study, configFile, config, writes: run('runs', payload.run, 'run directory') };
  }
  if (payload.kind === 'cooldown') {
    const dir = run('runs', payload.run, 'cool-down run directory');
    if (!fs.existsSync(path.join(dir, 'config.json')))
      throw new InputError(
        `cool-down ${payload.run} has no run directory in ${study}/runs`,
        'the study prepares it before queueing',
      );
    return { payload, study, writes: dir };
  }
  if (payload.kind === 'finetune')
    return {
      payload,
      study,
      reads: run('runs', payload.run, 'pretrained run'),
      writes: run('finetune', payload.run, 'run directory'),
    };
  const ft = payload.arm === 'finetune';
  return {
    payload,
    study,
    reads: run(ft ? 'finetune' : 'runs', payload.run, 'trained run'),
    writes: run('compress', ft ? `ft-${payload.run}` : payload.run, 'compression folder'),
  };
}

/** The `tlc` arguments that run a validated job (the child validates them again). */
export function childArgs(v: ValidJob, o: { root: string; threads?: number }): string[] {
  const p = v.payload;
  const args = ['study-job', p.kind, `--root=${o.root}`, `--study=${v.study}`, `--run=${p.run}`];
  if (p.kind === 'compress') args.push(`--preset=${p.preset}`, `--arm=${p.arm}`);
  if (p.kind === 'finetune') args.push(`--data=${p.data}`, `--budget=${p.budget_s}`);
  if (o.threads) args.push(`--threads=${o.threads}`);
  return args;
}

/** Where a study's jobs are told apart on a shared queue: a hash of its folder's absolute path. */
export function studyKey(studyDir: string): string {
  return createHash('sha256').update(path.resolve(studyDir)).digest('hex').slice(0, 12);
}

/** The queue's job id: the same study, kind and run always get the same id (re-attach). */
export function jobIdOf(studyDir: string, spec: JobSpec): string {
  const arm = spec.kind === 'compress' && spec.arm === 'finetune' ? 'ft-' : '';
  return `${studyKey(studyDir)}-${spec.kind}-${arm}${spec.run}`;
}

/** Model size from a run id (d² · L), to put the largest runs first. */
export function runWeight(run: string): number {
  const m = RUN_ID_RE.exec(run) ?? COOLDOWN_ID_RE.exec(run);
  return m ? Number(m[1]) ** 2 * Number(m[2]) : 0;
}

/**
 * Queue priorities (1 is served first): training before fine-tuning before compression, and within
 * a kind the largest model first, so the longest jobs start early and the tail is short.
 */
export function priorities(specs: JobSpec[]): number[] {
  const rank = { train: 0, cooldown: 0, finetune: 1, compress: 2 } as const;
  const order = specs
    .map((s, i) => ({ i, k: rank[s.kind], w: runWeight(s.run) }))
    .sort((a, b) => a.k - b.k || b.w - a.w || a.i - b.i);
  const out = new Array<number>(specs.length);
  order.forEach((o, n) => {
    out[o.i] = 1 + o.k * 100_000 + n;
  });
  return out;
}
