/**
 * Checks the TextMate grammars in syntaxes/.
 *
 * vscode-textmate / vscode-oniguruma are not dependencies of this project, so the
 * grammars are run by a small TextMate interpreter written here on top of JS RegExp
 * (match, begin/end, captures, contentName, include of #repository / $self). The
 * grammars deliberately use only the common subset of Oniguruma and JS syntax
 * (fixed-length look-behind, no \G \A \z, no atomic groups, no inline flags);
 * the first tests enforce that, so what runs here is what VS Code runs.
 *
 * Corpus tests read the real logs in ../shared/corpus/oops (relative to the project
 * root) and skip with a message when that folder is absent.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const CORPUS = process.env.KSYM_CORPUS ?? resolve(ROOT, '../shared/corpus');
const OOPS_DIR = join(CORPUS, 'oops');
const SYSTEM_MAP = join(CORPUS, 'debian-6.1.0-56-amd64', 'System.map-6.1.0-56-amd64');

// ---------------------------------------------------------------------------
// A minimal TextMate interpreter

interface Capture {
  name?: string;
}
interface RawRule {
  name?: string;
  contentName?: string;
  match?: string;
  begin?: string;
  end?: string;
  while?: string;
  captures?: Record<string, Capture>;
  beginCaptures?: Record<string, Capture>;
  endCaptures?: Record<string, Capture>;
  patterns?: RawRule[];
  include?: string;
  repository?: Record<string, RawRule>;
  applyEndPatternLast?: boolean | number;
  comment?: string;
}
interface RawGrammar extends RawRule {
  scopeName: string;
  patterns: RawRule[];
  repository?: Record<string, RawRule>;
}

/** Oniguruma constructs that have no JS equivalent; the grammars must not use them. */
const UNPORTABLE: [RegExp, string][] = [
  [/\\[GAzZ]/, '\\G, \\A, \\z or \\Z anchor'],
  [/\(\?>/, 'atomic group (?>'],
  [/\(\?[imx-]+[:)]/, 'inline flag group'],
  [/[*+?}]\+/, 'possessive quantifier'],
  [/\\[hH]/, '\\h hex-digit class'],
  [/\[\[:/, 'POSIX bracket [[:...:]]'],
  [/\\p\{/, '\\p{...} property (needs the u flag)'],
];

function unportable(src: string): string[] {
  // Ignore escaped backslashes so "\\\\G" (a literal backslash then G) is not reported.
  const cleaned = src.replace(/\\\\/g, '');
  return UNPORTABLE.filter(([re]) => re.test(cleaned)).map(([, what]) => what);
}

const regexCache = new Map<string, RegExp>();
function compile(src: string): RegExp {
  let re = regexCache.get(src);
  if (!re) {
    re = new RegExp(src, 'dg');
    regexCache.set(src, re);
  }
  return re;
}

function groupCount(src: string): number {
  const m = new RegExp(`${src}|`).exec('');
  return m ? m.length - 1 : 0;
}

/** Every regex source in a grammar with a path for messages. */
function allRegexes(g: RawGrammar): { where: string; key: string; src: string; rule: RawRule }[] {
  const out: { where: string; key: string; src: string; rule: RawRule }[] = [];
  const visit = (rule: RawRule, where: string): void => {
    for (const key of ['match', 'begin', 'end', 'while'] as const) {
      const src = rule[key];
      if (typeof src === 'string') out.push({ where, key, src, rule });
    }
    rule.patterns?.forEach((p, i) => visit(p, `${where}.patterns[${i}]`));
    for (const [name, r] of Object.entries(rule.repository ?? {})) visit(r, `${where}.repository.${name}`);
  };
  visit(g, g.scopeName);
  return out;
}

type Candidate = { kind: 'rule'; rule: RawRule } | { kind: 'end' };

class Tokenizer {
  private readonly flat = new Map<RawRule[], RawRule[]>();

  constructor(readonly grammar: RawGrammar) {}

  private resolveInclude(inc: string): RawRule {
    if (inc === '$self' || inc === '$base') return this.grammar;
    if (inc.startsWith('#')) {
      const r = this.grammar.repository?.[inc.slice(1)];
      if (!r) throw new Error(`unresolved include ${inc}`);
      return r;
    }
    throw new Error(`external include ${inc} is not supported`);
  }

  /** Flattens includes and pattern-only containers into match/begin rules, in order. */
  private flatten(patterns: RawRule[]): RawRule[] {
    let out = this.flat.get(patterns);
    if (out) return out;
    out = [];
    const seen = new Set<RawRule>();
    const walk = (ps: RawRule[]): void => {
      for (const p of ps) {
        const r = p.include ? this.resolveInclude(p.include) : p;
        if (r.match !== undefined || r.begin !== undefined) {
          out!.push(r);
        } else if (r.patterns && !seen.has(r)) {
          seen.add(r);
          walk(r.patterns);
        }
      }
    };
    walk(patterns);
    this.flat.set(patterns, out);
    return out;
  }

  /** Scopes of every character of every line (grammar scopeName first). */
  tokenize(text: string): string[][][] {
    const stack: { rule: RawRule; scopes: string[]; content: string[] }[] = [];
    const base = [this.grammar.scopeName];
    return text.split(/\r?\n/).map((line) => this.tokenizeLine(line, stack, base));
  }

  private tokenizeLine(line: string, stack: { rule: RawRule; scopes: string[]; content: string[] }[], base: string[]): string[][] {
    const chars: string[][] = Array.from({ length: line.length }, () => []);
    const paint = (from: number, to: number, scopes: string[]): void => {
      for (let i = from; i < to; i++) chars[i] = [...scopes];
    };
    const paintCaptures = (m: RegExpExecArray, caps: Record<string, Capture> | undefined): void => {
      if (!caps || !m.indices) return;
      const keys = Object.keys(caps)
        .map(Number)
        .sort((a, b) => a - b);
      for (const k of keys) {
        const name = caps[k]?.name;
        const span = m.indices[k];
        if (!name || !span) continue;
        for (let i = span[0]; i < span[1]; i++) chars[i]!.push(...name.split(' '));
      }
    };
    let pos = 0;
    let lastPushPos = -1;
    for (let guard = 0; guard < 10_000; guard++) {
      const top = stack[stack.length - 1];
      const scopes = top ? top.content : base;
      const patterns = this.flatten(top ? (top.rule.patterns ?? []) : this.grammar.patterns);
      const candidates: Candidate[] = [];
      const endFirst = top && !top.rule.applyEndPatternLast;
      if (top && endFirst) candidates.push({ kind: 'end' });
      for (const rule of patterns) candidates.push({ kind: 'rule', rule });
      if (top && !endFirst) candidates.push({ kind: 'end' });

      let best: { c: Candidate; m: RegExpExecArray } | undefined;
      for (const c of candidates) {
        const src = c.kind === 'end' ? top!.rule.end! : (c.rule.match ?? c.rule.begin!);
        const re = compile(src);
        re.lastIndex = pos;
        const m = re.exec(line);
        if (!m) continue;
        if (!best || m.index < best.m.index) best = { c, m };
        if (m.index === pos) break;
      }
      if (!best) {
        paint(pos, line.length, scopes);
        break;
      }
      const { c, m } = best;
      const start = m.index;
      const end = start + m[0].length;
      paint(pos, start, scopes);
      if (c.kind === 'end') {
        const outer = [...top!.scopes];
        paint(start, end, outer);
        paintCaptures(m, top!.rule.endCaptures ?? top!.rule.captures);
        stack.pop();
        pos = end;
      } else if (c.rule.match !== undefined) {
        const s = c.rule.name ? [...scopes, ...c.rule.name.split(' ')] : scopes;
        paint(start, end, s);
        paintCaptures(m, c.rule.captures);
        pos = end;
        if (end === start) {
          if (pos >= line.length) break;
          chars[pos] = [...scopes];
          pos++;
        }
      } else {
        if (end === start && start === lastPushPos) {
          // A begin rule that matches the empty string again would loop forever.
          throw new Error(`empty begin loop at ${start} in ${JSON.stringify(line)}`);
        }
        const outer = c.rule.name ? [...scopes, ...c.rule.name.split(' ')] : [...scopes];
        const content = c.rule.contentName ? [...outer, ...c.rule.contentName.split(' ')] : outer;
        paint(start, end, outer);
        paintCaptures(m, c.rule.beginCaptures ?? c.rule.captures);
        stack.push({ rule: c.rule, scopes: outer, content });
        lastPushPos = start;
        pos = end;
      }
      if (pos > line.length) break;
      if (pos === line.length && !stack.length) break;
    }
    return chars;
  }
}

// ---------------------------------------------------------------------------
// Helpers for assertions

function loadJson<T>(rel: string): T {
  return JSON.parse(readFileSync(join(ROOT, rel), 'utf8')) as T;
}

const kernelLog = loadJson<RawGrammar>('syntaxes/kernel-log.tmLanguage.json');
const kallsyms = loadJson<RawGrammar>('syntaxes/kallsyms.tmLanguage.json');
const logTok = new Tokenizer(kernelLog);
const symTok = new Tokenizer(kallsyms);

function tokenizeLine(tok: Tokenizer, line: string): string[][] {
  const lines = tok.tokenize(line);
  return lines[0]!;
}

/** Scopes shared by every character of `text` (its `occurrence`-th appearance) in `line`. */
function scopesOf(chars: string[][], line: string, text: string, occurrence = 0): string[] {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = line.indexOf(text, at + 1);
    if (at < 0) throw new Error(`${JSON.stringify(text)} not in ${JSON.stringify(line)}`);
  }
  return scopesAt(chars, at, at + text.length);
}

function scopesAt(chars: string[][], from: number, to: number): string[] {
  let common = chars[from] ?? [];
  for (let i = from + 1; i < to; i++) common = common.filter((s) => chars[i]!.includes(s));
  return common;
}

function hasScope(scopes: string[], prefix: string): boolean {
  return scopes.some((s) => s === prefix || s.startsWith(`${prefix}.`));
}

function expectScope(tok: Tokenizer, line: string, text: string, prefix: string, occurrence = 0): void {
  const scopes = scopesOf(tokenizeLine(tok, line), line, text, occurrence);
  expect(hasScope(scopes, prefix), `${JSON.stringify(text)} in ${JSON.stringify(line)}: [${scopes.join(', ')}] lacks ${prefix}`).toBe(true);
}

function expectNoScope(tok: Tokenizer, line: string, text: string, prefix: string): void {
  const scopes = scopesOf(tokenizeLine(tok, line), line, text);
  expect(hasScope(scopes, prefix), `${JSON.stringify(text)} in ${JSON.stringify(line)}: [${scopes.join(', ')}] has ${prefix}`).toBe(false);
}

// ---------------------------------------------------------------------------

describe('grammar files', () => {
  const grammars: [string, RawGrammar][] = [
    ['source.kernel-log', kernelLog],
    ['source.kallsyms', kallsyms],
  ];

  it.each(grammars)('%s has the scope name the manifest expects', (scope, g) => {
    expect(g.scopeName).toBe(scope);
    expect(g.patterns.length).toBeGreaterThan(0);
  });

  it.each(grammars)('%s: every regex compiles as a JS RegExp and uses no Oniguruma-only syntax', (_scope, g) => {
    const regexes = allRegexes(g);
    expect(regexes.length).toBeGreaterThan(0);
    for (const { where, key, src } of regexes) {
      expect(unportable(src), `${where}.${key}: ${src}`).toEqual([]);
      expect(() => new RegExp(src, 'dg'), `${where}.${key}: ${src}`).not.toThrow();
    }
  });

  it.each(grammars)('%s: capture numbers exist in their regex', (_scope, g) => {
    for (const { where, key, src, rule } of allRegexes(g)) {
      const caps =
        key === 'match'
          ? rule.captures
          : key === 'begin'
            ? (rule.beginCaptures ?? rule.captures)
            : key === 'end'
              ? rule.endCaptures
              : undefined;
      const n = groupCount(src);
      for (const k of Object.keys(caps ?? {})) {
        expect(Number.isInteger(Number(k)), `${where}: capture key ${k}`).toBe(true);
        expect(Number(k), `${where}.${key}: capture ${k} but ${n} groups in ${src}`).toBeLessThanOrEqual(n);
      }
    }
  });

  it.each(grammars)('%s: includes resolve and begin rules have an end', (_scope, g) => {
    const visit = (rule: RawRule, where: string): void => {
      if (rule.include) {
        if (rule.include.startsWith('#')) expect(g.repository?.[rule.include.slice(1)], `${where}: ${rule.include}`).toBeDefined();
        else expect(['$self', '$base'], `${where}: ${rule.include}`).toContain(rule.include);
      }
      if (rule.begin !== undefined) expect(rule.end ?? rule.while, `${where}: begin without end`).toBeDefined();
      rule.patterns?.forEach((p, i) => visit(p, `${where}.patterns[${i}]`));
      for (const [name, r] of Object.entries(rule.repository ?? {})) visit(r, `${where}.repository.${name}`);
    };
    visit(g, g.scopeName);
  });

  it('language configurations parse and their word pattern keeps symbols and addresses whole', () => {
    for (const file of ['syntaxes/kernel-log.language-configuration.json', 'syntaxes/kallsyms.language-configuration.json']) {
      const conf = loadJson<{ wordPattern: string; brackets: [string, string][]; comments?: unknown }>(file);
      expect(conf.comments, file).toBeUndefined();
      expect(conf.brackets).toContainEqual(['[', ']']);
      const word = (line: string, at: number): string | undefined => {
        const re = new RegExp(conf.wordPattern, 'g');
        for (let m = re.exec(line); m; m = re.exec(line)) {
          if (m.index <= at && at < m.index + m[0].length) return m[0];
          if (m[0].length === 0) re.lastIndex++;
        }
        return undefined;
      };
      const line = ' ? f2fs_put_page.constprop.0+0x1a/0x40 [f2fs] ffffffff81234567 0x1e000000 .ipr_probe_ioa+0x6c/0x1390';
      expect(word(line, line.indexOf('put_page'))).toBe('f2fs_put_page.constprop.0');
      expect(word(line, line.indexOf('ffffffff8'))).toBe('ffffffff81234567');
      expect(word(line, line.indexOf('1e000000'))).toBe('0x1e000000');
      expect(word(line, line.indexOf('0x1a'))).toBe('0x1a');
      expect(word(line, line.indexOf('f2fs]'))).toBe('f2fs');
      expect(word(line, line.indexOf('probe_ioa'))).toBe('.ipr_probe_ioa');
    }
  });
});

describe('kernel-log grammar on hand-written lines', () => {
  const L = logTok;

  it('timestamps, caller ids and log levels', () => {
    const line = '<4>[  477.354012][T18348] Call Trace:';
    expectScope(L, line, '477.354012', 'comment.other.timestamp');
    expectScope(L, line, 'T18348', 'comment.other.caller-id');
    expectScope(L, line, '4', 'keyword.other.loglevel');
    expectScope(L, line, 'Call Trace', 'keyword.other.section');
    expectScope(L, '[ 1946.223778][    C0] rcu: INFO: rcu_preempt detected stalls', 'C0', 'comment.other.caller-id');
    expectScope(L, 'Jan  2 10:00:01 host kernel: [   12.000001] foo', 'Jan  2 10:00:01', 'comment.other.date');
  });

  it('report headers', () => {
    const bug = '[  477.362261][T18348] BUG: KASAN: use-after-free in __wake_up_common+0x255/0x4e0';
    expectScope(L, bug, 'BUG:', 'invalid.illegal.bug');
    expectScope(L, bug, 'KASAN', 'invalid.illegal.bug-class');
    expectScope(L, bug, ' in ', 'markup.error');
    expectScope(L, bug, '__wake_up_common', 'entity.name.function');
    expectScope(L, bug, '0x255', 'constant.numeric.hex.offset');
    expectScope(L, 'general protection fault: 0000 [#1] PREEMPT SMP KASAN', 'general protection fault', 'invalid.illegal');
    expectScope(L, 'Kernel panic - not syncing: Fatal exception', 'Kernel panic - not syncing:', 'invalid.illegal');
    expectScope(L, 'Oops: 0000 [#1] SMP NOPTI', 'Oops:', 'invalid.illegal');
    expectScope(L, 'Internal error: Oops: 96000004 [#1] PREEMPT SMP', 'Internal error:', 'invalid.illegal');
    expectScope(L, 'WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo+0x1/0x2', 'WARNING:', 'invalid.deprecated');
    expectScope(L, 'WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo+0x1/0x2', 'kernel/foo.c', 'string.unquoted.path');
    expectNoScope(L, 'WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo+0x1/0x2', 'at', 'entity.name.function');
  });

  it('x86 frames: ? marker, function, offset/size, module and build id', () => {
    const line = ' ? kmalloc_oob_right+0xac/0xc3 [test_kasan 0123456789abcdef0123456789abcdef01234567]';
    expectScope(L, line, '?', 'keyword.operator.unreliable');
    expectScope(L, line, 'kmalloc_oob_right', 'entity.name.function');
    expectScope(L, line, '0xac', 'constant.numeric.hex.offset');
    expectScope(L, line, '0xc3', 'constant.numeric.hex.size');
    expectScope(L, line, 'test_kasan', 'entity.name.namespace.module');
    expectScope(L, line, '0123456789abcdef0123456789abcdef01234567', 'constant.other.build-id');
    const dotted = ' print_address_description.constprop.0.cold+0x7c/0x20d';
    expectScope(L, dotted, 'print_address_description.constprop.0.cold', 'entity.name.function');
  });

  it('old-format frames with [<address>] and RIP segment', () => {
    const line = ' [<ffffffff8149e232>] ? handle_mm_fault+0x3f2/0x3190';
    expectScope(L, line, 'ffffffff8149e232', 'constant.numeric.hex.address');
    expectScope(L, line, '[<', 'punctuation.definition.address.begin');
    expectScope(L, line, 'handle_mm_fault', 'entity.name.function');
    const rip = 'RIP: 0010:[<ffffffff8123487f>]  [<ffffffff8123487f>] __lock_acquire+0x61f/0x4b50';
    expectScope(L, rip, 'RIP', 'variable.other.register');
    expectScope(L, rip, '0010', 'constant.numeric.hex.segment');
    expectScope(L, rip, 'ffffffff8123487f', 'constant.numeric.hex.address', 1);
    expectScope(L, 'RIP  [<ffffffff8123487f>] __lock_acquire+0x61f/0x4b50', 'RIP', 'variable.other.register');
    expectScope(L, ' RSP <ffff8801d94cf880>', 'ffff8801d94cf880', 'constant.numeric.hex.address');
    expectScope(L, 'RIP: 0010:amdgpu_vm_sdma_commit+0x46/0x120 [amdgpu]', 'amdgpu_vm_sdma_commit', 'entity.name.function');
    expectScope(L, 'RIP: 0010:amdgpu_vm_sdma_commit+0x46/0x120 [amdgpu]', 'amdgpu', 'entity.name.namespace.module', 1);
  });

  it('register dumps', () => {
    const x86 = 'RAX: 0000000000000000 RBX: 0000000000000005 R08: 0000000000000000 ORIG_RAX: 0000000000000003';
    for (const r of ['RAX', 'RBX', 'R08', 'ORIG_RAX']) expectScope(L, x86, r, 'variable.other.register');
    expectScope(L, x86, '0000000000000005', 'constant.numeric.hex');
    const arm64 = 'x9 : 0000000000000004 x8 : 1fffe0000936df9a';
    expectScope(L, arm64, 'x9', 'variable.other.register');
    expectScope(L, arm64, 'x8', 'variable.other.register');
    const pc = 'pc : selinux_socket_sendmsg+0x28/0x58';
    expectScope(L, pc, 'pc', 'variable.other.register');
    expectScope(L, pc, 'selinux_socket_sendmsg', 'entity.name.function');
    expectScope(L, ' ra : schedule_tail+0x70/0xb2', 'ra', 'variable.other.register');
    expectScope(L, 'epc : schedule_tail+0x72/0xb2', 'epc', 'variable.other.register');
    expectScope(L, ' s11: 0000006deabf84e0 t3 : f973b8462e212b00', 's11', 'variable.other.register');
    expectScope(L, 'NIP [c000000008068dfc] .eeh_dev_check_failure+0x27c/0x390', 'NIP', 'variable.other.register');
    expectScope(L, 'NIP:  c00000000022d79c LR: c00000000022d784 CTR: 0000000000000000', 'LR', 'variable.other.register');
    expectScope(L, 'GPR00: c000000008068df8 c000000010f930b0', 'GPR00', 'variable.other.register');
    expectScope(L, 'PC is at jffs2_parse_param+0xa8/0x18c', 'PC', 'variable.other.register');
    expectScope(L, 'PC is at jffs2_parse_param+0xa8/0x18c', 'jffs2_parse_param', 'entity.name.function');
    expectNoScope(L, 'CPU: 0 PID: 18348 Comm: syz-executor.3', 'CPU', 'variable.other.register');
  });

  it('ppc64 dot names, arm32 "from" frames and symbolized frames', () => {
    const ppc = '[c000000010f93340] [d0000000008c991c] .ipr_probe_ioa+0x6c/0x1390 [ipr]';
    expectScope(L, ppc, 'c000000010f93340', 'constant.numeric.hex.address');
    expectScope(L, ppc, '.ipr_probe_ioa', 'entity.name.function');
    expectScope(L, ppc, 'ipr', 'entity.name.namespace.module', 1);
    const arm = '[<8054b7c0>] (jffs2_parse_param) from [<8037e608>] (vfs_parse_fs_param+0xf8/0x23c)';
    expectScope(L, arm, '8054b7c0', 'constant.numeric.hex.address');
    expectScope(L, arm, 'jffs2_parse_param', 'entity.name.function');
    expectScope(L, arm, 'from', 'keyword.other.from');
    expectScope(L, arm, 'vfs_parse_fs_param', 'entity.name.function');
    const sym = ' call_read_iter include/linux/fs.h:2193 [inline]';
    expectScope(L, sym, 'call_read_iter', 'entity.name.function');
    expectScope(L, sym, 'include/linux/fs.h', 'string.unquoted.path');
    expectScope(L, sym, '2193', 'constant.numeric.line');
    expectScope(L, sym, '[inline]', 'storage.modifier.inline');
  });

  it('stack markers, Code:, Modules linked in:, hex numbers', () => {
    for (const m of ['<TASK>', '</TASK>', '<IRQ>', '</IRQ>', '<NMI>']) {
      expectScope(L, ` ${m}`, m.replace(/[</>]/g, ''), 'entity.name.tag.stack-marker');
    }
    const code = 'Code: 0f 05 48 3d 00 f0 ff ff 77 45 <48> 3d 00 f0';
    expectScope(L, code, 'Code', 'keyword.other.section');
    expectScope(L, code, '0f', 'constant.numeric.hex.code');
    expectScope(L, code, '48', 'invalid.illegal.faulting-instruction', 1);
    const mods = 'Modules linked in: will_oops(OF+) sg qeth_l2 [last unloaded: foo]';
    expectScope(L, mods, 'Modules linked in', 'keyword.other.section');
    expectScope(L, mods, 'will_oops', 'entity.name.namespace.module');
    expectScope(L, mods, 'OF+', 'storage.modifier.taint');
    expectScope(L, mods, 'qeth_l2', 'entity.name.namespace.module');
    expectScope(L, 'Read of size 8 at addr ffff88801a663430 by task', 'ffff88801a663430', 'constant.numeric.hex.address');
    expectScope(L, 'Kernel Offset: 0x1e000000 from 0xffffffff81000000', '0x1e000000', 'constant.numeric.hex');
    expectScope(L, 'Kernel Offset: 0x1e000000 from 0xffffffff81000000', 'Kernel Offset', 'keyword.other.section');
    expectNoScope(L, 'Hardware name: Google Google Compute Engine', 'Google', 'constant.numeric');
  });
});

describe('kallsyms grammar', () => {
  const S = symTok;
  it('address, type letter, name and module', () => {
    const t = 'ffffffff81000000 T _text';
    expectScope(S, t, 'ffffffff81000000', 'constant.numeric.hex.address');
    expectScope(S, t, 'T', 'keyword.other.type.text');
    expectScope(S, t, '_text', 'entity.name.function');
    const m = 'ffffffffc0211000 t ftrace_trampoline\t[__builtin__ftrace]';
    expectScope(S, m, 't', 'keyword.other.type.text');
    expectScope(S, m, '__builtin__ftrace', 'entity.name.namespace.module');
    const d = 'ffffffff82a00000 D jiffies';
    expectScope(S, d, 'D', 'storage.type.data');
    expectScope(S, d, 'jiffies', 'variable.other.data');
    expectScope(S, 'ffffffff81000000 W foo.isra.0', 'W', 'storage.modifier.weak');
    expectScope(S, 'c0100000 b bss_var\t[mod]', 'b', 'storage.type.data');
  });
});

// ---------------------------------------------------------------------------
// Real logs

/** GRAMMAR_DUMP=path/to/log prints the tokens of a log (for working on the grammar). */
if (process.env.GRAMMAR_DUMP) {
  const text = readFileSync(process.env.GRAMMAR_DUMP, 'utf8');
  const lines = text.split(/\r?\n/);
  logTok.tokenize(text).forEach((chars, i) => {
    const line = lines[i]!;
    const parts: string[] = [];
    for (let s = 0; s < line.length;) {
      let e = s + 1;
      while (e < line.length && chars[e]!.join() === chars[s]!.join()) e++;
      const scopes = chars[s]!.slice(1).filter((x) => !x.startsWith('meta.') && !x.startsWith('punctuation.'));
      if (scopes.length) parts.push(`${JSON.stringify(line.slice(s, e))}=${scopes.map((x) => x.replace(/\.kernel-log$/, '')).join('+')}`);
      s = e;
    }
    console.log(`${line}\n    ${parts.join('  ')}`);
  });
}

const corpusFiles = existsSync(OOPS_DIR)
  ? readdirSync(OOPS_DIR)
      .filter((f) => f.endsWith('.txt'))
      .sort()
  : [];
if (!corpusFiles.length) console.warn(`grammar.test: corpus oops logs not found at ${OOPS_DIR}; corpus tests skipped`);

/** Independent oracles for what must be coloured. */
const FRAME = /(?<![\w.$])(\.?[A-Za-z_$][\w$]*(?:\.[\w$]+)*)\+(0x[0-9a-f]+)\/(0x[0-9a-f]+)(?:\s+\[([\w-]+)(?:\s+[0-9a-f]+)?\])?/g;
const BRACKET_ADDR = /\[<([0-9a-f]{8,16})>\]/g;
const TIMESTAMP = /^\[\s*(\d+\.\d{6})\](?:\[\s*([TC]\d+)\])?/;

describe.skipIf(!corpusFiles.length)('kernel-log grammar on the corpus', () => {
  it.each(corpusFiles)('%s', (file) => {
    const text = readFileSync(join(OOPS_DIR, file), 'utf8');
    const tokenized = logTok.tokenize(text);
    const lines = text.split(/\r?\n/);
    const counts = { frames: 0, modules: 0, addresses: 0, timestamps: 0 };
    lines.forEach((line, i) => {
      const chars = tokenized[i]!;
      const check = (from: number, to: number, prefix: string, what: string): void => {
        const scopes = scopesAt(chars, from, to);
        expect(
          hasScope(scopes, prefix),
          `${file}:${i + 1} ${what} ${JSON.stringify(line.slice(from, to))} [${scopes.join(', ')}] in ${JSON.stringify(line)}`,
        ).toBe(true);
      };
      const ts = TIMESTAMP.exec(line);
      if (ts) {
        const at = line.indexOf(ts[1]!);
        check(at, at + ts[1]!.length, 'comment.other.timestamp', 'timestamp');
        if (ts[2]) {
          const c = line.indexOf(ts[2], at);
          check(c, c + ts[2].length, 'comment.other.caller-id', 'caller id');
        }
        counts.timestamps++;
      }
      // Code: lines are byte dumps; "Modules linked in:" lists plain names.
      if (/\b(Code|Modules linked in):/.test(line)) return;
      for (const m of line.matchAll(BRACKET_ADDR)) {
        const at = m.index + 2;
        check(at, at + m[1]!.length, 'constant.numeric.hex.address', 'address');
        counts.addresses++;
      }
      for (const m of line.matchAll(FRAME)) {
        const name = m[1]!;
        let at = m.index;
        check(at, at + name.length, 'entity.name.function', 'function');
        at += name.length + 1;
        check(at, at + m[2]!.length, 'constant.numeric.hex.offset', 'offset');
        at = line.indexOf(`/${m[3]!}`, at) + 1;
        check(at, at + m[3]!.length, 'constant.numeric.hex.size', 'size');
        if (m[4]) {
          const mod = line.indexOf(`[${m[4]}`, at) + 1;
          check(mod, mod + m[4].length, 'entity.name.namespace.module', 'module');
          counts.modules++;
        }
        counts.frames++;
      }
    });
    // Every corpus log has a call trace.
    expect(counts.frames, `${file}: ${JSON.stringify(counts)}`).toBeGreaterThan(0);
  });

  it('module frames and 32-bit addresses occur in the corpus and are covered', () => {
    const all = corpusFiles.map((f) => readFileSync(join(OOPS_DIR, f), 'utf8')).join('\n');
    expect(all).toMatch(/\+0x[0-9a-f]+\/0x[0-9a-f]+ \[\w+\]/);
    expect(all).toMatch(/\[<[0-9a-f]{8}>\]/);
  });
});

describe.skipIf(!existsSync(SYSTEM_MAP))('kallsyms grammar on a real System.map', () => {
  it('every line gets address, type and name scopes', () => {
    const lines = readFileSync(SYSTEM_MAP, 'utf8').split('\n').filter(Boolean);
    // Every 50th line plus the first 300 of each type letter keeps it fast.
    const perType = new Map<string, number>();
    const sample = lines.filter((line, i) => {
      const type = line.split(' ')[1] ?? '';
      const n = perType.get(type) ?? 0;
      perType.set(type, n + 1);
      return i % 50 === 0 || n < 300;
    });
    for (const line of sample) {
      const [addr, type, name] = line.split(/\s+/) as [string, string, string];
      const chars = tokenizeLine(symTok, line);
      const where = JSON.stringify(line);
      expect(hasScope(scopesAt(chars, 0, addr.length), 'constant.numeric.hex.address'), where).toBe(true);
      const t = scopesAt(chars, addr.length + 1, addr.length + 2);
      const expected = 'tT'.includes(type) ? 'keyword.other.type.text' : 'dDbBrR'.includes(type) ? 'storage.type.data' : undefined;
      if (expected) expect(hasScope(t, expected), `${where}: [${t.join(', ')}]`).toBe(true);
      else expect(t.length, `${where}: type letter unscoped`).toBeGreaterThan(1);
      const n = line.lastIndexOf(name);
      expect(scopesAt(chars, n, n + name.length).length, `${where}: name unscoped`).toBeGreaterThan(1);
    }
  });
});

if (!existsSync(SYSTEM_MAP)) console.warn(`grammar.test: ${SYSTEM_MAP} not found; System.map test skipped`);
