/**
 * The words of the status bar tooltip that depend only on the server's status: pure, no
 * vscode import (unit-tested directly).
 */
import type { StatusParams } from '../../server/src/protocol';

/**
 * ", 3 modules" / ", 1 module": loaded modules only ([bpf] and the ftrace trampolines'
 * `__builtin__ftrace` are pseudo modules, not counted); '' when there is none.
 */
export function moduleCount(s: Pick<StatusParams, 'modules' | 'pseudoModules'>): string {
  const n = Math.max(0, s.modules - (s.pseudoModules ?? 0));
  return n === 0 ? '' : `, ${n.toLocaleString('en-US')} module${n === 1 ? '' : 's'}`;
}
