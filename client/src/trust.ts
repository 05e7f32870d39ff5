/**
 * Workspace trust: in an untrusted workspace, the paths that the workspace's own settings give
 * for ksym.kallsyms, ksym.systemMap, ksym.modules, ksym.btf, ksym.vmlinux and ksym.sourceRoots are passed to the server only
 * when they are inside the workspace; the others are dropped (the user or default value is used
 * when nothing is left) and the server reports them. User settings are not restricted.
 */
import * as vscode from 'vscode';
import { SECTION } from './config';
import { partitionPaths, restrictedMessage } from './trustpaths';

const PATH_SETTINGS = ['kallsyms', 'systemMap', 'modules', 'btf', 'vmlinux', 'sourceRoots'] as const;

/** Was the effective value of ksym.<key> set by the workspace (or a folder of it)? */
function fromWorkspace(key: string): boolean {
  const i = vscode.workspace.getConfiguration(SECTION).inspect(key);
  return i?.workspaceFolderValue !== undefined || i?.workspaceValue !== undefined;
}

function userOrDefault(key: string): unknown {
  const i = vscode.workspace.getConfiguration(SECTION).inspect(key);
  return i?.globalValue ?? i?.defaultValue;
}

/**
 * Apply Restricted Mode to a `ksym` settings object (expanded paths). Adds `restricted`:
 * messages for the server to report. Returns the object unchanged in a trusted workspace.
 */
export function restrictUntrusted<T extends object>(config: T, expand: (key: string, v: unknown) => unknown): T {
  // The trust decision goes to the server explicitly: no debuginfod request for an untrusted workspace.
  if (vscode.workspace.isTrusted) return { ...config, workspaceTrusted: true };
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const out: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  const restricted: string[] = [];
  for (const key of PATH_SETTINGS) {
    if (!(key in out) || !fromWorkspace(key)) continue;
    const v = out[key];
    const list = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' && v.trim() ? [v] : [];
    const { kept, dropped } = partitionPaths(list, folders);
    if (dropped.length === 0) continue;
    restricted.push(restrictedMessage(`ksym.${key}`, dropped));
    if (kept.length > 0) out[key] = Array.isArray(v) ? kept : kept[0];
    else out[key] = expand(key, userOrDefault(key));
  }
  // debuginfod servers named by the workspace are dropped; the server makes no request at all.
  if (fromWorkspace('debuginfod.urls')) {
    restricted.push('Restricted Mode: ksym.debuginfod.urls from the workspace is not used until you trust this workspace');
    out['debuginfod.urls'] = [];
    out.debuginfod = { urls: [] };
  }
  out.workspaceTrusted = false;
  if (restricted.length > 0) out.restricted = restricted;
  return out as T;
}
