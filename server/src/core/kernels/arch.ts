/**
 * Architecture names as ksym reports them, and how each kind of kernel artefact tells
 * its architecture. Pure.
 */

/** `x86` and `ppc` are the 32-bit variants; the others as `uname -m` families. */
export type Arch = 'x86_64' | 'x86' | 'arm64' | 'arm32' | 'riscv' | 'ppc64' | 'ppc' | 's390';

export const ARCHES: readonly Arch[] = ['x86_64', 'x86', 'arm64', 'arm32', 'riscv', 'ppc64', 'ppc', 's390'];

/** `uname -m` (or `os.machine()`) → Arch. */
export function archFromMachine(machine: string): Arch | undefined {
  const m = machine.trim();
  if (m === 'x86_64' || m === 'amd64') return 'x86_64';
  if (/^i[3-6]86$/.test(m)) return 'x86';
  if (m === 'aarch64' || m === 'arm64') return 'arm64';
  if (/^arm/.test(m)) return 'arm32';
  if (/^riscv/.test(m)) return 'riscv';
  if (/^ppc64/.test(m)) return 'ppc64';
  if (m === 'ppc' || m === 'powerpc') return 'ppc';
  if (/^s390/.test(m)) return 's390';
  return undefined;
}

/**
 * Distribution release names that carry the architecture: Debian `-amd64`/`-arm64`/
 * `-armmp`/`-686-pae`/`-powerpc64le`/`-s390x`/`-riscv64`, Fedora/RHEL `.x86_64`/`.ppc64le`/
 * `.aarch64`/`.s390x`. Undefined for upstream-style releases (`5.17.0-syzkaller-…`).
 */
export function archFromRelease(release: string): Arch | undefined {
  const r = release.toLowerCase();
  const tail =
    /[.-](x86_64|amd64|cloud-amd64|rt-amd64|i[3-6]86|686(?:-pae)?|aarch64|arm64(?:-16k)?|rt-arm64|armv7hl|armmp(?:-lpae)?|marvell|rpi|riscv64|ppc64le|ppc64|powerpc64le|powerpc64|powerpc|s390x)(?:\+[\w.]*)?$/.exec(
      r,
    );
  if (!tail) return undefined;
  const t = tail[1];
  if (t.endsWith('amd64') || t === 'x86_64') return 'x86_64';
  if (/^(i[3-6]86|686)/.test(t)) return 'x86';
  if (t.startsWith('aarch64') || t.includes('arm64')) return 'arm64';
  if (t.startsWith('armv7') || t.startsWith('armmp') || t === 'marvell' || t === 'rpi') return 'arm32';
  if (t === 'riscv64') return 'riscv';
  if (t.startsWith('ppc64') || t.startsWith('powerpc64')) return 'ppc64';
  if (t === 'powerpc') return 'ppc';
  if (t === 's390x') return 's390';
  return undefined;
}

/** ELF e_machine (+ class) → Arch. */
export function archFromElfMachine(machine: number, is64: boolean): Arch | undefined {
  switch (machine) {
    case 62:
      return 'x86_64'; // EM_X86_64
    case 3:
      return 'x86'; // EM_386
    case 183:
      return 'arm64'; // EM_AARCH64
    case 40:
      return 'arm32'; // EM_ARM
    case 243:
      return 'riscv'; // EM_RISCV
    case 21:
      return 'ppc64'; // EM_PPC64
    case 20:
      return 'ppc'; // EM_PPC
    case 22:
      return is64 ? 's390' : 's390'; // EM_S390
    default:
      return undefined;
  }
}

/**
 * The architecture of a symbol table from symbols only one architecture's vmlinux
 * has (arch/<arch>/kernel entry code). `has(name)` asks the table.
 */
export function archFromSymbols(has: (name: string) => boolean): { arch: Arch; symbol: string } | undefined {
  const probes: Array<[Arch, string]> = [
    ['x86_64', 'entry_SYSCALL_64'],
    ['x86_64', 'startup_64'],
    ['x86', 'entry_INT80_32'],
    ['x86', 'startup_32_smp'],
    ['arm64', 'el0t_64_sync'],
    ['arm64', 'el0_sync'],
    ['arm64', '__arm64_sys_read'],
    ['arm32', '__irq_svc'],
    ['arm32', 'vector_swi'],
    ['riscv', 'handle_exception'],
    ['riscv', '__riscv_sys_read'],
    ['ppc64', 'system_call_common'],
    ['ppc64', '.system_call_common'],
    ['ppc', 'transfer_to_handler'],
    ['s390', '__s390x_sys_read'],
    ['s390', 'system_call'],
  ];
  // entry_SYSCALL_64 first: `system_call` and `handle_exception` exist elsewhere too, so
  // a more specific symbol of another architecture wins over them.
  const specific = probes.filter(([, s]) => s !== 'system_call' && s !== 'handle_exception');
  for (const [arch, symbol] of specific) if (has(symbol)) return { arch, symbol };
  for (const [arch, symbol] of probes) if (has(symbol)) return { arch, symbol };
  return undefined;
}
