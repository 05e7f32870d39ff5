/**
 * Traceability (core/trace) against this machine's kernel: bpftool's raw BTF dump for the
 * argument lists, variadic prototypes and kfunc decl tags; `bpftrace -lv` for the
 * argument lists and the kernel's own BPF_PROG_LOAD/attach verdicts where this machine
 * allows them (skipped with the reason otherwise); the rule cases found in the real data.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBtf, type Btf, type BtfFuncProto } from '../../../server/src/core/btf';
import { Kind } from '../../../server/src/core/btf/kinds';
import { buildIndex, type SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { checkProto, copiesOf, kernelAreas, traceFunction, type TraceFacts } from '../../../server/src/core/trace/rules';
import { describeBpfSymbol, parseBpfSymbol } from '../../../server/src/core/trace/bpfsyms';
import { readTraceFacts } from '../../../server/src/core/trace/readFacts';
import { CORPUS, liveKallsyms } from '../../helpers/corpus';

const LIVE_BTF = '/sys/kernel/btf/vmlinux';
const HAVE_BTF = existsSync(LIVE_BTF);
const KALLSYMS = liveKallsyms();
const LIVE = HAVE_BTF && !!KALLSYMS;
if (!HAVE_BTF) console.warn(`skipping live trace tests: ${LIVE_BTF} is absent`);
const cmd = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
const HAVE_BPFTOOL = cmd('bpftool');
if (!HAVE_BPFTOOL) console.warn('skipping bpftool oracle: bpftool is not installed');

let btf: Btf | undefined;
let index: SymbolIndex | undefined;
if (LIVE) {
  btf = parseBtf(new Uint8Array(readFileSync(LIVE_BTF)), LIVE_BTF);
  index = buildIndex([{ file: '/proc/kallsyms', bytes: new Uint8Array(KALLSYMS!), kind: 'kallsyms' }]);
}

/** FUNC ids with their names, from our BTF (for picking cases). */
function funcs(b: Btf): { id: number; name: string; proto: BtfFuncProto }[] {
  const out: { id: number; name: string; proto: BtfFuncProto }[] = [];
  for (let id = 1; id <= b.lastId; id++) {
    if (b.kindOf(id) !== Kind.FUNC) continue;
    const p = b.byId(b.sizeOrType(id));
    if (p?.kind === 'FUNC_PROTO') out.push({ id, name: b.nameOf(id), proto: p });
  }
  return out;
}

interface RawFunc {
  id: number;
  name: string;
  params: { name: string; type: number }[];
}

/** `bpftool btf dump file F format raw`: FUNC → FUNC_PROTO parameters, and bpf_kfunc decl tags. */
function bpftoolRaw(file: string): { funcs: Map<string, RawFunc>; kfuncs: Set<number> } {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', file, 'format', 'raw'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const protos = new Map<number, { name: string; type: number }[]>();
  const funcTypes: { id: number; name: string; proto: number }[] = [];
  const kfuncs = new Set<number>();
  let cur: { name: string; type: number }[] | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('\t')) {
      const m = /^\t'([^']*)' type_id=(\d+)/.exec(line);
      if (m && cur) cur.push({ name: m[1], type: Number(m[2]) });
      continue;
    }
    cur = undefined;
    const m = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (!m) continue;
    const id = Number(m[1]);
    if (m[2] === 'FUNC_PROTO') protos.set(id, (cur = []));
    else if (m[2] === 'FUNC') funcTypes.push({ id, name: m[3], proto: Number(/type_id=(\d+)/.exec(m[4])![1]) });
    else if (m[2] === 'DECL_TAG' && m[3] === 'bpf_kfunc' && / component_idx=-1/.test(m[4]))
      kfuncs.add(Number(/type_id=(\d+)/.exec(m[4])![1]));
  }
  const funcs = new Map<string, RawFunc>();
  for (const f of funcTypes) if (!funcs.has(f.name)) funcs.set(f.name, { id: f.id, name: f.name, params: protos.get(f.proto) ?? [] });
  return { funcs, kfuncs };
}

describe.skipIf(!LIVE)('traceFunction on this kernel', () => {
  const all = LIVE ? funcs(btf!) : [];
  const raw = LIVE && HAVE_BPFTOOL ? bpftoolRaw(LIVE_BTF) : undefined;

  it.skipIf(!raw)('argument names, counts and variadic match bpftool btf dump (hundreds of functions)', () => {
    const sample = all.filter((_, i) => i % Math.max(1, Math.floor(all.length / 600)) === 0);
    expect(sample.length).toBeGreaterThan(300);
    let compared = 0;
    for (const f of sample) {
      const r = raw!.funcs.get(f.name);
      if (!r || r.id !== f.id) continue;
      const rep = traceFunction({ name: f.name, btf, index });
      const variadic = r.params.length > 0 && r.params[r.params.length - 1].type === 0;
      expect(rep.variadic, f.name).toBe(variadic);
      const named = (variadic ? r.params.slice(0, -1) : r.params).map((p, i) => (/^[A-Za-z_]\w*$/.test(p.name) ? p.name : `arg${i}`));
      expect(
        rep.args.map((a) => a.name),
        f.name,
      ).toEqual(named);
      compared++;
    }
    console.log(`bpftool raw oracle: ${compared} functions' argument lists agree`);
    expect(compared).toBeGreaterThan(300);
  });

  it.skipIf(!raw)('kfuncs are exactly the FUNCs with a bpf_kfunc decl tag in bpftool', () => {
    const ours = new Set(btf!.kfuncIds());
    expect(ours).toEqual(raw!.kfuncs);
    const name = btf!.nameOf([...ours][0]);
    expect(traceFunction({ name, btf, index }).kfunc).toBe(true);
    expect(traceFunction({ name: 'vfs_read', btf, index }).kfunc).toBe(false);
    console.log(`bpftool: ${ours.size} kfuncs agree`);
  });

  it('a variadic function: fentry/fexit/fmod_ret refused with the kernel wording', () => {
    const r = traceFunction({ name: '_printk', btf, index });
    expect(r.variadic).toBe(true);
    expect(r.attach).toMatchObject({ fentry: false, fexit: false, fmod_ret: false });
    expect(r.reasons.find((x) => x.attach === 'fentry')!.reason).toContain('The function _printk with variable args is unsupported.');
  });

  it('too many arguments: more than 12 refused, like btf_distill_func_proto', () => {
    const many = all.find((f) => f.proto.params.length > 12 && copiesOf(index!, f.name).copies.length > 0);
    if (!many) return console.warn('skipping: no function with more than 12 arguments in this BTF');
    const r = traceFunction({ name: many.name, btf, index });
    expect(r.attach.fentry).toBe(false);
    expect(r.reasons[0].reason).toContain(`has ${many.proto.params.length} arguments. Too many.`);
  });

  it('a struct by value: up to 16 bytes accepted and counted in trampoline slots, larger refused', () => {
    const sized = (f: { proto: BtfFuncProto }) =>
      f.proto.params.map((p) => {
        let id = p.type;
        while ([Kind.TYPEDEF, Kind.CONST, Kind.VOLATILE].includes(btf!.kindOf(id))) id = btf!.sizeOrType(id);
        return btf!.kindOf(id) === Kind.STRUCT ? btf!.sizeOrType(id) : 0;
      });
    const small = all.find(
      (f) => !f.proto.variadic && sized(f).some((s) => s > 8 && s <= 16) && copiesOf(index!, f.name).copies.length > 0,
    );
    const big = all.find((f) => !f.proto.variadic && f.proto.params.length <= 12 && sized(f).some((s) => s > 16));
    expect(small && big).toBeTruthy();
    const c = checkProto(btf!, small!.name, small!.proto);
    expect(c.refusal).toBeUndefined();
    expect(c.slots).toBeGreaterThan(small!.proto.params.length);
    const b = checkProto(btf!, big!.name, big!.proto);
    expect(b.refusal).toMatch(/arg\d+ type STRUCT is unsupported/);
  });

  it('an inlined-away function: BTF FUNC but no kallsyms symbol', () => {
    const gone = all.find((f) => copiesOf(index!, f.name).copies.length === 0 && copiesOf(index!, f.name).variants.length === 0);
    expect(gone).toBeTruthy();
    const r = traceFunction({ name: gone!.name, btf, index, facts: { inlineCallers: () => ['caller_a', 'caller_b'] } });
    expect(r.attach).toMatchObject({ fentry: false, fexit: false, fmod_ret: false, kprobe: false, kretprobe: false });
    expect(r.reasons[0].reason).toContain('cannot be found');
    expect(r.reasons[0].reason).toContain('caller_a, caller_b');
  });

  it('a function in .noinstr.text: no fentry (no __fentry__ site), kprobe blacklisted', () => {
    const areas = kernelAreas(index!);
    const noinstr = areas.notrace.find((a) => a.what.startsWith('.noinstr'));
    expect(noinstr).toBeTruthy();
    const f = all.find((x) => {
      const c = copiesOf(index!, x.name).copies;
      return c.length === 1 && c[0].address >= noinstr!.start && c[0].address < noinstr!.end && !checkProto(btf!, x.name, x.proto).refusal;
    });
    expect(f).toBeTruthy();
    const r = traceFunction({ name: f!.name, btf, index, facts: { config: 'CONFIG_KPROBES=y\n', kprobeBlacklist: '' } });
    expect(r.attach.fentry).toBe(false);
    expect(r.attach.kprobe).toBe(false);
    expect(r.reasons.map((x) => x.reason).join('\n')).toContain('.noinstr.text');
  });

  it('a duplicated static name: every copy listed, the first by address is the one by name', () => {
    const dup = copiesOf(index!, 'paravirt_read_msr').copies;
    if (dup.length < 2) return console.warn('skipping: paravirt_read_msr is not duplicated on this kernel');
    const expected = KALLSYMS!
      .toString('latin1')
      .split('\n')
      .filter((l) => / [tT] paravirt_read_msr$/.test(l))
      .map((l) => BigInt('0x' + l.split(' ')[0]))
      .sort((a, b) => (a < b ? -1 : 1));
    expect(dup.map((c) => c.address)).toEqual(expected);
    expect(dup[0].byName).toBe(true);
    // a duplicated name that also has a BTF FUNC: the warning says which copy fentry gets
    const withBtf = all.find((f) => copiesOf(index!, f.name).copies.filter((c) => !c.module).length > 1);
    const p = traceFunction({ name: 'paravirt_read_msr', btf, index });
    if (p.btfId === undefined)
      expect(p.reasons[0].reason).toContain(`has ${dup.length} addresses: pahole leaves ambiguous names out of BTF`);
    if (!withBtf) return console.warn('no BTF FUNC with several vmlinux copies in this BTF (pahole drops ambiguous names)');
    const r = traceFunction({ name: withBtf.name, btf, index });
    expect(r.notes.join('\n')).toMatch(/copies of .*the first, 0x[0-9a-f]+ \(kallsyms_lookup_name\)/);
    expect(r.notes.join('\n')).toContain('kprobe by address');
  });

  it('btf_id_deny and noreturn_deny', () => {
    const m = traceFunction({ name: 'migrate_disable', btf, index });
    expect(m.attach).toMatchObject({ fentry: false, fexit: false, fmod_ret: false });
    const d = traceFunction({ name: 'do_exit', btf, index });
    expect(d.attach.fexit).toBe(false);
    expect(d.attach.fentry).not.toBe(false);
  });

  it('with the facts: available_filter_functions, blacklist, error injection, config', () => {
    const facts: TraceFacts = {
      availableFilterFunctions: 'vfs_read\nshould_failslab\n',
      kprobeBlacklist: '0xffffffff81000000-0xffffffff81000010\tvfs_write\n',
      errorInjectionList: 'should_failslab\tERRNO\n',
      config: 'CONFIG_KPROBES=y\n',
    };
    const r = traceFunction({ name: 'vfs_read', btf, index, facts });
    expect(r.attach).toEqual({ fentry: true, fexit: true, fmod_ret: false, kprobe: true, kretprobe: true });
    expect(r.reasons).toEqual([{ attach: 'fmod_ret', reason: expect.stringContaining('vfs_read() is not modifiable') }]);
    const w = traceFunction({ name: 'vfs_write', btf, index, facts });
    expect(w.attach.fentry).toBe(false);
    expect(w.attach.kprobe).toBe(false);
    const s = traceFunction({ name: 'should_failslab', btf, index, facts });
    if (s.btfId !== undefined && s.copies.length) expect(s.attach.fmod_ret).toBe(true);
    for (const rep of [r, w, s]) {
      for (const k of Object.keys(rep.attach) as (keyof typeof rep.attach)[]) {
        if (rep.attach[k] !== true)
          expect(
            rep.reasons.some((x) => x.attach === k),
            `${rep.name} ${k}`,
          ).toBe(true);
      }
    }
  });

  it('snippets carry the BTF prototype', () => {
    const r = traceFunction({ name: 'vfs_read', btf, index, bpftraceVersion: '0.17.0' });
    expect(r.snippets.bpftrace).toMatch(/^kfunc:vmlinux:vfs_read\n/);
    expect(r.snippets.bpftrace).toContain('args->count');
    expect(r.snippets.libbpf).toContain(
      'SEC("fentry/vfs_read")\nint BPF_PROG(vfs_read_entry, struct file *file, char *buf, size_t count, loff_t *pos)',
    );
    const n = traceFunction({ name: 'vfs_read', btf, index, bpftraceVersion: '0.23.2' });
    expect(n.snippets.bpftrace).toMatch(/^fentry:vmlinux:vfs_read\n/);
    expect(n.snippets.bpftrace).toContain('args.count');
  });

  it('the live facts reader says why a file is hidden', () => {
    const f = readTraceFacts();
    if (f.availableFilterFunctions === undefined) expect(f.availableFilterFunctionsProblem).toMatch(/available_filter_functions: /);
    if (f.kprobeBlacklist === undefined) expect(f.kprobeBlacklistProblem).toMatch(/kprobes\/blacklist: /);
  });
});

describe.skipIf(!LIVE)('oracles that need the kernel or bpftrace to cooperate', () => {
  it('bpftrace -lv argument lists', (ctx) => {
    const probe = spawnSync('bpftrace', ['-lv', 'kfunc:vmlinux:vfs_read'], { encoding: 'utf8', timeout: 30000 });
    if (probe.status !== 0 || !/struct file \*\s*file/.test(probe.stdout)) {
      console.warn(`skipping bpftrace -lv oracle: ${(probe.stderr || probe.error?.message || 'no output').split('\n')[0]}`);
      return ctx.skip();
    }
    const names = funcs(btf!)
      .filter((f, i) => i % 400 === 0)
      .map((f) => f.name);
    let agreed = 0;
    for (const name of names) {
      const out = spawnSync('bpftrace', ['-lv', `kfunc:vmlinux:${name}`], { encoding: 'utf8', timeout: 30000 }).stdout;
      const lines = out
        .split('\n')
        .slice(1)
        .map((l) => l.trim().replace(/\s*\*\s*/g, ' *'))
        .filter(Boolean);
      if (!lines.length) continue;
      const r = traceFunction({ name, btf, index });
      const ours = [...r.args.map((a) => a.decl), ...(r.ret ? [r.ret.decl] : [])].map((l) => l.replace(/\s*\*\s*/g, ' *'));
      expect(ours, name).toEqual(lines);
      agreed++;
    }
    console.log(`bpftrace -lv oracle: ${agreed} functions agree`);
  });

  it("the kernel's own fentry/fexit/fmod_ret verdicts (BPF_PROG_LOAD + attach)", (ctx) => {
    const script = join(__dirname, 'attach_oracle.py');
    const id = btf!.idsByName('vfs_read').find((i) => btf!.kindOf(i) === Kind.FUNC)!;
    const probe = spawnSync('python3', [script], { input: `vfs_read ${id}\n`, encoding: 'utf8', timeout: 30000 });
    const first = probe.stdout ? (JSON.parse(probe.stdout.split('\n')[0]) as { fentry: { load: number; log: string } }) : undefined;
    if (!first || first.fentry.load !== 0) {
      console.warn(
        `skipping the kernel verdict oracle: BPF_PROG_LOAD of a tracing program is refused here (` +
          (first
            ? `errno ${first.fentry.load}${first.fentry.load === 1 ? ' EPERM before verification: lockdown or a BPF LSM policy' : ''}`
            : probe.stderr || 'python3 failed') +
          ')',
      );
      return ctx.skip();
    }
    const all = funcs(btf!);
    const picks = ['_printk', 'vfs_read', 'migrate_disable', 'do_exit', ...all.filter((f, i) => i % 997 === 0).map((f) => f.name)];
    const input = picks.map((n) => `${n} ${btf!.idsByName(n).find((i) => btf!.kindOf(i) === Kind.FUNC)}`).join('\n') + '\n';
    const out = spawnSync('python3', [script], { input, encoding: 'utf8', timeout: 120000 }).stdout.trim().split('\n');
    let agreed = 0;
    for (const line of out) {
      const k = JSON.parse(line) as Record<string, { load: number; attach: number | null }> & { name: string };
      const r = traceFunction({ name: k.name, btf, index });
      for (const t of ['fentry', 'fexit', 'fmod_ret'] as const) {
        const kernel = k[t].load === 0 && k[t].attach === 0;
        if (r.attach[t] === 'unknown') continue;
        expect(r.attach[t], `${k.name} ${t}`).toBe(kernel);
        agreed++;
      }
    }
    console.log(`kernel verdict oracle: ${agreed} verdicts agree`);
  });
});

const DEB = join(CORPUS, 'debian-6.1.0-56-amd64');
const DEB_MAP = join(DEB, 'System.map-6.1.0-56-amd64');
const DEB_BTF = join(DEB, 'vmlinux-6.1.0-56-amd64.btf');
const DEB_CONFIG = join(DEB, 'config-6.1.0-56-amd64');
const HAVE_DEB = [DEB_MAP, DEB_BTF, DEB_CONFIG].every((f) => existsSync(f));
if (!HAVE_DEB) console.warn(`skipping Debian 6.1 trace tests: ${DEB} is incomplete`);

describe.skipIf(!HAVE_DEB)('Debian 6.1 (System.map has the _kbl_addr_ entries, config, 6.1 rules)', () => {
  const b = HAVE_DEB ? parseBtf(new Uint8Array(readFileSync(DEB_BTF)), DEB_BTF) : undefined;
  const idx = HAVE_DEB ? buildIndex([{ file: DEB_MAP, bytes: new Uint8Array(readFileSync(DEB_MAP)), kind: 'system.map' }]) : undefined;
  const config = HAVE_DEB ? readFileSync(DEB_CONFIG, 'latin1') : '';

  it('NOKPROBE_SYMBOL functions (the _kbl_addr_ entries of System.map) are refused, others allowed', () => {
    const listed = readFileSync(DEB_MAP, 'latin1')
      .split('\n')
      .map((l) => / _kbl_addr_(\S+)$/.exec(l)?.[1])
      .filter((n): n is string => !!n);
    expect(listed.length).toBeGreaterThan(20);
    for (const n of listed.slice(0, 40)) {
      const r = traceFunction({ name: n, btf: b, index: idx, facts: { config } });
      if (r.copies.length) expect(r.attach.kprobe, n).toBe(false);
    }
    const ok = traceFunction({ name: 'vfs_read', btf: b, index: idx, facts: { config } });
    expect(ok.attach.kprobe).toBe(true);
    expect(ok.attach.kretprobe).toBe(true);
  });

  it('6.1 rules: no noreturn_deny yet, 6 trampoline registers', () => {
    const r = traceFunction({ name: 'do_exit', btf: b, index: idx, facts: { config } });
    expect(r.attach.fexit).not.toBe(false);
    const seven = funcs(b!).find(
      (f) => f.proto.params.length === 7 && !checkProto(b!, f.name, f.proto).refusal && copiesOf(idx!, f.name).copies.length === 1,
    );
    expect(seven).toBeTruthy();
    const r7 = traceFunction({ name: seven!.name, btf: b, index: idx, facts: { config } });
    expect(r7.attach.fentry).toBe(false);
    expect(r7.reasons[0].reason).toContain('at most 6');
    expect(traceFunction({ name: seven!.name, btf: b, index: idx, facts: { release: '6.18.44' } }).attach.fentry).not.toBe(false);
  });
});

describe('BPF program symbols', () => {
  it('parses what the names carry', () => {
    expect(parseBpfSymbol('bpf_prog_6deef7357e7b4530_sd_fw_ingress')).toEqual({
      kind: 'prog',
      tag: '6deef7357e7b4530',
      progName: 'sd_fw_ingress',
    });
    expect(parseBpfSymbol('bpf_prog_6deef7357e7b4530')).toEqual({ kind: 'prog', tag: '6deef7357e7b4530' });
    const key = (1n << 32n) | 119882n;
    const t = parseBpfSymbol(`bpf_trampoline_${key}`);
    expect(t).toEqual({ kind: 'trampoline', key, objectId: 1, btfId: 119882 });
    expect(describeBpfSymbol(t!, (o, id) => (o === 1 && id === 119882 ? 'vfs_read' : undefined))).toContain('attached to vfs_read');
    expect(parseBpfSymbol('bpf_dispatcher_xdp')).toEqual({ kind: 'dispatcher', dispatcher: 'xdp' });
    expect(parseBpfSymbol('bpf_trampoline_99999999999999999999999')).toBeUndefined();
    expect(parseBpfSymbol('vfs_read')).toBeUndefined();
  });

  it('indexes 10,000 [bpf] symbols next to the kernel', () => {
    const lines: string[] = [];
    for (let i = 0; i < 10000; i++) {
      const a = (0xffffffffc0000000n + BigInt(i) * 0x800n).toString(16);
      lines.push(`${a} t bpf_prog_${i.toString(16).padStart(16, '0')}_prog${i}\t[bpf]`);
    }
    const idx = buildIndex([{ file: 'k', bytes: new TextEncoder().encode(lines.join('\n') + '\n'), kind: 'kallsyms' }]);
    expect(idx.count).toBe(10000);
    const i = idx.byNameAll('bpf_prog_0000000000000fff_prog4095')[0];
    expect(idx.moduleOf(i)).toBe('bpf');
    expect(parseBpfSymbol(idx.nameOf(i))).toMatchObject({ tag: '0000000000000fff', progName: 'prog4095' });
  });
});
