// `tlc study-job KIND …` (hidden): one queue job, run by `tlc worker` in a child process. The worker
// passes only validated fields; this command checks them again against the same schema and root.
import type { Command } from 'commander';
import { arg } from './flags.ts';

export function registerStudyJob(program: Command): void {
  program
    .command('study-job <kind>', { hidden: true })
    .description('run one study job from the queue (train | compress | finetune); used by tlc worker')
    .requiredOption('--root <dir>', 'the folder the job may write under')
    .requiredOption('--study <dir>', 'the study folder')
    .requiredOption('--run <id>', 'the run id, e.g. d64-L2-s1')
    .option('--preset <name>', 'compress: the study preset (its grid)')
    .option('--arm <arm>', 'compress: pretrain | finetune', 'pretrain')
    .option('--data <name|path>', 'finetune: classification data')
    .option('--budget <seconds>', 'finetune: training seconds', arg.num('--budget', { gt: 0, example: '60' }))
    .option(
      '--threads <n>',
      'threads (a training config that sets its own keeps them)',
      arg.int('--threads', { min: 1 }),
    )
    .action(async (kind: string, o) => {
      const [{ validateJob }, { exitWhenOrphaned, runJob }] = await Promise.all([
        import('../study/job-kinds.ts'),
        import('../study/job-run.ts'),
      ]);
      exitWhenOrphaned();
      const payload: Record<string, unknown> = { v: 1, kind, study: o.study, run: o.run };
      if (kind === 'compress') Object.assign(payload, { preset: o.preset, arm: o.arm });
      if (kind === 'finetune') Object.assign(payload, { data: o.data, budget_s: o.budget });
      runJob(validateJob(payload, o.root), { threads: o.threads });
    });
}
