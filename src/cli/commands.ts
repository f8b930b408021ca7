// The list of tlc subcommands. Each module exports one `register(program)` function that declares
// the command's flags and help (so `tlc --help` is complete) and imports nothing heavier than
// commander and engine/errors.ts: the library a command needs (and its dependencies: zod, yaml,
// vega, resvg, the native addon) is loaded with `await import()` inside its action. Every run then
// loads only what its command uses, which keeps startup fast and the process small.
import type { Command } from 'commander';
import { registerBench } from './bench.ts';
import { registerCompress } from './compress.ts';
import { registerData } from './data.ts';
import { registerExport } from './export.ts';
import { registerInfer } from './infer.ts';
import { registerStudy } from './study.ts';
import { registerStudyJob } from './study-job.ts';
import { registerTrain } from './train.ts';
import { registerTranslate } from './translate.ts';
import { registerWorker } from './worker.ts';

export function registerCommands(program: Command): void {
  registerBench(program);
  registerData(program);
  registerTrain(program);
  registerCompress(program);
  registerInfer(program);
  registerTranslate(program);
  registerStudy(program);
  registerExport(program);
  registerWorker(program);
  registerStudyJob(program);
}
