// The model shapes of the training benchmarks (bench/train.ts, bench/precision.ts), as the issue
// names them: tiny, reference, large (encoders, MLM) and one decoder.

export interface BenchConfig {
  name: string;
  family: 'encoder' | 'decoder';
  vocab: number;
  d: number;
  layers: number;
  heads: number;
  ff: number;
  seq: number;
  batch: number;
}

const base = { vocab: 8192, seq: 128, batch: 16 };
export const CONFIGS: BenchConfig[] = [
  { name: 'tiny', family: 'encoder', d: 128, layers: 2, heads: 2, ff: 512, ...base },
  { name: 'reference', family: 'encoder', d: 256, layers: 4, heads: 4, ff: 1024, ...base },
  { name: 'large', family: 'encoder', d: 512, layers: 8, heads: 8, ff: 2048, ...base },
  { name: 'decoder', family: 'decoder', d: 256, layers: 4, heads: 4, ff: 1024, ...base },
];
