/**
 * One call for the LSP/CLI: which kernel wrote a log, which known kernel that is, and the
 * log-wide diagnostics to show first (the mismatch at the top of the log, conflicts).
 * Pure. Messages are raw text built from log facts: the caller escapes them.
 */
import { identifyLog, type IdentifyOptions, type LogIdentity } from './identity';
import { selectKernel, type Kernel, type Selection } from './kernels';

export interface LogDiagnostic {
  /** 1-based line and 0-based columns of the fact it is about (line 1, 0..0 when none). */
  line: number;
  start: number;
  end: number;
  severity: 'error' | 'warning' | 'info';
  message: string;
}

export interface LogKernel {
  identity: LogIdentity;
  selection: Selection;
  diagnostics: LogDiagnostic[];
}

export function kernelForLog(text: string, kernels: readonly Kernel[], opts?: IdentifyOptions): LogKernel {
  const identity = identifyLog(text, opts);
  const selection = selectKernel(identity, kernels);
  const at = identity.release ?? identity.buildId ?? identity.arch;
  const where = at ? { line: at.line, start: at.start, end: at.end } : { line: 1, start: 0, end: 0 };
  const diagnostics: LogDiagnostic[] = [];
  if (!selection.ok) diagnostics.push({ ...where, severity: 'error', message: selection.message });
  for (const n of selection.notes) diagnostics.push({ ...where, severity: selection.ok ? 'info' : 'warning', message: n });
  for (const c of identity.conflicts) diagnostics.push({ line: 1, start: 0, end: 0, severity: 'warning', message: c });
  if (identity.truncated)
    diagnostics.push({
      line: identity.linesScanned,
      start: 0,
      end: 0,
      severity: 'info',
      message: `only the first ${identity.linesScanned} lines were read to recognise the kernel`,
    });
  return { identity, selection, diagnostics };
}
