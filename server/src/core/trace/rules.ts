/**
 * Can this kernel function be traced, and how: fentry, fexit, fmod_ret, kprobe, kretprobe.
 *
 * The rules are the kernel's own, read (never copied) from the sources of the release
 * this machine runs (6.18, x86_64; the Debian corpus is 6.1, where the same rules hold
 * except where a line says otherwise):
 *
 * - kernel/bpf/btf.c, btf_distill_func_proto() and __get_type_size():
 *   more than MAX_BPF_FUNC_ARGS (12, include/linux/bpf.h; 6.1 also 12) parameters:
 *   "The function %s has %d arguments. Too many."; the return type must size as void,
 *   a pointer, an int or an enum (a struct/union returned by value: "return type %s is
 *   unsupported"); a last parameter of type 0 is `...`: "with variable args is
 *   unsupported"; every parameter must be a pointer, int, enum or a struct (6.18: or a
 *   union; 6.1: struct only) of at most 16 bytes passed by value, anything else (float,
 *   a bigger struct) "arg%d type %s is unsupported".
 * - kernel/bpf/verifier.c, bpf_check_attach_target(): the target must be a BTF FUNC whose
 *   type is a FUNC_PROTO; its address is kallsyms_lookup_name(name) for vmlinux BTF
 *   (find_kallsyms_symbol_value() in the module for module BTF), absent: "The address of
 *   function %s cannot be found". kallsyms_lookup_name() (kernel/kallsyms.c) binary-searches
 *   names sorted by (name, address): the FIRST copy by address wins and fentry by name can
 *   never reach another copy. fmod_ret needs within_error_injection_list(addr)
 *   (ALLOW_ERROR_INJECTION, kernel/fail_function.c / lib/error-inject.c; the `_eil_addr_`
 *   entries, /sys/kernel/debug/error_injection/list) or a name starting with "security_"
 *   (check_attach_modify_return) or a kfunc registered in an fmodret set
 *   (btf_kfunc_is_modify_return): else "%s() is not modifiable". Sleepable programs need
 *   the error-injection list too ("%s is not sleepable").
 *   check_attach_btf_id(): btf_id_deny (migrate_disable, migrate_enable, ___migrate_enable
 *   (6.17+), rcu_read_unlock_strict, preempt_count_add/sub, __rcu_read_lock/unlock; each
 *   exists only in the configs where it is denied) refuses every tracing program;
 *   noreturn_deny (6.10+: do_exit, do_group_exit, make_task_dead, kthread_exit,
 *   kthread_complete_and_exit, __x64_sys_exit(_group), __ia32_sys_exit(_group),
 *   __module_put_and_kthread_exit, __kunit_abort, kunit_try_catch_throw) refuses fexit
 *   and fmod_ret: "Attaching fexit/fmod_ret to __noreturn function '%s' is rejected."
 * - arch/x86/net/bpf_jit_comp.c, arch_prepare_bpf_trampoline(): the x86-64 trampoline
 *   takes up to MAX_BPF_FUNC_ARGS argument registers' worth (6 in registers, the rest from
 *   the stack, 6.6+; 6.1: 6 only), a struct by value counting one slot per 8 bytes: more
 *   fails at attach time with -ENOTSUPP (the program loads, the link does not).
 * - kernel/bpf/trampoline.c, register_fentry(): a function ftrace knows is patched through
 *   ftrace (direct calls); one it does not know is text-poked only when its first
 *   instruction is the 5-byte nop of a __fentry__ site (arch/x86/net/bpf_jit_comp.c,
 *   bpf_arch_text_poke): a notrace function has none, so the attach fails (-EBUSY).
 * - kernel/trace/ftrace.c: the patchable sites are the __mcount_loc records, listed in
 *   tracing/available_filter_functions (lockdown "confidentiality" hides it: EPERM);
 *   `notrace`, `noinstr` (include/linux/compiler_types.h: .noinstr.text, with .cpuidle.text
 *   inside it) and the assembly entry text (.entry.text, .irqentry.text) have no site.
 * - kernel/kprobes.c: register_kprobe() refuses addresses within_kprobe_blacklist():
 *   NOKPROBE_SYMBOL() entries (`_kbl_addr_<fn>` in the _kprobe_blacklist section, listed in
 *   /sys/kernel/debug/kprobes/blacklist), the __kprobes_text (.kprobes.text) and
 *   __noinstr_text areas (populate_kprobe_blacklist), and on x86 the entry text
 *   (arch/x86/kernel/kprobes/core.c, arch_populate_kprobe_blacklist). A kprobe by name also
 *   goes through kallsyms_lookup_name (first copy); other copies only by address.
 *   Without CONFIG_KPROBES there are no kprobes at all.
 */
import type { Btf } from '../btf';
import { CRenderer } from '../btf/c';
import { Kind } from '../btf/kinds';
import type { BtfFuncProto } from '../btf/types';
import type { SymbolIndex } from '../kallsyms/symbolIndex';

export type Verdict = true | false | 'unknown';
export type AttachKind = 'fentry' | 'fexit' | 'fmod_ret' | 'kprobe' | 'kretprobe';
export const ATTACH_KINDS: readonly AttachKind[] = ['fentry', 'fexit', 'fmod_ret', 'kprobe', 'kretprobe'];

/** MAX_BPF_FUNC_ARGS, include/linux/bpf.h. */
export const MAX_BPF_FUNC_ARGS = 12;
/** Largest struct/union passed by value (btf_distill_func_proto). */
export const MAX_STRUCT_ARG_SIZE = 16;

/** btf_id_deny (kernel/bpf/verifier.c): no tracing program may attach. */
const BTF_ID_DENY = new Set([
  'migrate_disable',
  'migrate_enable',
  '___migrate_enable',
  'rcu_read_unlock_strict',
  'preempt_count_add',
  'preempt_count_sub',
  '__rcu_read_lock',
  '__rcu_read_unlock',
]);
/** noreturn_deny (kernel/bpf/verifier.c, 6.10+): no fexit / fmod_ret. */
const NORETURN_DENY = new Set([
  '__ia32_sys_exit',
  '__ia32_sys_exit_group',
  '__kunit_abort',
  'kunit_try_catch_throw',
  '__module_put_and_kthread_exit',
  '__x64_sys_exit',
  '__x64_sys_exit_group',
  'cpu_bringup_and_idle',
  'do_exit',
  'do_group_exit',
  'kthread_complete_and_exit',
  'kthread_exit',
  'make_task_dead',
]);

/** Facts beyond BTF and kallsyms; each undefined when not known (then a verdict may be "unknown"). */
export interface TraceFacts {
  /** tracing/available_filter_functions text (`name` or `name [mod]` per line). */
  availableFilterFunctions?: string;
  /** Why the list above is missing (lockdown, permissions, tracefs not mounted). */
  availableFilterFunctionsProblem?: string;
  /** /sys/kernel/debug/kprobes/blacklist text (`0xSTART-0xEND\tname` per line). */
  kprobeBlacklist?: string;
  kprobeBlacklistProblem?: string;
  /** /sys/kernel/debug/error_injection/list text (`name\tTYPE` per line). */
  errorInjectionList?: string;
  errorInjectionProblem?: string;
  /** Kernel config text (/proc/config.gz or a .config): CONFIG_KPROBES etc. */
  config?: string;
  /** Kernel release ("6.18.44"): rules that changed between releases follow it (default: 6.18). */
  release?: string;
  /** DWARF callers of an inlined function (names), when a debug vmlinux was read. */
  inlineCallers?: (name: string) => string[] | undefined;
  /** kfunc flags by FUNC name from the `.BTF_ids` kfunc sets (needs the vmlinux ELF). */
  kfuncFlags?: (name: string) => number | undefined;
  /** The `.BTF_ids` kfunc set entries naming the function (core/trace/btfIds.ts), vmlinux ELF only. */
  kfuncSets?: (name: string) => { set: string; flags: number }[] | undefined;
  /** Names in the fmodret kfunc sets (btf_kfunc_is_modify_return). */
  fmodretKfuncs?: Set<string>;
}

export interface TraceArg {
  name: string;
  /** The C type as `bpftrace -lv` and btf_dump print it (no name). */
  type: string;
  /** The whole declaration: `struct file *file`. */
  decl: string;
  /** Bytes the argument takes (pointer 8, struct by value its size). */
  size: number;
  byValueAggregate: boolean;
}

export interface TraceCopy {
  address: bigint;
  module?: string;
  type: string;
  /** The exact kallsyms name (may carry a compiler suffix like .isra.0). */
  name: string;
  /** The one kallsyms_lookup_name() returns (what fentry/kprobe by name reach). */
  byName: boolean;
}

export interface TraceReason {
  attach: AttachKind | 'general';
  reason: string;
}

export interface TraceReport {
  name: string;
  btfId?: number;
  kfunc: boolean;
  kfuncFlags?: string[];
  /** The `.BTF_ids` kfunc sets holding it (BTF_SET8_START names), when the vmlinux ELF was read. */
  kfuncSets?: string[];
  args: TraceArg[];
  ret?: { type: string; decl: string };
  variadic: boolean;
  copies: TraceCopy[];
  /** Specialized copies under other names (`name.isra.0`, `name.constprop.0`). */
  variants: TraceCopy[];
  attach: Record<AttachKind, Verdict>;
  reasons: TraceReason[];
  /** Notes that are not verdict reasons (duplicate copies, how to reach another copy). */
  notes: string[];
  snippets: { bpftrace: string; libbpf: string };
}

/**
 * include/linux/btf.h kfunc flags. Bits 0-2 and 4-6 are the same since 6.0 (6.1: KF_ACQUIRE,
 * KF_RELEASE, KF_RET_NULL, KF_KPTR_GET, KF_TRUSTED_ARGS, KF_SLEEPABLE, KF_DESTRUCTIVE); bit 3
 * was KF_KPTR_GET until 6.3 (removed in 6.4); KF_RCU (bit 7) came in 6.2, KF_ITER_* (8-10) in
 * 6.4, KF_RCU_PROTECTED (11) in 6.7. A bit not named here prints as `bit N`, never a guess.
 */
export const KF_FLAGS: readonly [number, string][] = [
  [1 << 0, 'KF_ACQUIRE'],
  [1 << 1, 'KF_RELEASE'],
  [1 << 2, 'KF_RET_NULL'],
  [1 << 3, 'KF_KPTR_GET'],
  [1 << 4, 'KF_TRUSTED_ARGS'],
  [1 << 5, 'KF_SLEEPABLE'],
  [1 << 6, 'KF_DESTRUCTIVE'],
  [1 << 7, 'KF_RCU'],
  [1 << 8, 'KF_ITER_NEW'],
  [1 << 9, 'KF_ITER_NEXT'],
  [1 << 10, 'KF_ITER_DESTROY'],
  [1 << 11, 'KF_RCU_PROTECTED'],
];

/** The release (major * 1000 + minor) each later flag came in. */
const KF_SINCE: Record<string, number> = {
  KF_RCU: 6002,
  KF_ITER_NEW: 6004,
  KF_ITER_NEXT: 6004,
  KF_ITER_DESTROY: 6004,
  KF_RCU_PROTECTED: 6007,
};

/** Flag names of a kfunc set entry; `release` ("6.1.0-57-amd64") picks the names of bits that changed. */
export function kfuncFlagNames(flags: number, release?: string): string[] {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  const ver = m ? Number(m[1]) * 1000 + Number(m[2]) : Infinity;
  const out: string[] = [];
  for (let b = 0; b < 32; b++) {
    const bit = 2 ** b;
    if (Math.floor(flags / bit) % 2 === 0) continue;
    const known = KF_FLAGS.find(([v]) => v === bit)?.[1];
    const gone = known === 'KF_KPTR_GET' && ver >= 6004;
    out.push(known && !gone && ver >= (KF_SINCE[known] ?? 0) ? known : `bit ${b}`);
  }
  return out;
}

const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

/** `[start, end)` address areas named by kallsyms markers (absent markers: no area). */
interface Area {
  what: string;
  start: bigint;
  end: bigint;
}

function area(index: SymbolIndex, what: string, start: string, end: string): Area | undefined {
  const s = index.byNameAll(start).find((i) => index.moduleOf(i) === undefined);
  const e = index.byNameAll(end).find((i) => index.moduleOf(i) === undefined);
  if (s === undefined || e === undefined) return undefined;
  const a = index.addressOf(s);
  const b = index.addressOf(e);
  return a < b ? { what, start: a, end: b } : undefined;
}

/** Text areas where no function has a __fentry__ site, and the kprobe blacklisted areas. */
export interface KernelAreas {
  notrace: Area[];
  kprobeDenied: Area[];
}

const areaCache = new WeakMap<SymbolIndex, KernelAreas>();

export function kernelAreas(index: SymbolIndex): KernelAreas {
  const hit = areaCache.get(index);
  if (hit) return hit;
  const noinstr = area(index, '.noinstr.text (noinstr)', '__noinstr_text_start', '__noinstr_text_end');
  const entry = area(index, '.entry.text (assembly entry code)', '__entry_text_start', '__entry_text_end');
  const irqentry = area(index, '.irqentry.text', '__irqentry_text_start', '__irqentry_text_end');
  const kprobes = area(index, '.kprobes.text (__kprobes)', '__kprobes_text_start', '__kprobes_text_end');
  const out: KernelAreas = {
    notrace: [noinstr, entry].filter((a): a is Area => !!a),
    kprobeDenied: [kprobes, noinstr, entry, irqentry].filter((a): a is Area => !!a),
  };
  areaCache.set(index, out);
  return out;
}

function inArea(areas: Area[], addr: bigint): Area | undefined {
  return areas.find((a) => addr >= a.start && addr < a.end);
}

/** First word of every line (the function names of available_filter_functions). */
function nameSet(text: string, field = 0): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts[field]) out.add(parts[field]);
  }
  return out;
}

const setCache = new Map<string, Set<string>>();
function cachedSet(text: string, field: number): Set<string> {
  const key = `${field}:${text.length}:${text.slice(0, 64)}:${text.slice(-64)}`;
  let s = setCache.get(key);
  if (!s) {
    if (setCache.size > 8) setCache.clear();
    s = nameSet(text, field);
    setCache.set(key, s);
  }
  return s;
}

/** `CONFIG_X=y` → 'y', `# CONFIG_X is not set` → 'n', absent/undefined config → undefined. */
export function configValue(config: string | undefined, key: string): string | undefined {
  if (config === undefined) return undefined;
  const m = new RegExp(`^(?:${key}=(.*)|# ${key} is not set)$`, 'm').exec(config);
  if (!m) return 'n';
  return m[1] === undefined ? 'n' : m[1];
}

interface Sized {
  size: number;
  kind: 'void' | 'ptr' | 'int' | 'enum' | 'struct' | 'union' | 'other';
  what: string;
}

/** __get_type_size: modifiers skipped; pointer 8, int/enum/struct/union their size; else unsupported. */
function typeSize(btf: Btf, id: number, ptrSize: number): Sized {
  if (id === 0) return { size: 0, kind: 'void', what: 'void' };
  for (let d = 0; d < 64; d++) {
    const k = btf.kindOf(id);
    switch (k) {
      case Kind.TYPEDEF:
      case Kind.CONST:
      case Kind.VOLATILE:
      case Kind.RESTRICT:
      case Kind.TYPE_TAG:
        id = btf.sizeOrType(id);
        if (id === 0) return { size: 0, kind: 'void', what: 'void' };
        continue;
      case Kind.PTR:
        return { size: ptrSize, kind: 'ptr', what: 'PTR' };
      case Kind.INT:
        return { size: btf.sizeOrType(id), kind: 'int', what: 'INT' };
      case Kind.ENUM:
      case Kind.ENUM64:
        return { size: btf.sizeOrType(id), kind: 'enum', what: k === Kind.ENUM ? 'ENUM' : 'ENUM64' };
      case Kind.STRUCT:
        return { size: btf.sizeOrType(id), kind: 'struct', what: 'STRUCT' };
      case Kind.UNION:
        return { size: btf.sizeOrType(id), kind: 'union', what: 'UNION' };
      default:
        return { size: -1, kind: 'other', what: btf.kindName(id) };
    }
  }
  return { size: -1, kind: 'other', what: 'loop' };
}

export interface ProtoCheck {
  /** The kernel's own refusal (btf_distill_func_proto wording), undefined when accepted. */
  refusal?: string;
  /** x86-64 trampoline slots (a struct by value: one per 8 bytes). */
  slots: number;
}

/** btf_distill_func_proto's verdict on a prototype, and the trampoline slot count. */
/** Release-dependent limits: the x86-64 trampoline took 6 argument registers before 6.6, unions by value came in 6.16, noreturn_deny in 6.10. */
export function releaseRules(release: string | undefined): { trampolineSlots: number; unionArgs: boolean; noreturnDeny: boolean } {
  const m = /(\d+)\.(\d+)/.exec(release ?? '');
  const v = m ? Number(m[1]) * 1000 + Number(m[2]) : 6018;
  return { trampolineSlots: v >= 6006 ? MAX_BPF_FUNC_ARGS : 6, unionArgs: v >= 6016, noreturnDeny: v >= 6010 };
}

/** The release a kernel config was written for (`# Linux/x86 6.1.158 Kernel Configuration`). */
export function configRelease(config: string | undefined): string | undefined {
  return config ? /^# Linux\/\S+ (\d+\.\d+\S*) Kernel Configuration/m.exec(config.slice(0, 4096))?.[1] : undefined;
}

export function checkProto(btf: Btf, name: string, proto: BtfFuncProto, opts: { unionArgs?: boolean } = {}): ProtoCheck {
  const ptr = btf.pointerSize();
  const nargs = proto.params.length + (proto.variadic ? 1 : 0);
  if (nargs > MAX_BPF_FUNC_ARGS) return { refusal: `The function ${name} has ${nargs} arguments. Too many.`, slots: nargs };
  const r = typeSize(btf, proto.returnType, ptr);
  if (r.size < 0 || r.kind === 'struct' || r.kind === 'union') {
    return { refusal: `The function ${name} return type ${r.what} is unsupported.`, slots: 0 };
  }
  if (proto.variadic) return { refusal: `The function ${name} with variable args is unsupported.`, slots: 0 };
  let slots = 0;
  for (let i = 0; i < proto.params.length; i++) {
    const s = typeSize(btf, proto.params[i].type, ptr);
    const unionOk = opts.unionArgs ?? true;
    if (s.size < 0 || s.size > MAX_STRUCT_ARG_SIZE || (s.kind === 'union' && !unionOk)) {
      return { refusal: `The function ${name} arg${i} type ${s.what} is unsupported.`, slots };
    }
    if (s.size === 0) return { refusal: `The function ${name} has malformed void argument.`, slots };
    slots += s.kind === 'struct' || s.kind === 'union' ? Math.ceil(s.size / 8) : 1;
  }
  return { slots };
}

export interface TraceInput {
  name: string;
  btf?: Btf;
  /** Why there is no BTF (unreadable file, turned off). */
  btfProblem?: string;
  index?: SymbolIndex;
  facts?: TraceFacts;
  /** Snippet dialect of the installed bpftrace (`bpftrace --version`), e.g. "0.17.0". */
  bpftraceVersion?: string;
}

function hex(a: bigint): string {
  return `0x${a.toString(16)}`;
}

/** The copies of `name` in kallsyms: exact-name text symbols, the one kallsyms_lookup_name() returns first. */
export function copiesOf(index: SymbolIndex, name: string): { copies: TraceCopy[]; variants: TraceCopy[] } {
  const pick = (ids: number[], exact: boolean): TraceCopy[] => {
    const rows = ids
      .filter((i) => TEXT_TYPES.has(index.info(i).type) && index.info(i).moduleKind !== 'pseudo')
      .map((i) => {
        const s = index.info(i);
        return { address: s.address, module: s.module, type: s.type, name: s.name, byName: false };
      });
    // vmlinux copies by address first (kallsyms_lookup_name), then modules (module_kallsyms_lookup_name)
    rows.sort(
      (a, b) =>
        (a.module ? 1 : 0) - (b.module ? 1 : 0) ||
        (a.module ?? '').localeCompare(b.module ?? '') ||
        (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
    );
    if (exact && rows.length > 0) rows[0].byName = true;
    return rows;
  };
  const copies = pick(index.byNameAll(name), true);
  const variants = pick(
    index.byPrefix(name + '.', 64).filter((i) => /^\.(isra|constprop|part|llvm|lto_priv)\b/.test(index.nameOf(i).slice(name.length))),
    false,
  );
  return { copies, variants };
}

/**
 * The whole answer for one function. Pure: every fact comes in through `input`; a verdict
 * the facts cannot decide is "unknown" with the missing fact named.
 */
export function traceFunction(input: TraceInput): TraceReport {
  const { name, btf, index } = input;
  const facts = input.facts ?? {};
  const reasons: TraceReason[] = [];
  const notes: string[] = [];
  const attach: Record<AttachKind, Verdict> = { fentry: true, fexit: true, fmod_ret: true, kprobe: true, kretprobe: true };
  const deny = (kinds: AttachKind[], v: false | 'unknown', reason: string) => {
    for (const k of kinds) {
      if (attach[k] === false) continue; // the first refusal stands
      if (v === 'unknown' && attach[k] === 'unknown') continue;
      attach[k] = v;
      reasons.push({ attach: k, reason: `${v === false ? 'no' : 'unknown'}: ${reason}` });
    }
  };
  const TRAMP: AttachKind[] = ['fentry', 'fexit', 'fmod_ret'];
  const rules = releaseRules(facts.release ?? configRelease(facts.config));
  const KPROBE: AttachKind[] = ['kprobe', 'kretprobe'];

  // ---- BTF: the FUNC and its prototype ------------------------------------------------------
  let btfId: number | undefined;
  let proto: BtfFuncProto | undefined;
  let kfunc = false;
  let args: TraceArg[] = [];
  let ret: { type: string; decl: string } | undefined;
  let variadic = false;
  if (!btf) {
    deny(
      TRAMP,
      'unknown',
      `no BTF${input.btfProblem ? ` (${input.btfProblem})` : ''}: fentry/fexit/fmod_ret need the function's BTF FUNC (attach_btf_id)`,
    );
  } else {
    const funcs = btf.idsByName(name).filter((id) => btf.kindOf(id) === Kind.FUNC);
    if (funcs.length === 0) {
      const n = index ? copiesOf(index, name).copies.filter((c) => !c.module).length : 0;
      deny(
        TRAMP,
        false,
        `no BTF FUNC named ${name}: there is nothing to give as attach_btf_id` +
          (n > 1 ? ` (the name has ${n} addresses: pahole leaves ambiguous names out of BTF; reach a copy with a kprobe by address)` : ''),
      );
    } else {
      btfId = funcs[0];
      if (funcs.length > 1) notes.push(`BTF has ${funcs.length} FUNCs named ${name}; libbpf and bpftrace take the first ([${btfId}])`);
      kfunc = funcs.some((id) => btf.isKfunc(id));
      const protoId = btf.sizeOrType(btfId);
      const p = btf.kindOf(protoId) === Kind.FUNC_PROTO ? btf.byId(protoId) : undefined;
      if (!p || p.kind !== 'FUNC_PROTO') {
        deny(TRAMP, false, `BTF FUNC [${btfId}] has no FUNC_PROTO`);
      } else {
        proto = p;
        variadic = p.variadic;
        ({ args, ret } = describeArgs(btf, p));
        const check = checkProto(btf, name, p, { unionArgs: rules.unionArgs });
        if (check.refusal) deny(TRAMP, false, `${check.refusal} (btf_distill_func_proto)`);
        else if (check.slots > rules.trampolineSlots) {
          deny(
            TRAMP,
            false,
            `its arguments take ${check.slots} register slots (structs by value count one per 8 bytes); ` +
              `the x86-64 trampoline of this release takes at most ${rules.trampolineSlots} (the program loads, the attach fails with ENOTSUPP)`,
          );
        }
      }
    }
    if (BTF_ID_DENY.has(name))
      deny(TRAMP, false, `${name} is in the verifier's btf_id_deny list (tracing it would recurse into the trampoline)`);
    if (rules.noreturnDeny && NORETURN_DENY.has(name))
      deny(['fexit', 'fmod_ret'], false, `Attaching fexit/fmod_ret to __noreturn function '${name}' is rejected.`);
  }

  // ---- kallsyms: the copies, inlining, text areas ---------------------------------------------
  let copies: TraceCopy[] = [];
  let variants: TraceCopy[] = [];
  if (!index) {
    deny([...TRAMP, ...KPROBE], 'unknown', 'no kallsyms: whether the function has an address (kallsyms_lookup_name) is not known');
  } else {
    ({ copies, variants } = copiesOf(index, name));
    if (copies.length === 0) {
      let why: string;
      if (variants.length > 0) {
        why =
          `kallsyms has no ${name}, only the compiler's specialized ${variants.map((v) => v.name).join(', ')} ` +
          `(their arguments may differ from the BTF prototype); a kprobe can use that exact name`;
      } else {
        const callers = facts.inlineCallers?.(name);
        const into =
          callers && callers.length
            ? `; DWARF inlines it into ${callers.slice(0, 8).join(', ')}${callers.length > 8 ? `, … (${callers.length})` : ''}: trace those`
            : '';
        why =
          btfId !== undefined
            ? `${name} is in BTF but has no kallsyms symbol: it was inlined into every caller (or discarded)` + into
            : callers?.length
              ? `no kallsyms symbol ${name}: it was inlined into every caller` + into
              : `no kallsyms symbol ${name}`;
      }
      deny(TRAMP, false, `The address of function ${name} cannot be found: ${why}`);
      deny(KPROBE, false, why);
    } else {
      const first = copies[0];
      const vmlinuxCopies = copies.filter((c) => !c.module);
      if (copies.length > 1) {
        const others = copies.slice(1);
        notes.push(
          `${copies.length} copies of ${name}: by name the kernel attaches to the first, ${hex(first.address)}${first.module ? ` [${first.module}]` : ''} ` +
            `(kallsyms_lookup_name). ` +
            `Other copies: ${others.map((c) => `${hex(c.address)}${c.module ? ` [${c.module}]` : ''}`).join(', ')}. ` +
            `To reach one: a kprobe by address (libbpf bpf_program__attach_kprobe_opts(prog, NULL, &{.offset = ADDR}), tracefs 'p:myprobe 0xADDR')` +
            `; a copy in a module: fentry with that module's BTF (libbpf SEC("fentry/MODULE:${name}") or attach_btf_obj_fd), ` +
            `which looks the name up in that module only. fentry by name cannot reach another vmlinux copy.`,
        );
      }
      if (first.module && btf && vmlinuxCopies.length === 0 && btfId !== undefined && btf.firstId === 1) {
        notes.push(
          `${name} lives in module ${first.module}: attach with the module's BTF (/sys/kernel/btf/${first.module}), SEC("fentry/${first.module}:${name}")`,
        );
      }
      const areas = kernelAreas(index);
      const nt = first.module ? undefined : inArea(areas.notrace, first.address);
      if (nt) deny(TRAMP, false, `${name} is in ${nt.what}: no __fentry__ site, the trampoline cannot be patched in (EBUSY)`);
      const kb = first.module ? undefined : inArea(areas.kprobeDenied, first.address);
      if (kb) deny(KPROBE, false, `${name} is in ${kb.what}, which the kprobe blacklist covers (within_kprobe_blacklist)`);
    }
  }

  // ---- ftrace: is there a patchable site ----------------------------------------------------
  if (copies.length > 0 && attach.fentry !== false) {
    if (facts.availableFilterFunctions !== undefined) {
      const afs = cachedSet(facts.availableFilterFunctions, 0);
      if (!afs.has(name))
        deny(
          TRAMP,
          false,
          `${name} is not in available_filter_functions: notrace (no __fentry__ site), so no trampoline can be patched in`,
        );
    } else {
      deny(
        TRAMP,
        'unknown',
        `ftrace patchability not checked: ${facts.availableFilterFunctionsProblem ?? 'available_filter_functions was not given'}; ` +
          `the BTF prototype and the address are fine`,
      );
    }
  }

  // ---- fmod_ret: error injection list / security_ / fmodret kfunc sets ----------------------
  if (attach.fmod_ret !== false && btfId !== undefined) {
    const eiSyms = index ? index.byNameAll(`_eil_addr_${name}`).length > 0 : false;
    const eiHaveSyms = index ? index.byPrefix('_eil_addr_', 1).length > 0 : false;
    const eiList = facts.errorInjectionList !== undefined ? cachedSet(facts.errorInjectionList, 0) : undefined;
    const ok = name.startsWith('security_') || facts.fmodretKfuncs?.has(name) || eiSyms || eiList?.has(name);
    if (!ok) {
      if (eiList || eiHaveSyms)
        deny(['fmod_ret'], false, `${name}() is not modifiable: not ALLOW_ERROR_INJECTION, not security_*, not an fmodret kfunc`);
      else {
        deny(
          ['fmod_ret'],
          'unknown',
          `fmod_ret needs ${name} in the error-injection list (ALLOW_ERROR_INJECTION) or a security_ name: ` +
            `${facts.errorInjectionProblem ?? 'the list was not given'} ` +
            `and kallsyms has no _eil_addr_ symbols`,
        );
      }
    }
  }

  // ---- kprobes -----------------------------------------------------------------------------
  const kp = configValue(facts.config, 'CONFIG_KPROBES');
  if (kp === 'n') deny(KPROBE, false, 'this kernel is built without CONFIG_KPROBES');
  if (copies.length > 0 && attach.kprobe !== false) {
    const bl = facts.kprobeBlacklist !== undefined ? cachedSet(facts.kprobeBlacklist, 1) : undefined;
    const kblSym = index ? index.byNameAll(`_kbl_addr_${name}`).length > 0 : false;
    const kblHave = index ? index.byPrefix('_kbl_addr_', 1).length > 0 : false;
    if (kblSym || bl?.has(name)) deny(KPROBE, false, `${name} is in the kprobe blacklist (NOKPROBE_SYMBOL)`);
    else if (!bl && !kblHave) {
      deny(
        KPROBE,
        'unknown',
        `kprobe blacklist not checked: ${facts.kprobeBlacklistProblem ?? 'the blacklist was not given'} ` +
          `and kallsyms has no _kbl_addr_ symbols (needs CONFIG_KALLSYMS_ALL or System.map)`,
      );
    }
    if (kp === undefined && attach.kprobe === true) {
      notes.push('whether the kernel has CONFIG_KPROBES was not checked (no kernel config)');
    }
  }

  let flags: string[] | undefined;
  const sets = facts.kfuncSets?.(name);
  if (sets?.length) {
    // the .BTF_ids kfunc sets are the kernel's own list (6.1 predates the bpf_kfunc decl tags)
    kfunc = true;
    const bits = sets.reduce((a, e) => a | e.flags, 0) >>> 0;
    flags = kfuncFlagNames(bits, facts.release ?? configRelease(facts.config));
    notes.push(
      `kfunc set${sets.length > 1 ? 's' : ''} ${sets.map((e) => e.set).join(', ')} (.BTF_ids); ` +
        'the program types that may call it are registered in code (register_btf_kfunc_id_set), not recorded in the ELF',
    );
  } else if (kfunc) {
    const f = facts.kfuncFlags?.(name);
    flags = f !== undefined ? kfuncFlagNames(f, facts.release ?? configRelease(facts.config)) : undefined;
  }
  const report: TraceReport = {
    name,
    btfId,
    kfunc,
    kfuncFlags: flags,
    kfuncSets: sets?.map((e) => e.set),
    args,
    ret,
    variadic,
    copies,
    variants,
    attach,
    reasons,
    notes,
    snippets: { bpftrace: '', libbpf: '' },
  };
  report.snippets = snippets(report, proto !== undefined, input.bpftraceVersion);
  return report;
}

// ---- arguments and snippets ------------------------------------------------------------------

/** Arguments as `bpftrace -lv` lists them (btf_dump declarations), and the return value. */
export function describeArgs(btf: Btf, p: BtfFuncProto): { args: TraceArg[]; ret?: { type: string; decl: string } } {
  const r = new CRenderer(btf, { layout: false });
  const ptr = btf.pointerSize();
  const args = p.params.map((q, i) => {
    const n = /^[A-Za-z_][A-Za-z0-9_]*$/.test(q.name) ? q.name : `arg${i}`;
    const s = typeSize(btf, q.type, ptr);
    return {
      name: n,
      type: r.typeDecl(q.type, ''),
      decl: r.typeDecl(q.type, n),
      size: s.size,
      byValueAggregate: s.kind === 'struct' || s.kind === 'union',
    };
  });
  const ret = p.returnType === 0 ? undefined : { type: r.typeDecl(p.returnType, ''), decl: r.typeDecl(p.returnType, 'retval') };
  return { args, ret };
}

function versionAtLeast(v: string | undefined, major: number, minor: number): boolean {
  const m = /(\d+)\.(\d+)/.exec(v ?? '');
  if (!m) return true; // unknown: the current syntax
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

function printfFor(a: TraceArg, ref: string): { fmt: string; val: string } | undefined {
  if (a.byValueAggregate) return undefined;
  if (/\*\s*$/.test(a.type)) return { fmt: '%p', val: ref };
  if (/\b(unsigned|u8|u16|u32|u64|size_t|__u\d+|bool|gfp_t|umode_t)\b/.test(a.type)) return { fmt: '%u', val: ref };
  return { fmt: '%d', val: ref };
}

/**
 * bpftrace: `kfunc:` before 0.19 (the `fentry:` alias came later), `args->x` before 0.21
 * (then `args.x`); libbpf: a SEC("fentry/NAME") BPF_PROG skeleton with the BTF prototype.
 */
function snippets(rep: TraceReport, haveProto: boolean, bpftraceVersion: string | undefined): { bpftrace: string; libbpf: string } {
  const name = rep.name;
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name) || !haveProto) return { bpftrace: '', libbpf: '' };
  const probe = versionAtLeast(bpftraceVersion, 0, 19) ? 'fentry' : 'kfunc';
  const dot = versionAtLeast(bpftraceVersion, 0, 21);
  const shown = rep.args.slice(0, 6);
  const parts = shown.map((a) => ({ a, p: printfFor(a, dot ? `args.${a.name}` : `args->${a.name}`) })).filter((x) => x.p);
  const fmt = parts.map((x) => `${x.a.name}=${x.p!.fmt}`).join(' ');
  const vals = parts.map((x) => x.p!.val).join(', ');
  const older =
    bpftraceVersion === undefined
      ? `// bpftrace < 0.21: args->NAME for args.NAME; < 0.19: kfunc:vmlinux:${name} for fentry:vmlinux:${name}\n`
      : '';
  const bpftrace =
    older +
    `${probe}:vmlinux:${name}\n{\n` +
    `\tprintf("${name}(${fmt})\\n"${vals ? `, ${vals}` : ''});\n` +
    `\t@calls[comm] = count();\n}\n`;
  const params = rep.args.map((a) => a.decl).join(', ');
  const sec = rep.copies[0]?.module ? `${rep.copies[0].module}:${name}` : name;
  const ident = name.replace(/[^A-Za-z0-9_]/g, '_');
  const retDecl = rep.ret ? rep.ret.decl.replace(/\bretval$/, 'ret') : '';
  const libbpf =
    `// SPDX-License-Identifier: GPL-2.0\n#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n\n` +
    `char LICENSE[] SEC("license") = "GPL";\n\n` +
    `SEC("fentry/${sec}")\nint BPF_PROG(${ident}_entry${params ? `, ${params}` : ''})\n{\n\treturn 0;\n}\n\n` +
    `SEC("fexit/${sec}")\nint BPF_PROG(${ident}_exit${params ? `, ${params}` : ''}${retDecl ? `, ${retDecl}` : ''})\n{\n\treturn 0;\n}\n`;
  return { bpftrace, libbpf };
}
