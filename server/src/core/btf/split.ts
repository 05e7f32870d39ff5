/**
 * Split BTF (a module's types over vmlinux's): the checks that show it was parsed over
 * a base it was not built for (files of two kernels), so that a wrong pair is an error
 * rather than wrong declarations.
 */
import type { Btf } from './btf';
import { Kind } from './kinds';
import { reasonOf } from '../common/errors';

/**
 * Problems showing that split BTF was parsed over a base it was not built for
 * (empty when consistent). Checked: every name offset that points into the base's
 * strings starts a string there, FUNCs point at FUNC_PROTOs, member/parameter/
 * reference targets are of kinds that can be used as types.
 */
export function splitMismatches(split: Btf, max = 5): string[] {
  const base = split.base;
  if (!base) return [];
  const out: string[] = [];
  const baseStr = base.strings;
  const baseLen = split.strings.baseLen;
  const nameOk = (off: number) => {
    if (off === 0 || off >= baseLen) return true;
    const buf = baseStr.bufOf(off);
    return buf[baseStr.posOf(off) - 1] === 0;
  };
  const isTypeKind = (id: number) => {
    if (id === 0) return true;
    const k = split.kindOf(id);
    return k !== Kind.FUNC && k !== Kind.VAR && k !== Kind.DATASEC && k !== Kind.DECL_TAG;
  };
  const note = (id: number, what: string) => {
    if (out.length < max) out.push(`[${id}] ${split.kindName(id)} '${split.nameOf(id)}': ${what}`);
  };
  for (let id = split.firstId; id <= split.lastId && out.length < max; id++) {
    const off = split.recordOffset(id);
    const nameOff = new DataView(split.bytes.buffer, split.bytes.byteOffset + off, 4).getUint32(0, split.header.littleEndian);
    if (!nameOk(nameOff)) {
      note(id, `name offset ${nameOff} points into the middle of a base string`);
      continue;
    }
    const k = split.kindOf(id);
    const ref = split.sizeOrType(id);
    try {
      switch (k) {
        case Kind.FUNC:
          if (split.kindOf(ref) !== Kind.FUNC_PROTO) note(id, `FUNC refers to [${ref}] ${split.kindName(ref)}, not a FUNC_PROTO`);
          break;
        case Kind.PTR:
        case Kind.TYPEDEF:
        case Kind.CONST:
        case Kind.VOLATILE:
        case Kind.RESTRICT:
        case Kind.TYPE_TAG:
        case Kind.VAR:
          if (!isTypeKind(ref)) note(id, `refers to [${ref}] ${split.kindName(ref)}, which is not a type`);
          break;
        case Kind.STRUCT:
        case Kind.UNION: {
          const t = split.byId(id);
          if (t && (t.kind === 'STRUCT' || t.kind === 'UNION')) {
            for (const m of t.members) {
              if (!isTypeKind(m.type) || m.type === 0) {
                note(id, `member '${m.name}' has type [${m.type}] ${split.kindName(m.type)}`);
                break;
              }
            }
          }
          break;
        }
        case Kind.FUNC_PROTO: {
          const t = split.byId(id);
          if (t && t.kind === 'FUNC_PROTO') {
            if (!isTypeKind(t.returnType)) note(id, `returns [${t.returnType}] ${split.kindName(t.returnType)}`);
            else
              for (const p of t.params)
                if (!isTypeKind(p.type) || p.type === 0) {
                  note(id, `parameter '${p.name}' has type [${p.type}] ${split.kindName(p.type)}`);
                  break;
                }
          }
          break;
        }
      }
    } catch (e) {
      note(id, reasonOf(e));
    }
  }
  return out;
}
