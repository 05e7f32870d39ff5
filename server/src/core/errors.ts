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
