// Fuzz target for the DWARF reader (core/dwarf): ELF + DWARF 4/5 objects and executables
// (gcc -g -O2 fixtures built once per run when gcc is there: relocatable, linked, zlib-
// compressed, DWARF 4), plus a small real module with DWARF from .cache/kernel-data when
// fetched. Each input is opened and looked up at offsets of every executable section
// (and at addresses of a linked file), as plain and as return addresses; lookups return
// typed results (an 'error' result carries a FormatError, thrown here so the harness
// counts it: a FormatError that wraps an internal error is reported as masked).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bytesOf, dictOf, mutate, randomBytes } from './mutate.mjs';

const SRC = `
static inline int h2(int x) { return x * 3 + (x >> 2); }
static inline __attribute__((always_inline)) int h1(int x) { if (x > 10) return h2(x) + 1; return h2(x - 1); }
__attribute__((noinline, cold)) void rare(int x) { if (x) __builtin_trap(); }
__attribute__((noinline, section(".text.unlikely"))) int slow(int *p, int n) { int t = 0; for (int i = 0; i < n; i++) t += h1(p[i & 3]); return t; }
__attribute__((noinline)) int work(int *p, int n) { int r = h1(n) + h1(p[0]); if (n == 12345) { rare(n); r += slow(p, n); } return r; }
int main(int c, char **v) { int a[4] = { c, 2, 3, 4 }; (void)v; return work(a, c * 7); }
`;

function gccSeeds() {
  if (spawnSync('sh', ['-c', 'command -v gcc'], { stdio: 'ignore' }).status !== 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'ksym-fuzz-dwarf-'));
  const out = [];
  try {
    writeFileSync(join(dir, 'f.c'), SRC);
    for (const [name, flags] of [
      ['o5', ['-gdwarf-5', '-c']],
      ['o4', ['-gdwarf-4', '-c']],
      ['oz', ['-gdwarf-5', '-gz=zlib', '-c']],
      ['x5', ['-gdwarf-5']],
      ['x4', ['-gdwarf-4', '-gz=zlib-gnu']],
    ]) {
      const f = join(dir, name);
      try {
        execFileSync('gcc', ['-g', '-O2', ...flags, '-o', f, join(dir, 'f.c')], { stdio: 'ignore' });
        const b = readFileSync(f);
        out.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      } catch {
        /* a flag this gcc lacks */
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function realSeeds(root) {
  const data = process.env.KSYM_KERNEL_DATA ?? resolve(root, '.cache/kernel-data');
  try {
    const abi = readFileSync(join(data, 'current'), 'utf8').trim();
    const f = join(data, abi, 'modules', 'virtio-rng.ko');
    if (!existsSync(f)) return [];
    const b = readFileSync(f);
    return [new Uint8Array(b.buffer, b.byteOffset, b.byteLength)];
  } catch {
    return [];
  }
}

export function dwarfTarget(core, _corpus, root) {
  const seeds = [...gccSeeds(), ...realSeeds(root ?? process.cwd())];
  // A minimal ELF header so that the target runs without gcc (and mutations reach the section table).
  if (!seeds.length) seeds.push(bytesOf('\x7fELF\x02\x01\x01' + '\0'.repeat(9) + '\x01\0\x3e\0' + '\0'.repeat(44)));
  const dict = dictOf([
    '.debug_info',
    '.debug_line',
    '.debug_abbrev',
    '.debug_rnglists',
    '.debug_ranges',
    '.zdebug_info',
    'ZLIB',
    '\x7fELF',
    '\xff\xff\xff\xff',
    '\0\0\0\0',
    '\x05\0',
    '\x04\0',
    '\x11\x01',
    '\x55\x17',
    '\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01',
  ]);
  return {
    name: 'dwarf',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.03)) return randomBytes(r, 4096);
      const s = r.pick(seeds);
      // small mutations keep the ELF and most DWARF intact: the decoders are reached
      return mutate(s, r, dict, () => r.pick(seeds), r.chance(0.7) ? 4 : 24);
    },
    run(bytes, r) {
      const rd = core.DwarfReader.open(core.bytesSource(bytes, 'fuzz.o'));
      let n = 0;
      const check = (res) => {
        n++;
        if (res.kind === 'error') throw res.error;
      };
      const execs = rd.elf.sections.filter((s) => s.flags & 4 && s.size > 0).slice(0, 8);
      for (const s of execs) {
        for (let k = 0; k < 6; k++) {
          const off = r.int(Math.max(1, Math.min(s.size, 1 << 20)));
          check(rd.lookupInSection(s.index, off));
          check(rd.lookupReturnInSection(s.index, off + 1));
        }
      }
      // the bounded callers-of-an-inlined-function search and the .BTF_ids kfunc sets read the same ELF
      n += core.inlinedInto(rd.elf, r.chance(0.5) ? 'work' : 'main', 8, 16).callers.length;
      if (rd.elf.section('.BTF_ids')) n += core.readKfuncSets(rd.elf).sets.length;
      rd.close();
      return n;
    },
  };
}
