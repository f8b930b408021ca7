// `tlc export MODEL --format onnx [--int8] [--out DIR]`: parse flags, call the exporter, print the
// files written. The library loads when the command runs (see commands.ts).
import * as path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../engine/errors.ts';

const log = (m: string) => process.stderr.write(`${m}\n`);

export function registerExport(program: Command): void {
  program
    .command('export <model>')
    .description(
      'export a training run or a compressed model to ONNX, with config.json and tokenizer files for onnxruntime and transformers.js',
    )
    .option('--format <f>', 'output format (onnx)', 'onnx')
    .option(
      '--int8',
      'also write onnx/model_quantized.onnx: int8 weights per output channel, dynamic int8 activations',
    )
    .option('--out <dir>', 'output folder (default <model>/export-onnx)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (model: string, o) => {
      if (o.format !== 'onnx')
        throw new InputError(`--format: expected onnx, found '${o.format}'`, 'tlc export writes ONNX only');
      const { exportOnnx } = await import('../io/onnx/export.ts');
      const out = o.out ?? path.join(model, 'export-onnx');
      const r = exportOnnx(model, { out, int8: Boolean(o.int8), log });
      if (o.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      const lines = r.files.map((f) => `  ${f.file}  ${(f.bytes / 1e6).toFixed(3)} MB`);
      process.stdout.write(`${out}: ${r.kind} model from ${r.source}\n${lines.join('\n')}\n`);
    });
}
