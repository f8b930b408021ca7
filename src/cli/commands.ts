// The list of tlc subcommands. Each module exports one `register(program)` function.
import type { Command } from 'commander';
import { registerBench } from './bench.ts';
import { registerCompress } from './compress.ts';
import { registerData } from './data.ts';
import { registerStudy } from './study.ts';
import { registerTrain } from './train.ts';

export function registerCommands(program: Command): void {
  registerBench(program);
  registerData(program);
  registerTrain(program);
  registerCompress(program);
  registerStudy(program);
}
