// The `tlc` command line: parses, validates and calls the library. Holds no logic of its own;
// each command lives in its own module and registers itself on the program here.
import { Command, CommanderError } from 'commander';
import { BusyError, formatError, InputError } from '../engine/errors.ts';
import { TLC_VERSION } from '../engine/version.ts';
import { registerCommands } from './commands.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('tlc')
    .description(
      'train large, then compress: train Transformers under one wall-clock budget, compress, evaluate',
    )
    .version(TLC_VERSION)
    .exitOverride()
    .showHelpAfterError();
  registerCommands(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`tlc: ${formatError(e)}\n`);
    // 2: the user's input is wrong (retrying cannot help); 3: busy (another process holds the run)
    return e instanceof InputError ? 2 : e instanceof BusyError ? 3 : 1;
  }
}
