/**
 * Which kernel wrote a log: the facts a kernel prints about itself, each with the
 * 1-based line (and columns) it came from, so diagnostics can point at it.
 *
 * Pure, linear in the input, bounded: at most `maxLines` lines are looked at and
 * only the first `maxLineLength` characters of each (a 100 MB log costs one pass of
 * `indexOf` plus a few `includes` per line). Returned strings are raw log text: the
 * caller escapes them for display.
 *
 * Formats (kernel sources):
 * - `Linux version REL (BUILDER) (COMPILER) VERSION` — init/version.c linux_banner;
 * - `CPU: N [UID: U] PID: P Comm: C [Kdump: loaded ]Not tainted|Tainted: FLAGS REL VER[ BUILDID]`
 *   — lib/dump_stack.c dump_stack_print_info (VER is utsname()->version up to its
 *   first space; distributions append their package version, Debian: `#1 Debian 6.1.192-2`;
 *   BUILDID is `%20phN`, 40 hex digits, with CONFIG_STACKTRACE_BUILD_ID);
 * - older forms: `Pid: P, comm: C Not tainted REL VER` (before 3.10), lockdep's
 *   `REL VER Not tainted` (print_kernel_ident), powerpc `REGS: … Not tainted  (REL)`,
 *   arm `CPU: 0    Not tainted  (REL VER)`;
 * - `Tainted: [W]=WARN, …` (6.12+ print_tainted_verbose), `Hardware name: …`;
 * - `func+0x1/0x2 [mod BUILDID]` module frames (CONFIG_STACKTRACE_BUILD_ID);
 * - `Kernel Offset: 0xX from 0xB` / `Kernel Offset: disabled` (x86 and arm64 panic notifiers).
 */
import { archFromRelease, type Arch } from './arch';

export type { Arch } from './arch';

/** A fact and where it was printed: `line` is 1-based, columns are UTF-16 offsets in that line. */
export interface Fact<T> {
  readonly value: T;
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

export interface ArchFact extends Fact<Arch> {
  /** What gave it away, e.g. `register dump (RAX:)`. */
  readonly evidence: string;
  /** Word size of the addresses in the register dump/frames, when known. */
  readonly bits?: 32 | 64;
}

export interface KaslrFact {
  /** The offset printed (0 when `disabled`). */
  readonly offset: bigint;
  /** The `from` address (link-time base) when printed. */
  readonly from?: bigint;
  readonly disabled: boolean;
}

export interface TaintFact {
  /** The taint flags as printed (`G        W`), '' for `Not tainted`. */
  readonly flags: string;
  readonly tainted: boolean;
}

export interface LogIdentity {
  /** `uname -r` of the kernel that wrote the log. */
  readonly release?: Fact<string>;
  /**
   * Its build string: the whole `uname -v` from a `Linux version` line
   * (`#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-08-15)`), else what a `CPU:` line
   * shows (`#1 Debian 6.1.192-2`, upstream only `#1`).
   */
  readonly version?: Fact<string>;
  /** Whether `version` is the full uname -v (from a banner) or the truncated `CPU:` form. */
  readonly versionIsFull: boolean;
  /** The `Linux version …` line (the whole banner text). */
  readonly banner?: Fact<string>;
  readonly taint?: Fact<TaintFact>;
  /** `Tainted: [W]=WARN, [O]=OOT_MODULE` (6.12+). */
  readonly taintVerbose?: Fact<string>;
  readonly hardware?: Fact<string>;
  /** The vmlinux build id (lower-case hex) from the `CPU:` line. */
  readonly buildId?: Fact<string>;
  /** Module name (as printed) → its build id, first occurrence. */
  readonly moduleBuildIds: ReadonlyMap<string, Fact<string>>;
  readonly arch?: ArchFact;
  readonly kaslr?: Fact<KaslrFact>;
  /** Facts that disagree inside the log (two kernels in one file, a module with two build ids). */
  readonly conflicts: string[];
  /** Lines looked at; `truncated` when the cap stopped the scan before the end. */
  readonly linesScanned: number;
  readonly truncated: boolean;
}

export interface IdentifyOptions {
  /** Lines looked at, at most (default 2,000,000). */
  maxLines?: number;
  /** Characters of each line looked at (default 4096). */
  maxLineLength?: number;
  /** Module build ids kept, at most (default 4096). */
  maxModules?: number;
}

const MAX_FIELD = 512;

// --- line patterns ----------------------------------------------------------------

/** `Linux version REL …` (banner; /proc/version has the same text). */
const BANNER = /Linux version (\S{1,200})/;
/**
 * dump_stack_print_info: `Comm: C [Kdump: loaded ](Not tainted|Tainted: FLAGS) REL VER[ BUILDID]`.
 * `Comm:` and not `CPU:` anchors it: a wrapped line (`CPU: 1 PID: 1\n88243 Comm: …`) keeps the tail.
 * FLAGS are taint letters, spaces and RHEL's dashes; REL starts with a digit.
 */
const COMM =
  /\bComm: .{1,20}? (?:Kdump: loaded )?(Not tainted|Tainted: ([A-Za-z -]{0,40}?))\s+(\d+\.\d+[^\s()]*)(?: (#[^\r\n]*?))?(?: ([0-9a-f]{40}))?\s*$/;
/** Before 3.10: `Pid: 2484, comm: NAME Not tainted 3.4.0-rc5+ #34`. */
const PID_COMM = /\bPid: \d+, comm: .{1,20}? (Not tainted|Tainted: ([A-Za-z -]{0,40}?))\s+(\d+\.\d+[^\s()]*)(?: (#[^\r\n]*?))?\s*$/;
/** lockdep print_kernel_ident: `3.4.0-rc5+ #34 Not tainted` / `… Tainted: G W`. */
const IDENT = /^\s*(\d+\.\d+[^\s()]*) (#\S*)(?: [^\r\n]*?)? (Not tainted|Tainted: ([A-Za-z -]{0,40}?))\s*$/;
/** powerpc `REGS: … Not tainted  (5.4.0-rc2)`, arm `CPU: 0    Not tainted  (3.2.0 #1)`. */
const PAREN = /(Not tainted|Tainted: ([A-Za-z -]{0,40}?))\s+\((\d+\.\d+[^\s()]*)(?: (#[^()\r\n]*))?\)/;
const TAINT_VERBOSE = /\bTainted: (\[[A-Z]\]=[A-Z_]+(?:, \[[A-Z]\]=[A-Z_]+)*)/;
const HARDWARE = /\bHardware name: ([^\r\n]+?)\s*$/;
const KASLR = /\bKernel Offset: (?:0x([0-9a-fA-F]{1,16}) from 0x([0-9a-fA-F]{1,16})|(disabled))/;
/** `[mod BUILDID]` after a frame; the kernel prints %20phN: 40 hex digits. */
const MOD_BUILDID = /\+0x[0-9a-fA-F]+(?:\/0x[0-9a-fA-F]+)? \[([\w-]{1,64}) ([0-9a-f]{40})\]/g;

// --- architecture evidence ----------------------------------------------------------

interface ArchRule {
  arch: Arch;
  re: RegExp;
  evidence: string;
  /** Strength: register dumps 3, frame syntax 2. */
  weight: number;
  bits?: 32 | 64;
  /** Cheap substring that must be present before the regexp runs. */
  key: string;
}

const ARCH_RULES: ArchRule[] = [
  { arch: 'x86_64', key: 'RAX: ', re: /\bRAX: [0-9a-f]{16}\b/, evidence: 'register dump (RAX:)', weight: 3, bits: 64 },
  {
    arch: 'x86_64',
    key: 'RIP: ',
    re: /\bRIP: [0-9a-f]{4}:(?:\[<)?(?:[0-9a-f]{16}|0x[0-9a-f]+|[A-Za-z_.])/,
    evidence: 'instruction pointer (RIP:)',
    weight: 3,
    bits: 64,
  },
  { arch: 'x86', key: 'EAX: ', re: /\bEAX: [0-9a-f]{8}\b/, evidence: 'register dump (EAX:)', weight: 3, bits: 32 },
  {
    arch: 'x86',
    key: 'EIP: ',
    re: /\bEIP: (?:[0-9a-f]{4}:)?(?:\[<[0-9a-f]{8}>\]|[A-Za-z_.])/,
    evidence: 'instruction pointer (EIP:)',
    weight: 3,
    bits: 32,
  },
  { arch: 'arm64', key: 'x29', re: /\bx29: [0-9a-f]{16}\b/, evidence: 'register dump (x29:)', weight: 3, bits: 64 },
  { arch: 'arm64', key: 'pstate: ', re: /\bpstate: [0-9a-f]{8} \(/, evidence: 'processor state (pstate:)', weight: 3, bits: 64 },
  {
    arch: 'arm32',
    key: 'psr: ',
    re: /\bpc : \[<[0-9a-f]{8}>\]\s+lr : \[<[0-9a-f]{8}>\]\s+psr: [0-9a-f]{8}/,
    evidence: 'register dump (pc/lr/psr)',
    weight: 3,
    bits: 32,
  },
  { arch: 'arm32', key: 'r10: ', re: /\br10: [0-9a-f]{8}\s+r9 : [0-9a-f]{8}/, evidence: 'register dump (r10:/r9 :)', weight: 3, bits: 32 },
  {
    arch: 'arm32',
    key: ') from [<',
    re: /\[<[0-9a-f]{8}>\] \([.\w$]+\) from \[<[0-9a-f]{8}>\]/,
    evidence: 'backtrace syntax ((func) from [<addr>])',
    weight: 2,
    bits: 32,
  },
  {
    arch: 'riscv',
    key: 'epc : ',
    re: /\bepc : [0-9a-f]{8,16} ra : [0-9a-f]{8,16} sp : /,
    evidence: 'register dump (epc/ra/sp)',
    weight: 3,
  },
  {
    arch: 'riscv',
    key: 'badaddr: ',
    re: /\bstatus: [0-9a-f]{8,16} badaddr: [0-9a-f]{8,16} cause: /,
    evidence: 'trap registers (status/badaddr/cause)',
    weight: 3,
  },
  { arch: 'ppc64', key: 'GPR', re: /^(?:\[[^\]]*\]\s*)?GPR00: [0-9a-f]{16}\b/, evidence: 'register dump (GPR00:)', weight: 3, bits: 64 },
  { arch: 'ppc', key: 'GPR', re: /^(?:\[[^\]]*\]\s*)?GPR00: [0-9a-f]{8} /, evidence: 'register dump (GPR00:)', weight: 3, bits: 32 },
  {
    arch: 'ppc64',
    key: 'NIP',
    re: /\bNIP:\s+[0-9a-f]{16} LR: [0-9a-f]{16}/,
    evidence: 'instruction pointer (NIP:/LR:)',
    weight: 3,
    bits: 64,
  },
  {
    arch: 'ppc',
    key: 'NIP',
    re: /\bNIP:\s+[0-9a-f]{8} LR: [0-9a-f]{8}\b/,
    evidence: 'instruction pointer (NIP:/LR:)',
    weight: 3,
    bits: 32,
  },
  { arch: 's390', key: 'Krnl ', re: /\bKrnl (?:PSW :|GPRS:|Code:)/, evidence: 'register dump (Krnl PSW/GPRS)', weight: 3, bits: 64 },
  // Frames through an architecture's own entry code (weak: names only).
  {
    arch: 'x86_64',
    key: '+0x',
    re: /(?<![\w.])(?:entry_SYSCALL_64\w*|__x64_sys_\w+|system_call_fastpath|asm_exc_\w+|asm_sysvec_\w+)\+0x/,
    evidence: 'x86_64 entry code in a frame',
    weight: 1,
  },
  {
    arch: 'arm64',
    key: '+0x',
    re: /(?<![\w.])(?:el0t_64_\w+|el1h_64_\w+|el0_svc\w*|__arm64_sys_\w+|do_el0_svc)\+0x/,
    evidence: 'arm64 entry code in a frame',
    weight: 1,
  },
  {
    arch: 'riscv',
    key: '+0x',
    re: /(?<![\w.])(?:__riscv_sys_\w+|ret_from_exception|do_trap_\w+)\+0x/,
    evidence: 'riscv entry code in a frame',
    weight: 1,
  },
  {
    arch: 's390',
    key: '+0x',
    re: /(?<![\w.])(?:__s390x_sys_\w+|sysc_\w+|__do_syscall)\+0x/,
    evidence: 's390 entry code in a frame',
    weight: 1,
  },
];

const STRONG_RULES = ARCH_RULES.filter((r) => r.weight >= 2);
const WEAK_RULES = ARCH_RULES.filter((r) => r.weight < 2);
/**
 * Lines looked at: those with one of these (each a native search over the text). One key
 * per architecture's register dump suffices: RIP:/EIP: (x86), pstate: (arm64), psr: and
 * `) from [<` (arm32), epc : (riscv), NIP (powerpc), Krnl (s390); the other rules then
 * apply to those lines.
 */
const MAIN_KEYS: readonly string[] = [
  'Linux version ',
  'ainted',
  'Hardware name: ',
  'Kernel Offset: ',
  'RIP: ',
  'EIP: ',
  'pstate: ',
  'psr: ',
  ') from [<',
  'epc : ',
  'NIP',
  'Krnl ',
];

function archOfFrameLine(line: string): { arch: Arch; evidence: string; bits?: 32 | 64 } | undefined {
  // riscv/x86 `[<16 hex>] f+0x` frames are shared by several architectures: weak, not used.
  if (line.includes('] [') && /\[[0-9a-f]{16}\] \[[0-9a-f]{16}\] \.?[A-Za-z_]/.test(line))
    return { arch: 'ppc64', evidence: 'stack frame syntax ([sp] [ip] func)', bits: 64 };
  return undefined;
}

interface ArchVote {
  arch: Arch;
  weight: number;
  line: number;
  start: number;
  end: number;
  evidence: string;
  bits?: 32 | 64;
}

/** Lower-case hex digit (the kernel prints build ids with %phN: lower case). */
function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

function fact<T>(value: T, line: number, start: number, end: number): Fact<T> {
  return { value, line, start, end };
}

function clip(s: string): string {
  return s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) : s;
}

/** Recognise the kernel that wrote `text` (a whole log). Never throws. */
export function identifyLog(text: string, opts: IdentifyOptions = {}): LogIdentity {
  const maxLines = opts.maxLines ?? 2_000_000;
  const maxLen = opts.maxLineLength ?? 4096;
  const maxModules = opts.maxModules ?? 4096;

  let release: Fact<string> | undefined;
  let version: Fact<string> | undefined;
  let versionIsFull = false;
  let banner: Fact<string> | undefined;
  let taint: Fact<TaintFact> | undefined;
  let taintVerbose: Fact<string> | undefined;
  let hardware: Fact<string> | undefined;
  let buildId: Fact<string> | undefined;
  let kaslr: Fact<KaslrFact> | undefined;
  const moduleBuildIds = new Map<string, Fact<string>>();
  const conflicts: string[] = [];
  const conflictSeen = new Set<string>();
  const conflict = (key: string, msg: string) => {
    if (conflictSeen.has(key) || conflicts.length >= 32) return;
    conflictSeen.add(key);
    conflicts.push(msg);
  };
  const archVotes = new Map<Arch, ArchVote>();
  const vote = (v: ArchVote) => {
    const old = archVotes.get(v.arch);
    if (!old || v.weight > old.weight) archVotes.set(v.arch, v);
  };

  /** A release (and build string) seen at `lineNo`; `full` when it is a banner's whole uname -v. */
  const seeRelease = (rel: string, rs: number, ver: string | undefined, vs: number, lineNo: number, full: boolean) => {
    rel = clip(rel);
    if (!release) release = fact(rel, lineNo, rs, rs + rel.length);
    else if (release.value !== rel)
      conflict(
        `rel:${rel}`,
        `line ${lineNo} names kernel ${rel}, line ${release.line} names ${release.value}: the log holds more than one kernel`,
      );
    if (ver === undefined || ver === '') return;
    ver = clip(ver.trimEnd());
    if (release.value !== rel) return;
    if (!version || (full && !versionIsFull)) {
      if (version && !versionsCompatible(version.value, ver))
        conflict(`ver:${ver}`, `line ${lineNo} has build ${ver}, line ${version.line} has ${version.value}`);
      version = fact(ver, lineNo, vs, vs + ver.length);
      versionIsFull = full;
    } else if (!versionsCompatible(version.value, ver) && !versionsCompatible(ver, version.value)) {
      conflict(
        `ver:${ver}`,
        `line ${lineNo} has build ${ver} of ${rel}, line ${version.line} has ${version.value}: two builds of the same release`,
      );
    }
  };
  const seeTaint = (flagsRaw: string | undefined, tainted: boolean, lineNo: number, s: number, e: number) => {
    if (taint) return;
    taint = fact({ flags: (flagsRaw ?? '').trimEnd(), tainted }, lineNo, s, e);
  };

  /** A "CPU: … Comm: …" (or "pid: … comm: …") line's release, build and taint: m[1] the taint word, m[2] its flags, m[3] the release, m[4] the build. */
  const seeComm = (line: string, m: RegExpExecArray, lineNo: number) => {
    const rs = line.indexOf(m[3], m.index + m[0].indexOf(m[1]) + m[1].length);
    const vs = m[4] !== undefined ? line.indexOf(m[4], rs + m[3].length) : rs;
    seeRelease(m[3], rs, m[4], vs, lineNo, false);
    const ts = m.index + m[0].indexOf(m[1]);
    seeTaint(m[2], m[1] !== 'Not tainted', lineNo, ts, ts + m[1].length);
  };

  /** A vote for the rule's architecture where its pattern matches the line. */
  const voteRule = (r: (typeof ARCH_RULES)[number], line: string, lineNo: number) => {
    const m = r.re.exec(line);
    if (m)
      vote({
        arch: r.arch,
        weight: r.weight,
        line: lineNo,
        start: m.index,
        end: m.index + m[0].length,
        evidence: r.evidence,
        bits: r.bits,
      });
  };

  const processLine = (line: string, lineNo: number, weak: boolean): void => {
    if (weak) {
      for (const r of WEAK_RULES) if (line.includes(r.key) && !archVotes.has(r.arch)) voteRule(r, line, lineNo);
      if (!archVotes.has('ppc64')) {
        const f = archOfFrameLine(line);
        if (f) vote({ arch: f.arch, weight: 2, line: lineNo, start: 0, end: line.length, evidence: f.evidence, bits: f.bits });
      }
      return;
    }
    if (line.includes('Linux version ')) {
      const m = BANNER.exec(line);
      if (m && /^\d/.test(m[1])) {
        const at = m.index;
        const b = parseBanner(line.slice(at));
        if (b) {
          const bs = clip(line.slice(at).trimEnd());
          if (!banner) banner = fact(bs, lineNo, at, at + bs.length);
          const rs = at + 'Linux version '.length;
          const vs = b.version ? at + line.slice(at).indexOf(b.version, b.versionAt) : rs;
          seeRelease(b.release, rs, b.version, vs, lineNo, true);
        }
      }
    }
    if (line.includes('ainted')) {
      let m: RegExpExecArray | null;
      if (line.includes('Comm: ') && (m = COMM.exec(line))) {
        seeComm(line, m, lineNo);
        if (m[5]) {
          const s = line.lastIndexOf(m[5]);
          if (!buildId) buildId = fact(m[5], lineNo, s, s + 40);
          else if (buildId.value !== m[5])
            conflict(`bid:${m[5]}`, `line ${lineNo} has vmlinux build id ${m[5]}, line ${buildId.line} has ${buildId.value}`);
        }
      } else if (line.includes('comm: ') && (m = PID_COMM.exec(line))) {
        seeComm(line, m, lineNo);
      } else if ((m = PAREN.exec(line))) {
        const rs = line.indexOf(m[3], m.index + m[1].length);
        const vs = m[4] !== undefined ? line.indexOf(m[4], rs) : rs;
        seeRelease(m[3], rs, m[4], vs, lineNo, false);
        seeTaint(m[2], m[1] !== 'Not tainted', lineNo, m.index, m.index + m[1].length);
      } else if ((m = TAINT_VERBOSE.exec(line))) {
        if (!taintVerbose) taintVerbose = fact(clip(m[1]), lineNo, m.index + 9, m.index + 9 + Math.min(m[1].length, MAX_FIELD));
      } else if (/^\s*\d/.test(stripPrefix(line)) && (m = IDENT.exec(stripPrefix(line)))) {
        const off = line.length - stripPrefix(line).length;
        const rs = off + m.index + m[0].indexOf(m[1]);
        seeRelease(m[1], rs, m[2], rs + m[1].length + 1, lineNo, false);
        const ts = off + m.index + m[0].lastIndexOf(m[3]);
        seeTaint(m[4], m[3] !== 'Not tainted', lineNo, ts, ts + m[3].length);
      }
    }
    if (!hardware && line.includes('Hardware name: ')) {
      const m = HARDWARE.exec(line);
      if (m) {
        const s = m.index + 'Hardware name: '.length;
        const v = clip(m[1]);
        hardware = fact(v, lineNo, s, s + v.length);
      }
    }
    if (line.includes('Kernel Offset: ')) {
      const m = KASLR.exec(line);
      if (m) {
        const k: KaslrFact = m[3]
          ? { offset: 0n, disabled: true }
          : { offset: BigInt('0x' + m[1]), from: BigInt('0x' + m[2]), disabled: false };
        if (!kaslr) kaslr = fact(k, lineNo, m.index, m.index + m[0].length);
        else if (kaslr.value.offset !== k.offset)
          conflict(
            `kaslr:${k.offset}`,
            `line ${lineNo} has another Kernel Offset than line ${kaslr.line}: the log holds more than one boot`,
          );
      }
    }
    if (line.includes('] ') || line.includes(']\t') || line.endsWith(']')) {
      if (/ [0-9a-f]{40}\]/.test(line)) {
        MOD_BUILDID.lastIndex = 0;
        for (let m = MOD_BUILDID.exec(line); m; m = MOD_BUILDID.exec(line)) {
          const name = m[1];
          const id = m[2];
          const old = moduleBuildIds.get(name);
          const s = m.index + m[0].length - 41;
          if (!old) {
            if (moduleBuildIds.size < maxModules) moduleBuildIds.set(name, fact(id, lineNo, s, s + 40));
          } else if (old.value !== id) {
            conflict(
              `mod:${name}:${id}`,
              `module ${name} has build id ${id} on line ${lineNo} and ${old.value} on line ${old.line}: two builds of the module in one log`,
            );
          }
        }
      }
    }
    for (const r of STRONG_RULES) {
      if (!line.includes(r.key)) continue;
      const old = archVotes.get(r.arch);
      if (old && old.weight >= r.weight) continue;
      voteRule(r, line, lineNo);
    }
  };

  // Only lines holding one of the keys are looked at: the keys are found with native
  // string searches over the text, the lines numbered by counting newlines once.
  const n = text.length;
  let limit = 0;
  let totalLines = 0;
  while (limit < n && totalLines < maxLines) {
    const nl = text.indexOf('\n', limit);
    totalLines++;
    limit = nl < 0 ? n : nl + 1;
  }
  const truncated = limit < n;
  const visit = (keys: readonly string[], buildIds: boolean, weak: boolean, maxVisits: number) => {
    const starts = new Set<number>();
    const add = (i: number) => {
      const st = text.lastIndexOf('\n', i) + 1;
      starts.add(st);
      const e = text.indexOf('\n', i);
      return e < 0 ? n : e;
    };
    for (const key of keys) {
      for (let i = text.indexOf(key); i >= 0 && i < limit && starts.size < maxVisits * 4; i = text.indexOf(key, add(i))) {
        /* add() moved past the line */
      }
    }
    if (buildIds) {
      // ` <40 hex>]`: every `]` (a native search), then a look at the 41 characters before it.
      for (let i = text.indexOf(']', 41); i >= 0 && i < limit && starts.size < maxVisits * 4; i = text.indexOf(']', i + 1)) {
        if (text.charCodeAt(i - 41) !== 0x20 || !isHex(text.charCodeAt(i - 1)) || !isHex(text.charCodeAt(i - 40))) continue;
        let k = i - 2;
        while (k > i - 40 && isHex(text.charCodeAt(k))) k--;
        if (k === i - 40) i = add(i);
      }
    }
    const sorted = [...starts].sort((a, b) => a - b);
    let at = 0;
    let lineNo = 1;
    let visits = 0;
    for (const st of sorted) {
      for (let k = text.indexOf('\n', at); k >= 0 && k < st; k = text.indexOf('\n', k + 1)) lineNo++;
      at = st;
      if (++visits > maxVisits) break;
      const nl = text.indexOf('\n', st);
      let line = text.slice(st, Math.min(nl < 0 ? n : nl, st + maxLen, limit));
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.length >= 8) processLine(line, lineNo, weak);
    }
  };
  visit(MAIN_KEYS, true, false, 200_000);
  // Weak evidence (entry code in frames, ppc frame syntax) only when nothing stronger was printed.
  if (archVotes.size === 0) visit(['+0x', '] ['], false, true, 20_000);
  const lineNo = totalLines;

  // Architecture: the strongest evidence; x86_64 RIP with 8-digit values etc. are ruled out by the patterns.
  let arch: ArchFact | undefined;
  const votes = [...archVotes.values()].sort((a, b) => b.weight - a.weight || a.line - b.line);
  if (votes.length > 0) {
    const v = votes[0];
    arch = { value: v.arch, line: v.line, start: v.start, end: v.end, evidence: v.evidence, bits: v.bits };
    for (const o of votes.slice(1)) {
      if (o.weight === v.weight)
        conflict(`arch:${o.arch}`, `line ${o.line} looks like ${o.arch} (${o.evidence}), line ${v.line} like ${v.arch} (${v.evidence})`);
    }
  }
  if (release) {
    const ra = archFromRelease(release.value);
    if (ra && !arch)
      arch = { value: ra, line: release.line, start: release.start, end: release.end, evidence: `release name (${release.value})` };
    else if (ra && arch && ra !== arch.value)
      conflict(`relarch:${ra}`, `the release ${release.value} names ${ra}, the ${arch.evidence} on line ${arch.line} is ${arch.value}`);
  }
  return {
    release,
    version,
    versionIsFull,
    banner,
    taint,
    taintVerbose,
    hardware,
    buildId,
    moduleBuildIds,
    arch,
    kaslr,
    conflicts,
    linesScanned: lineNo,
    truncated,
  };
}

/** Drop a `[ 12.345678]` / `[  12.3][T123]` / `<4>` / syslog prefix. */
function stripPrefix(line: string): string {
  return line.replace(/^(?:<\d>)?(?:\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s?)?/, '');
}

// --- banner text --------------------------------------------------------------------

export interface Banner {
  release: string;
  /** `uname -v`, e.g. `#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-08-15)`; '' when absent. */
  version: string;
  /** `debian-kernel@lists.debian.org` (LINUX_COMPILE_BY@HOST), when present. */
  builder?: string;
  /** The compiler part `gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld …`, when present. */
  compiler?: string;
  /** Offset of `version` inside the parsed text. */
  versionAt: number;
}

/**
 * Parse `Linux version REL (BUILDER) (COMPILER) VERSION` (the linux_banner string,
 * /proc/version, a log's first line). The parenthesised groups nest
 * (`(gcc (Debian 12.2.0-14) 12.2.0, …)`); VERSION is what follows them. Returns
 * undefined when `text` does not start with `Linux version ` followed by a release.
 */
export function parseBanner(text: string): Banner | undefined {
  const p = 'Linux version ';
  if (!text.startsWith(p)) return undefined;
  const s = text.length > 1024 ? text.slice(0, 1024) : text;
  let i = p.length;
  const relEnd = (() => {
    let j = i;
    while (j < s.length && s[j] !== ' ' && s[j] !== '\n' && s[j] !== '\0' && s[j] !== '\t') j++;
    return j;
  })();
  const release = s.slice(i, relEnd);
  if (!/^\d/.test(release) || release.length > 200) return undefined;
  i = relEnd;
  const groups: string[] = [];
  for (;;) {
    while (s[i] === ' ') i++;
    if (s[i] !== '(') break;
    let depth = 0;
    let j = i;
    for (; j < s.length && s[j] !== '\n' && s[j] !== '\0'; j++) {
      if (s[j] === '(') depth++;
      else if (s[j] === ')' && --depth === 0) break;
    }
    if (depth !== 0 || j >= s.length || s[j] !== ')') break; // unbalanced: stop here
    groups.push(s.slice(i + 1, j));
    i = j + 1;
  }
  let e = i;
  while (e < s.length && s[e] !== '\n' && s[e] !== '\0' && s[e] !== '\r') e++;
  const version = s.slice(i, e).trimEnd();
  return { release, version: version.startsWith('#') ? version : version, builder: groups[0], compiler: groups[1], versionAt: i };
}

/**
 * Whether a log's build string `fromLog` can belong to a kernel whose `uname -v` is
 * `full`. The `CPU:` line prints uname -v up to its first space (`#1`) plus whatever a
 * distribution appends (Debian: ` Debian 6.1.192-2`), so: same first word, and the
 * rest, when any, must appear in `full`. Whitespace runs compare equal.
 */
export function versionsCompatible(fromLog: string, full: string): boolean {
  const a = fromLog.trim().replace(/\s+/g, ' ');
  const b = full.trim().replace(/\s+/g, ' ');
  if (a === b) return true;
  if (a === '' || b === '') return true;
  const sp = a.indexOf(' ');
  const first = sp < 0 ? a : a.slice(0, sp);
  const bsp = b.indexOf(' ');
  const bfirst = bsp < 0 ? b : b.slice(0, bsp);
  // A bare `#` (measured: Debian's 6.1 -dbg vmlinux banner reads `# SMP PREEMPT_DYNAMIC
  // Debian 6.1.192-3 (…)`, the build number missing) matches any `#N`.
  if (first !== bfirst && first !== '#' && bfirst !== '#') return false;
  if (sp < 0) return true;
  return b.includes(a.slice(sp + 1));
}
