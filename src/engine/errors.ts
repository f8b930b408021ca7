// Typed errors shared by every layer. Library code throws these; only the CLI turns them into an
// exit code and one message. Each says what was expected, what was found, and what to do.

export class TlcError extends Error {
  constructor(
    message: string,
    /** what the user can do about it */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad user input: a config key, a flag, a file's contents. */
export class InputError extends TlcError {}

/** A needed component is missing (unbuilt addon, uncached corpus, missing system package). */
export class SetupError extends TlcError {}

/** Data on disk failed verification (checksum, magic, truncation). */
export class CorruptError extends TlcError {}

/** Another live process holds what this one needs (e.g. a run directory's lock); try again later. */
export class BusyError extends TlcError {}

export function formatError(e: unknown): string {
  if (e instanceof TlcError) return e.hint ? `${e.message}\n  hint: ${e.hint}` : e.message;
  if (e instanceof Error) return e.stack ?? e.message;
  return String(e);
}
