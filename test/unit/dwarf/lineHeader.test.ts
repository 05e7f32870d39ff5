/**
 * DWARF 5 line table headers built byte by byte: the directory and file entries in gcc's
 * formats (a .debug_line_str path; for files, then a ULEB128 directory index) take a loop of
 * their own in line.ts, and anything else the general loop. Each file's name is checked
 * against the path it was built from: one-byte and multi-byte directory indexes (more than
 * 127 directories), other formats (an inline string, a data1 index), big-endian input, and an
 * entry list cut short (the general loop's error).
 */
import { describe, expect, it } from 'vitest';
import type { SectionBytes } from '../../../server/src/core/dwarf/cursor';
import { readLineTable } from '../../../server/src/core/dwarf/line';

const DW_FORM_string = 0x08,
  DW_FORM_data1 = 0x0b,
  DW_FORM_udata = 0x0f,
  DW_FORM_line_strp = 0x1f;
const DW_LNCT_path = 1,
  DW_LNCT_directory_index = 2;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

interface Built {
  line: SectionBytes;
  lineStr: SectionBytes;
  /** The full path each file index should give. */
  want: string[];
}

/**
 * A header with `dirs` directories and files (name, directory index), in the formats asked
 * for; `cut` drops that many bytes from the end of the file entries (a header cut short).
 */
function build(
  dirs: string[],
  files: [string, number][],
  opt: { fileForms?: [number, number][]; dirForms?: [number, number][]; le?: boolean; cut?: number } = {},
): Built {
  const le = opt.le ?? true;
  const strs: number[] = [];
  const strOff = (s: string): number => {
    const o = strs.length;
    for (const ch of Buffer.from(s)) strs.push(ch);
    strs.push(0);
    return o;
  };
  const u16 = (n: number): number[] => (le ? [n & 0xff, n >>> 8] : [n >>> 8, n & 0xff]);
  const u32 = (n: number): number[] => {
    const b = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
    return le ? b : b.reverse();
  };
  const fileForms = opt.fileForms ?? [
    [DW_LNCT_path, DW_FORM_line_strp],
    [DW_LNCT_directory_index, DW_FORM_udata],
  ];
  const value = (form: number, v: string | number): number[] => {
    if (form === DW_FORM_line_strp) return u32(strOff(v as string));
    if (form === DW_FORM_string) return [...Buffer.from(v as string), 0];
    if (form === DW_FORM_udata) return uleb(v as number);
    if (form === DW_FORM_data1) return [v as number];
    throw new Error(`form ${form}`);
  };
  const hdr: number[] = [1, 1, 1, -5 & 0xff, 14, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
  const dirForms = opt.dirForms ?? [[DW_LNCT_path, DW_FORM_line_strp]];
  hdr.push(dirForms.length);
  for (const [ct, f] of dirForms) hdr.push(...uleb(ct), ...uleb(f));
  hdr.push(...uleb(dirs.length));
  for (const d of dirs) for (const [ct, f] of dirForms) hdr.push(...value(f, ct === DW_LNCT_path ? d : 0));
  hdr.push(fileForms.length);
  for (const [ct, f] of fileForms) hdr.push(...uleb(ct), ...uleb(f));
  hdr.push(...uleb(files.length));
  const entries: number[] = [];
  for (const [name, di] of files) for (const [ct, f] of fileForms) entries.push(...value(f, ct === DW_LNCT_path ? name : di));
  if (opt.cut) entries.length -= opt.cut;
  hdr.push(...entries);
  // the program: one sequence of one row (set_address 0x1000, copy, advance 4, end_sequence)
  // (none after a header cut short: the unit ends inside its file entries)
  const prog = opt.cut ? [] : [0, 9, 2, 0, 0x10, 0, 0, 0, 0, 0, 0, 1, 2, 4, 0, 1, 1];
  if (!le && !opt.cut) prog.splice(3, 8, 0, 0, 0, 0, 0, 0, 0x10, 0);
  const afterLen = [...u16(5), 8, 0, ...u32(hdr.length), ...hdr, ...prog];
  const bytes = Uint8Array.from([...u32(afterLen.length), ...afterLen]);
  const sec = (section: string, b: Uint8Array): SectionBytes => ({
    file: 'test.o',
    section,
    fileOffset: 0,
    bytes: b,
    le,
    decompressed: false,
  });
  const want = files.map(([name, di]) => (di === 0 ? `${dirs[0]}/${name}` : `/comp/${dirs[di]}/${name}`));
  return { line: sec('.debug_line', bytes), lineStr: sec('.debug_line_str', Uint8Array.from(strs)), want };
}

function names(b: Built): (string | undefined)[] {
  const t = readLineTable(b.line, 0, 8, '/comp', 'unit.c', { lineStr: b.lineStr });
  return b.want.map((_, i) => t.fileName(i));
}

describe('DWARF 5 line table header entries', () => {
  const dirs = ['/comp', 'include/linux', 'arch/x86/include/asm'];
  const files: [string, number][] = [
    ['fs/read_write.c', 0],
    ['fs.h', 1],
    ['current.h', 2],
    ['refcount.h', 1],
  ];

  it("gcc's formats: every file's path", () => {
    const b = build(dirs, files);
    expect(names(b)).toEqual(b.want);
  });

  it('big-endian input: the same paths', () => {
    const b = build(dirs, files, { le: false });
    expect(names(b)).toEqual(b.want);
  });

  it('more than 127 directories: two-byte directory indexes after one-byte ones', () => {
    const many = ['/comp', ...Array.from({ length: 300 }, (_, i) => `include/d${i}`)];
    const fs: [string, number][] = [
      ['a.c', 0],
      ['b.h', 5],
      ['c.h', 127],
      ['d.h', 128],
      ['e.h', 3],
      ['f.h', 299],
    ];
    const b = build(many, fs);
    expect(names(b)).toEqual(b.want);
  });

  it('directories in a format with a directory index (meaningless there, but its byte is read): the same paths', () => {
    const b = build(dirs, files, {
      dirForms: [
        [DW_LNCT_path, DW_FORM_line_strp],
        [DW_LNCT_directory_index, DW_FORM_udata],
      ],
    });
    expect(names(b)).toEqual(b.want);
  });

  it('other formats (an inline name, a data1 index): the same paths', () => {
    const b = build(dirs, files, {
      fileForms: [
        [DW_LNCT_path, DW_FORM_string],
        [DW_LNCT_directory_index, DW_FORM_data1],
      ],
    });
    expect(names(b)).toEqual(b.want);
    const c = build(dirs, files, {
      fileForms: [
        [DW_LNCT_directory_index, DW_FORM_udata],
        [DW_LNCT_path, DW_FORM_line_strp],
      ],
    });
    expect(names(c)).toEqual(c.want);
  });

  it('an entry list cut short: a truncation error naming the section', () => {
    const b = build(dirs, files, { cut: 3 });
    expect(() => names(b)).toThrow(/\.debug_line.*truncated/);
  });
});
