// What machine a measurement ran on (CPU model, cores, Node version): benchmarks and the study
// record it beside their figures.
import * as os from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  return { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version };
}
