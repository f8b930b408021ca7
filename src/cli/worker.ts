// `tlc worker --queue redis://HOST:PORT`: run study jobs from a Redis queue on this machine, each in
// a child process, writing run directories under a shared folder. Logic in study/worker.ts.
import * as path from 'node:path';
import { type Command, Option } from 'commander';
import { intFlag } from './study-job.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run study jobs from a Redis queue (tlc study --queue) on this machine, one child process each',
    )
    .requiredOption('--queue <url>', 'redis://[:PASSWORD@]HOST:PORT, or env:NAME to read the URL from $NAME')
    .option('--concurrency <n>', 'jobs at a time', '1')
    .option('--threads <n>', 'threads per job (default: the cores divided by --concurrency)')
    .option('--root <dir>', 'shared folder the study folders lie in (jobs elsewhere are refused)', '.')
    .option('--idle-exit <seconds>', 'exit once the queue has had no work this long (batch jobs)')
    .addOption(new Option('--lock-ms <ms>', 'job lock duration in Redis (tests)').hideHelp())
    .addOption(new Option('--queue-name <name>', 'BullMQ queue name').hideHelp())
    .action(async (o) => {
      const [{ parseQueueUrl }, { startWorker }] = await Promise.all([
        import('../study/redis-url.ts'),
        import('../study/worker.ts'),
      ]);
      const w = await startWorker({
        url: parseQueueUrl(o.queue),
        root: path.resolve(o.root),
        concurrency: intFlag('--concurrency', o.concurrency)!,
        threads: intFlag('--threads', o.threads),
        idleExitS: intFlag('--idle-exit', o.idleExit),
        lockMs: intFlag('--lock-ms', o.lockMs),
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
