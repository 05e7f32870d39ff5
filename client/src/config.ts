/**
 * The `ksym.*` settings as the client sees them, with `~`, `${userHome}`,
 * `${workspaceFolder}` and `${env:NAME}` expanded in the path lists so the
 * server receives plain absolute paths.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

export const SECTION = 'ksym';

export interface KsymConfig {
  kallsyms: string[];
  systemMap: string[];
  /** null: the server's default (/lib/modules/$(uname -r) when it exists). */
  modules: string[] | null;
  btf: string | null;
  kaslrOffset: string;
  /** ksym.vmlinux (null: the conventional places). */
  vmlinux: string | null;
  sourceRoots: string[];
}

/** Settings whose values are lists of paths. */
const PATH_LISTS = ['kallsyms', 'systemMap', 'modules', 'sourceRoots', 'kernels'] as const;

export function readConfig(scope?: vscode.ConfigurationScope): KsymConfig {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    kallsyms: expandPaths(c.get<string[]>('kallsyms', ['/proc/kallsyms'])),
    systemMap: expandPaths(c.get<string[]>('systemMap', [])),
    modules: c.get<string[] | null>('modules', null) === null ? null : expandPaths(c.get<string[]>('modules')),
    btf: c.get<string | null>('btf', null) ? expandPath(c.get<string>('btf')!.trim()) : null,
    kaslrOffset: c.get<string>('kaslrOffset', '').trim(),
    vmlinux: c.get<string | null>('vmlinux', null) ? expandPath(c.get<string>('vmlinux')!.trim()) : null,
    sourceRoots: expandPaths(c.get<string[]>('sourceRoots', [])),
  };
}

/** Expand one setting's value as readConfig does (null stays null: the server's default). */
export function expandSetting(key: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (key === 'btf' || key === 'vmlinux') return typeof v === 'string' && v.trim() ? expandPath(v.trim()) : null;
  return expandPaths(v);
}

function expandPaths(paths: unknown): string[] {
  if (!Array.isArray(paths)) return [];
  return paths.filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => expandPath(p.trim()));
}

/** Expands `~`, `${userHome}`, `${workspaceFolder}` (the first folder) and `${env:NAME}`. */
function expandPath(p: string, folders = vscode.workspace.workspaceFolders): string {
  const home = os.homedir();
  let out = p.replace(/\$\{(userHome|workspaceFolder|env:([^}]+))\}/g, (whole, name: string, env: string | undefined) => {
    if (name === 'userHome') return home;
    if (env !== undefined) return process.env[env] ?? '';
    const folder = folders?.[0];
    return folder ? folder.uri.fsPath : whole;
  });
  if (out === '~') out = home;
  else if (out.startsWith('~/')) out = path.join(home, out.slice(2));
  return out;
}

/**
 * Expands the path lists inside a value returned for a `workspace/configuration`
 * item whose section is `ksym`, `ksym.kallsyms` or `ksym.systemMap`; other values
 * pass through unchanged.
 */
export function expandConfigurationValue(section: string | undefined, value: unknown): unknown {
  if (section === SECTION && value && typeof value === 'object' && !Array.isArray(value)) {
    const obj: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const key of PATH_LISTS) if (key in obj && obj[key] !== null) obj[key] = expandPaths(obj[key]);
    if (typeof obj.btf === 'string' && obj.btf.trim()) obj.btf = expandPath(obj.btf.trim());
    if (typeof obj.vmlinux === 'string' && obj.vmlinux.trim()) obj.vmlinux = expandPath(obj.vmlinux.trim());
    return obj;
  }
  for (const key of PATH_LISTS) {
    if (section === `${SECTION}.${key}`) return expandPaths(value);
  }
  return value;
}
