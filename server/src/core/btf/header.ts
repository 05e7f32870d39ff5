/**
 * BTF header (include/uapi/linux/btf.h, struct btf_header).
 *
 *   u16 magic (0xEB9F, in the producer's byte order)
 *   u8  version (1)
 *   u8  flags
 *   u32 hdr_len
 *   u32 type_off, type_len   (relative to the end of the header)
 *   u32 str_off,  str_len
 *
 * Newer producers may append fields (e.g. a kind-layout section); hdr_len covers
 * them and we read only the fields above.
 */
import { FormatError } from '../common/errors';

const BTF_HEADER_MIN_LEN = 24;

export interface BtfHeader {
  littleEndian: boolean;
  version: number;
  flags: number;
  hdrLen: number;
  /** Absolute byte offsets into the blob (start inclusive, end exclusive). */
  typeStart: number;
  typeEnd: number;
  strStart: number;
  strEnd: number;
}

export function parseHeader(bytes: Uint8Array, dv: DataView, file: string): BtfHeader {
  if (bytes.length < 8) {
    throw new FormatError(file, 0, `truncated BTF header: ${bytes.length} bytes, need at least ${BTF_HEADER_MIN_LEN}`);
  }
  let littleEndian: boolean;
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) littleEndian = true;
  else if (bytes[0] === 0xeb && bytes[1] === 0x9f) littleEndian = false;
  else {
    const got = (bytes[0] | (bytes[1] << 8)).toString(16).padStart(4, '0');
    throw new FormatError(file, 0, `bad BTF magic 0x${got} (expected 0xeb9f in either byte order)`);
  }
  const version = bytes[2];
  if (version !== 1) throw new FormatError(file, 2, `unsupported BTF version ${version} (expected 1)`);
  const flags = bytes[3];
  const hdrLen = dv.getUint32(4, littleEndian);
  if (hdrLen < BTF_HEADER_MIN_LEN) {
    throw new FormatError(file, 4, `BTF hdr_len ${hdrLen} is smaller than the minimal header (${BTF_HEADER_MIN_LEN})`);
  }
  if (bytes.length < BTF_HEADER_MIN_LEN || hdrLen > bytes.length) {
    throw new FormatError(file, 4, `truncated BTF header: hdr_len ${hdrLen}, blob has ${bytes.length} bytes`);
  }
  const typeOff = dv.getUint32(8, littleEndian);
  const typeLen = dv.getUint32(12, littleEndian);
  const strOff = dv.getUint32(16, littleEndian);
  const strLen = dv.getUint32(20, littleEndian);
  const data = bytes.length - hdrLen;
  if (typeOff % 4 !== 0) throw new FormatError(file, 8, `BTF type section offset ${typeOff} is not 4-byte aligned`);
  if (typeOff + typeLen > data) {
    throw new FormatError(
      file,
      8,
      `BTF type section [${typeOff}, +${typeLen}) runs past the end of the data (${data} bytes after the header)`,
    );
  }
  if (strOff + strLen > data) {
    throw new FormatError(
      file,
      16,
      `BTF string section [${strOff}, +${strLen}) runs past the end of the data (${data} bytes after the header)`,
    );
  }
  if (typeLen > 0 && strLen > 0 && typeOff < strOff + strLen && strOff < typeOff + typeLen) {
    throw new FormatError(file, 8, `BTF type section [${typeOff}, +${typeLen}) overlaps string section [${strOff}, +${strLen})`);
  }
  return {
    littleEndian,
    version,
    flags,
    hdrLen,
    typeStart: hdrLen + typeOff,
    typeEnd: hdrLen + typeOff + typeLen,
    strStart: hdrLen + strOff,
    strEnd: hdrLen + strOff + strLen,
  };
}
