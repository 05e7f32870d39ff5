/**
 * What the names of `[bpf]` kallsyms symbols carry (kernel/bpf/core.c
 * bpf_prog_ksym_set_name, kernel/bpf/trampoline.c, kernel/bpf/dispatcher.c):
 * - `bpf_prog_<tag>[_<name>]`: the program tag (16 hex digits, bpftool's `tag`) and the
 *   program's (or its BTF subprogram's) name;
 * - `bpf_trampoline_<key>`: key = BTF object id << 32 | BTF type id of the target
 *   (bpf_trampoline_compute_key; for a target program, its prog id << 32 | its BTF id);
 * - `bpf_dispatcher_<name>` (e.g. bpf_dispatcher_xdp).
 */
export type BpfSymbol =
  | { kind: 'prog'; tag: string; progName?: string }
  | { kind: 'trampoline'; key: bigint; objectId: number; btfId: number }
  | { kind: 'dispatcher'; dispatcher: string };

const PROG = /^bpf_prog_([0-9a-f]{16})(?:_(.+))?$/;
const TRAMP = /^bpf_trampoline_(\d{1,20})$/;
const DISP = /^bpf_dispatcher_(.+)$/;

export function parseBpfSymbol(name: string): BpfSymbol | undefined {
  let m = PROG.exec(name);
  if (m) return m[2] !== undefined ? { kind: 'prog', tag: m[1], progName: m[2] } : { kind: 'prog', tag: m[1] };
  m = TRAMP.exec(name);
  if (m) {
    const key = BigInt(m[1]);
    if (key > 0xffffffffffffffffn) return undefined;
    return { kind: 'trampoline', key, objectId: Number(key >> 32n), btfId: Number(key & 0xffffffffn) };
  }
  m = DISP.exec(name);
  if (m) return { kind: 'dispatcher', dispatcher: m[1] };
  return undefined;
}

/** One line for a hover or the CLI. `targetName` resolves a trampoline's BTF id when the BTF object is known. */
export function describeBpfSymbol(s: BpfSymbol, targetName?: (objectId: number, btfId: number) => string | undefined): string {
  switch (s.kind) {
    case 'prog':
      return `BPF program, tag ${s.tag}${s.progName ? `, name ${s.progName}` : ' (no name)'}`;
    case 'trampoline': {
      const t = targetName?.(s.objectId, s.btfId);
      return (
        `BPF trampoline, key ${s.key} = BTF object ${s.objectId}, type id ${s.btfId}` +
        (t
          ? `: attached to ${t}`
          : s.objectId === 1
            ? ' (object 1 is normally vmlinux BTF)'
            : ' (a module BTF or a target program; bpftool btf list / prog list names it)')
      );
    }
    case 'dispatcher':
      return `BPF dispatcher ${s.dispatcher} (direct-call dispatch to the attached programs)`;
  }
}
