// `tlc worker --queue redis://HOST:PORT`: run study jobs from a Redis queue on this machine, each in
// a child process, writing run directories under a shared folder. Logic in study/worker.ts.
import * as path from 'node:path';
import { type Command, Option } from 'commander';
import { arg } from './flags.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run study jobs from a Redis queue (tlc study --queue) on this machine, one child process each',
    )
    .requiredOption('--queue <url>', 'redis://[:PASSWORD@]HOST:PORT, or env:NAME to read the URL from $NAME')
    .option('--concurrency <n>', 'jobs at a time', arg.int('--concurrency', { min: 1 }), 1)
    .option(
      '--threads <n>',
      'threads per job (default: the cores divided by --concurrency)',
      arg.int('--threads', { min: 1 }),
    )
    .option('--root <dir>', 'shared folder the study folders lie in (jobs elsewhere are refused)', '.')
    .option(
      '--idle-exit <seconds>',
      'exit once the queue has had no work this long (batch jobs)',
      arg.int('--idle-exit', { min: 1, example: '60' }),
    )
    .addOption(
      new Option('--lock-ms <ms>', 'job lock duration in Redis (tests)')
        .argParser(arg.int('--lock-ms', { min: 1, example: '30000' }))
        .hideHelp(),
    )
    .addOption(new Option('--queue-name <name>', 'BullMQ queue name').hideHelp())
    .action(async (o) => {
      const [{ parseQueueUrl }, { startWorker }] = await Promise.all([
        import('../study/redis-url.ts'),
        import('../study/worker.ts'),
      ]);
      const w = await startWorker({
        url: parseQueueUrl(o.queue),
        root: path.resolve(o.root),
        concurrency: o.concurrency,
        threads: o.threads,
        idleExitS: o.idleExit,
        lockMs: o.lockMs,
        queueName: o.queueName,
      });
      let signals = 0;
      const onSignal = () => {
        if (++signals > 1) process.exit(130);
        process.stderr.write(
          '[worker] stopping: running jobs go back to the queue (again to quit at once)\n',
        );
        w.stop();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      await w.done;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}
