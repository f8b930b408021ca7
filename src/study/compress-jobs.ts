// The compression grid as executor jobs, one per trained run (a "batch": every grid setting of
// that run), for executors on other machines. Runs whose grid results are all on disk are skipped;
// the study then reads the results with compressGrid, which finds them cached.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gridSettings } from './compress-grid.ts';
import type { Job } from './executor.ts';
import type { StudyPreset } from './presets.ts';

export function compressJobs(
  runs: Array<{ id: string }>,
  preset: StudyPreset,
  outDir: string,
  arm: 'pretrain' | 'finetune',
): Job[] {
  const tags = gridSettings(preset).map((g) => g.tag);
  const study = path.resolve(outDir);
  return runs
    .map((r) => ({ r, base: path.join(outDir, 'compress', arm === 'finetune' ? `ft-${r.id}` : r.id) }))
    .filter(({ base }) => !tags.every((t) => fs.existsSync(path.join(base, t, 'result.json'))))
    .map(({ r }) => ({
      id: `compress-${arm === 'finetune' ? 'ft-' : ''}${r.id}`,
      args: ['study-job', 'compress', `--root=${study}`, `--study=${study}`, `--run=${r.id}`].concat([
        `--preset=${preset.name}`,
        `--arm=${arm}`,
      ]),
      estimateS: 5 + 3 * tags.length,
      spec: { kind: 'compress', run: r.id, preset: preset.name, arm },
    }));
}
