/**
 * The ksym.* settings as the server uses them: parsed from what the client sends
 * (workspace/configuration or initializationOptions), with the defaults, `~` and
 * `${workspaceFolder}` expanded, and every problem in them reported as a message.
 */
import { homedir } from 'node:os';
import { DEFAULT_BTF } from '../core/btf/read';
import { parseHexAddr } from '../core/common/addr';
import type { SourceSpec } from '../core/kallsyms/load';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import { defaultModulePaths } from '../core/modules/store';
import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT } from '../core/search/ranking';

export interface Settings {
  kallsyms: string[];
  systemMap: string[];
  /** .ko files and directories (empty or null in the settings: /lib/modules/$(uname -r) when it exists). */
  modules: string[];
  /** vmlinux BTF (raw, or an ELF with .BTF); '' turns BTF off. */
  btf: string;
  /** Cap on workspace symbol results. */
  searchLimit: number;
  kaslrOffset?: bigint;
  /** Kernel directories (ksym.kernels): roots, build trees, kallsyms snapshot folders. */
  kernels: string[];
  /** debuginfod servers (ksym.debuginfod.urls), used only when `workspaceTrusted` is not false. */
  debuginfodUrls: string[];
  /**
   * The client's workspace trust decision (VS Code Restricted Mode): false means no
   * debuginfod request is ever made for this workspace, DEBUGINFOD_URLS included.
   * Clients that do not send it (Neovim, Helix) are the user's own configuration: trusted.
   */
  workspaceTrusted: boolean;
  /** ksym.vmlinux: the debug vmlinux (a file, or a directory searched for one); '' for the conventional places. */
  vmlinux: string;
  /** ksym.sourceRoots: kernel source trees the DWARF paths are mapped onto (links to file:line). */
  sourceRoots: string[];
  /** ksym.inlayHints.enable: ✓/⚠ and file:line after each frame of a log. */
  inlayHints: boolean;
  /** Where they came from (SettingsSource): said in the status and the log. */
  source?: string;
  /** Problems in the settings themselves. */
  problems: string[];
  /** Things refused or dropped to keep one kernel (not errors: the index is fine). */
  warnings: string[];
}

export function parseSettings(raw: unknown, workspaceFolder?: string): Settings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const problems: string[] = [];
  const list = (v: unknown, name: string, dflt: string[]): string[] => {
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'string') return v ? [v] : [];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.filter((x) => x.trim() !== '');
    problems.push(`ksym.${name} must be a list of file paths`);
    return dflt;
  };
  const kallsyms = list(r.kallsyms, 'kallsyms', [DEFAULT_KALLSYMS]).map((p) => expandPath(p, workspaceFolder));
  const systemMap = list(r.systemMap, 'systemMap', []).map((p) => expandPath(p, workspaceFolder));
  // ksym.modules: [] (the Settings UI default) and null (older settings) both mean /lib/modules/$(uname -r).
  const moduleList = list(r.modules, 'modules', []);
  const modules = (moduleList.length ? moduleList : defaultModulePaths()).map((p) => expandPath(p, workspaceFolder));
  let btf = DEFAULT_BTF;
  if (typeof r.btf === 'string') btf = r.btf.trim() === '' ? '' : expandPath(r.btf, workspaceFolder);
  else if (r.btf !== undefined && r.btf !== null) problems.push('ksym.btf must be a file path');
  let kaslrOffset: bigint | undefined;
  if (typeof r.kaslrOffset === 'string' && r.kaslrOffset.trim() !== '') {
    kaslrOffset = parseHexAddr(r.kaslrOffset);
    if (kaslrOffset === undefined) problems.push(`ksym.kaslrOffset: '${r.kaslrOffset}' is not a hex number`);
  } else if (typeof r.kaslrOffset === 'number' && Number.isSafeInteger(r.kaslrOffset) && r.kaslrOffset >= 0) {
    kaslrOffset = BigInt(r.kaslrOffset);
  }
  // Restricted Mode (an untrusted VS Code workspace): the client dropped paths outside the workspace.
  if (Array.isArray(r.restricted)) for (const m of r.restricted) if (typeof m === 'string') problems.push(m);
  const searchLimit =
    typeof r.searchLimit === 'number' && r.searchLimit >= 1 ? Math.min(Math.floor(r.searchLimit), MAX_SEARCH_LIMIT) : DEFAULT_SEARCH_LIMIT;
  const kernels = list(r.kernels, 'kernels', []).map((p) => expandPath(p, workspaceFolder));
  const di = r.debuginfod && typeof r.debuginfod === 'object' ? (r.debuginfod as Record<string, unknown>) : {};
  const debuginfodUrls = list(di.urls ?? r['debuginfod.urls'], 'debuginfod.urls', []);
  const workspaceTrusted = r.workspaceTrusted !== false;
  let vmlinux = '';
  if (typeof r.vmlinux === 'string') vmlinux = r.vmlinux.trim() === '' ? '' : expandPath(r.vmlinux, workspaceFolder);
  else if (r.vmlinux !== undefined && r.vmlinux !== null) problems.push('ksym.vmlinux must be a file or directory path');
  const sourceRoots = list(r.sourceRoots, 'sourceRoots', []).map((p) => expandPath(p, workspaceFolder));
  const ih = r.inlayHints && typeof r.inlayHints === 'object' ? (r.inlayHints as Record<string, unknown>).enable : r['inlayHints.enable'];
  const inlayHints = ih !== false;
  return {
    kallsyms,
    systemMap,
    modules,
    btf,
    searchLimit,
    kaslrOffset,
    kernels,
    debuginfodUrls,
    workspaceTrusted,
    vmlinux,
    sourceRoots,
    inlayHints,
    problems,
    warnings: [],
  };
}

export function specsOf(s: Settings): SourceSpec[] {
  return [
    ...s.kallsyms.map((file) => ({ file, kind: 'kallsyms' as const })),
    ...s.systemMap.map((file) => ({ file, kind: 'system.map' as const })),
  ];
}

export function expandPath(p: string, workspaceFolder?: string): string {
  let s = p.trim();
  if (s === '~' || s.startsWith('~/')) s = homedir() + s.slice(1);
  if (workspaceFolder) s = s.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  return s;
}

/** The setting names a ksym settings object is recognised by (flat, without the `ksym.` prefix). */
const KNOWN = new Set([
  'kallsyms',
  'systemMap',
  'modules',
  'btf',
  'searchLimit',
  'kaslrOffset',
  'kernels',
  'debuginfod',
  'vmlinux',
  'sourceRoots',
  'inlayHints',
  'restricted',
  'workspaceTrusted',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Dotted keys (`"ksym.kallsyms"`, `"debuginfod.urls"` stay as the parser reads them) with the section prefix dropped. */
function undotted(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const keys = Object.keys(o).filter((k) => k.startsWith('ksym.'));
  if (keys.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k.slice(5)] = o[k];
  return out;
}

/**
 * The ksym settings inside what a client sent, in any of the forms clients use, and
 * where they were found (issue 13 §3). `where` names the message (e.g.
 * 'initializationOptions'); the forms, most specific first:
 * - `{settings: {ksym: {...}}}` (lspconfig's `init_options = { settings = ... }`),
 * - `{ksym: {...}}` (keyed by section; what didChangeConfiguration's `settings` holds),
 * - `{settings: {...}}` (the VS Code client's initializationOptions),
 * - `{"ksym.kallsyms": ...}` (dotted keys),
 * - `{kallsyms: [...]}` (flat).
 * Undefined when none of them holds a ksym setting (the caller falls back, finally to the defaults).
 */
export function findSettings(raw: unknown, where: string): { raw: Record<string, unknown>; source: string } | undefined {
  if (!isObject(raw)) return undefined;
  const known = (o: unknown): o is Record<string, unknown> => isObject(o) && Object.keys(o).some((k) => KNOWN.has(k));
  const settings = raw.settings;
  if (isObject(settings) && isObject(settings.ksym)) return { raw: settings.ksym, source: `${where} {settings: {ksym: ...}}` };
  if (isObject(raw.ksym)) return { raw: raw.ksym, source: `${where} {ksym: ...}` };
  if (known(settings)) return { raw: settings, source: `${where} {settings: ...}` };
  const dotted = undotted(raw) ?? (isObject(settings) ? undotted(settings) : undefined);
  if (dotted) return { raw: dotted, source: `${where} {"ksym.*": ...}` };
  if (known(raw)) return { raw, source: where };
  return undefined;
}

export interface FoundSettings {
  raw: Record<string, unknown>;
  source: string;
}

/**
 * The settings to serve: the client's workspace/configuration answer when it holds ksym
 * settings (a client without them answers null or {}), else the last ones pushed or sent
 * at initialize, else the defaults; `source` says which.
 */
export function chooseSettings(configured: unknown, fallback: FoundSettings | undefined, workspaceFolder?: string): Settings {
  const found = findSettings(configured, 'workspace/configuration') ?? fallback;
  const s = parseSettings(found?.raw, workspaceFolder);
  s.source = found?.source ?? 'defaults';
  return s;
}
