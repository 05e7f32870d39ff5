/**
 * Typed format error raised by every parser in core/. It always names the input
 * (file path or a label such as "<stdin>"), the byte offset (or line) where the
 * problem was found, and the reason. Anything else escaping a parser is a bug.
 */
export class FormatError extends Error {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  readonly line?: number;

  constructor(file: string, offset: number, reason: string, line?: number) {
    const where = line !== undefined ? `line ${line}` : `offset 0x${offset.toString(16)}`;
    super(`${file}: ${where}: ${reason}`);
    this.name = 'FormatError';
    this.file = file;
    this.offset = offset;
    this.reason = reason;
    this.line = line;
  }
}

export function isFormatError(e: unknown): e is FormatError {
  return e instanceof FormatError;
}

/** The reason of any thrown value, without the file (for messages that name it elsewhere). */
export function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The one-line description of an I/O or format error, naming the file: FormatErrors as
 * they are (they name file, offset and reason), I/O errors (errno codes) in words.
 * `expected`: what the file should have been (for EISDIR / ENOTREG).
 */
export function describeError(file: string, e: unknown, expected = 'a kallsyms or System.map file'): string {
  if (isFormatError(e)) return e.message;
  // readGuarded.ts (by name: it imports this file): the reason already says what was expected.
  if ((e as Error | undefined)?.name === 'GuardedReadError') return `${file}: ${(e as Error).message}`;
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT':
      return `${file}: no such file`;
    case 'EACCES':
    case 'EPERM':
      return `${file}: permission denied`;
    case 'EISDIR':
      return `${file}: is a directory, expected ${expected}`;
    case 'ENOTREG':
      return `${file}: not a regular file (a device or a pipe), expected ${expected}`;
    case 'ENOTDIR':
      return `${file}: a path component is not a directory`;
    default:
      return `${file}: ${err?.message ?? String(e)}`;
  }
}
