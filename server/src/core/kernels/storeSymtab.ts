/**
 * A kernel's symbols by vmlinux build id from debuginfod when no known kernel has that build
 * id (issue 16 §3): `/section/.strtab` then `/section/.symtab` (~6 MB for Debian 6.1, against
 * the 633 MB debug file), cached as `section-.strtab` / `section-.symtab` in the shared
 * debuginfod cache (storeDebuginfod.ts: 0400, atomic, negative cache on 404).
 *
 * A section answer is the raw section bytes and carries no build id, so what arrived is
 * checked before it enters the cache (and when it is served from it): the symbol table's
 * structure and every name against the fetched .strtab (symtabSection.ts), then the log's
 * own vmlinux frames: each `func+0xoff/0xsize` whose symbol is there must be what the kernel
 * prints. A refusal is one short message; the refused .symtab is not cached, and the .strtab
 * it was read with is dropped from the cache (they are only valid as a pair).
 */
import { unlinkSync } from 'node:fs';
import { describeError } from '../common/errors';
import { readGuardedSync } from '../common/readGuarded';
import type { SymbolIndex } from '../kallsyms/symbolIndex';
import { fetchDebuginfod, type FetchFailure, type FetchRequest, type FetchResult, type Progress } from './storeDebuginfod';
import { checkFrames, MAX_SECTION_BYTES, symtabIndex, type FrameCheck, type SymtabReport } from './symtabSection';
import { validBuildId, type DebuginfodEnv } from './debuginfod';

export interface KernelSymtabRequest {
  buildId: string;
  env: DebuginfodEnv;
  home: string;
  /** Whether a server may be contacted (workspace trust); the cache serves regardless. */
  allowNetwork: boolean;
  /** The log text: its vmlinux frames are the check of what arrived. */
  logText: string;
  elfClass?: 32 | 64;
  bigEndian?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: Progress & { section: '.symtab' | '.strtab' }) => void;
  /** The fetch (tests replace it). */
  fetch?: (r: FetchRequest) => Promise<FetchResult>;
}

export type KernelSymtab =
  | {
      ok: true;
      index: SymbolIndex;
      report: SymtabReport;
      check: FrameCheck;
      /** `debuginfod:ID/section/.symtab`: where the symbols came from (decode --json `kernel.selected`). */
      selected: string;
      paths: { symtab: string; strtab: string };
      fromCache: boolean;
      server?: string;
      /** One line for the log / stderr: what was used and how it was checked. */
      note: string;
    }
  | { ok: false; reason: FetchFailure; message: string };

/** `debuginfod:ID/section/.symtab`. */
export function symtabSelected(buildId: string): string {
  return `debuginfod:${buildId}/section/.symtab`;
}

export async function fetchKernelSymtab(r: KernelSymtabRequest): Promise<KernelSymtab> {
  const buildId = validBuildId(r.buildId);
  if (!buildId) return { ok: false, reason: 'invalid-request', message: `${JSON.stringify(r.buildId.slice(0, 80))} is not a build id` };
  const fetch = r.fetch ?? fetchDebuginfod;
  const base = { buildId, env: r.env, home: r.home, allowNetwork: r.allowNetwork, signal: r.signal, maxBytes: MAX_SECTION_BYTES };
  const str = await fetch({
    ...base,
    artifact: { kind: 'section', name: '.strtab' },
    onProgress: r.onProgress && ((p) => r.onProgress!({ ...p, section: '.strtab' })),
  });
  if (!str.ok) return { ok: false, reason: str.reason, message: str.message };
  let strtab: Uint8Array;
  try {
    strtab = readGuardedSync(str.path, { maxBytes: MAX_SECTION_BYTES, what: '.strtab section' });
  } catch (e) {
    return { ok: false, reason: 'error', message: describeError(str.path, e, 'a .strtab section') };
  }
  const got: { parsed?: { index: SymbolIndex; report: SymtabReport; check: FrameCheck } } = {};
  const verify = (path: string): { message: string } | undefined => {
    got.parsed = undefined;
    try {
      const symtab = readGuardedSync(path, { maxBytes: MAX_SECTION_BYTES, what: '.symtab section' });
      const label = symtabSelected(buildId);
      const { index, report } = symtabIndex(
        { symtab, symtabName: `${label} (${path})`, strtab, strtabName: `${str.path}`, elfClass: r.elfClass, bigEndian: r.bigEndian },
        label,
      );
      const check = checkFrames(index, r.logText);
      if (check.mismatch) return { message: `not the log's kernel: ${check.mismatch}` };
      if (check.checked === 0 && check.absent > 0)
        return { message: `not the log's kernel: none of its ${check.absent} vmlinux frames names a symbol of this .symtab` };
      got.parsed = { index, report, check };
      return undefined;
    } catch (e) {
      return { message: describeError(path, e, 'a .symtab section') };
    }
  };
  const sym = await fetch({
    ...base,
    artifact: { kind: 'section', name: '.symtab' },
    verify,
    onProgress: r.onProgress && ((p) => r.onProgress!({ ...p, section: '.symtab' })),
  });
  if (!sym.ok) {
    if (sym.reason === 'mismatch') {
      try {
        unlinkSync(str.path);
      } catch {
        /* already gone */
      }
    }
    return { ok: false, reason: sym.reason, message: sym.message };
  }
  if (!got.parsed) {
    const v = verify(sym.path);
    if (v || !got.parsed) return { ok: false, reason: 'mismatch', message: v?.message ?? `${sym.path}: could not be read back` };
  }
  const p = got.parsed;
  const from = sym.fromCache && str.fromCache ? 'from the debuginfod cache' : `fetched from ${sym.server ?? str.server}`;
  const checked = p.check.checked
    ? `the log's ${p.check.checked} vmlinux frame(s) agree`
    : 'the log prints no vmlinux frame with a size to check it against';
  return {
    ok: true,
    index: p.index,
    report: p.report,
    check: p.check,
    selected: symtabSelected(buildId),
    paths: { symtab: sym.path, strtab: str.path },
    fromCache: sym.fromCache && str.fromCache,
    server: sym.server ?? str.server,
    note: `symbols of vmlinux build id ${buildId} from debuginfod /section/.symtab + .strtab (${p.report.symbols} symbols, ${from}); ${checked}`,
  };
}
