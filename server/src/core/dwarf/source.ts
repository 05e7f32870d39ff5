/**
 * Byte sources: what the DWARF reader reads from. A source is random access by offset
 * (a file read with pread, or bytes already in memory), so a 633 MB vmlinux is never
 * read whole: only the section headers, the sections the reader needs, and the units
 * a lookup touches. Pure: the file-backed source lives in readFile.ts.
 */
export interface ByteSource {
  /** Label used in errors (the file path). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * `length` bytes at `offset`. The caller checks the range against `size` first; a
   * source may return fewer bytes only when the underlying file shrank.
   */
  read(offset: number, length: number): Uint8Array;
  /**
   * Optional: read `length` bytes at `offset` into `buf` at `at` (no allocation: the reader
   * reuses one scratch buffer for unit bytes). Returns the number of bytes read (fewer only
   * when the file shrank).
   */
  readInto?(buf: Uint8Array, at: number, offset: number, length: number): number;
  /** Release the underlying resource (file descriptor); reads afterwards fail. */
  close?(): void;
}

/** A source over bytes already in memory (tests, fuzzing, decompressed modules). */
export function bytesSource(bytes: Uint8Array, name = '<memory>'): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset: number, length: number): Uint8Array {
      return bytes.subarray(offset, offset + length);
    },
  };
}
