/**
 * The kernel a symbol source belongs to, from what the source carries: /proc/version
 * text, the `linux_banner` string inside a vmlinux, the release in a file or directory
 * name, a module's `vermagic=`, and build ids in ELF notes. Pure: bytes and strings in.
 */
import { parseBanner, type Banner } from './identity';

export { parseBanner, type Banner } from './identity';

/** /proc/version (or a saved copy, a `version` file): the banner text. */
export function parseProcVersion(text: string): Banner | undefined {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  return parseBanner(t.length > 1024 ? t.slice(0, 1024) : t);
}

const LV = [0x4c, 0x69, 0x6e, 0x75, 0x78, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20]; // "Linux version "

/**
 * Find `linux_banner` ("Linux version REL (…) … VERSION\n\0") in some bytes (a vmlinux's
 * .rodata). The first "Linux version " followed by a digit and ending in a newline or NUL
 * within 1 KiB wins (`linux_proc_banner` is "%s version %s", not matched). `base` is
 * added to the returned offset; the search starts at index `start` of `bytes`.
 */
export function findBanner(bytes: Uint8Array, base = 0, start = 0): { banner: Banner; offset: number; text: string } | undefined {
  const n = bytes.length - LV.length;
  for (let i = bytes.indexOf(0x4c, start); i >= 0 && i <= n; i = bytes.indexOf(0x4c, i + 1)) {
    let k = 1;
    while (k < LV.length && bytes[i + k] === LV[k]) k++;
    if (k < LV.length) continue;
    const d = bytes[i + LV.length];
    if (d === undefined || d < 0x30 || d > 0x39) continue;
    let e = i + LV.length;
    const lim = Math.min(bytes.length, i + 1024);
    while (e < lim && bytes[e] !== 0 && bytes[e] !== 0x0a) e++;
    if (e >= lim) continue;
    let text = '';
    for (let j = i; j < e; j++) text += String.fromCharCode(bytes[j]);
    const banner = parseBanner(text);
    if (banner) return { banner, offset: base + i, text };
  }
  return undefined;
}

/**
 * The release a path names: `System.map-REL`, `vmlinux-REL`, `vmlinuz-REL`, `config-REL`,
 * `initrd.img-REL`, `…/lib/modules/REL/…`, `…/usr/src/linux-headers-REL`. The release
 * must start with a digit. Undefined otherwise.
 */
export function releaseFromPath(path: string): { release: string; from: string } | undefined {
  const p = path.replace(/\\/g, '/');
  const m = /(?:^|\/)lib\/modules\/(\d[^/\s]{0,200})(?:\/|$)/.exec(p);
  if (m) return { release: m[1], from: 'lib/modules/' + m[1] };
  const base = p.slice(p.lastIndexOf('/') + 1);
  const f =
    /^(System\.map|kallsyms|vmlinux|vmlinuz|config|initrd\.img|initramfs|linux-headers|linux-image|Module\.symvers)-(\d[^/\s]{0,200}?)(?:\.(?:img|debug|btf|gz|xz|zst)){0,3}$/.exec(
      base,
    );
  if (f) return { release: f[2], from: base };
  return undefined;
}

export interface Vermagic {
  release: string;
  /** The words after the release: `SMP preempt mod_unload modversions`. */
  flags: string[];
  raw: string;
}

/** `.modinfo` `vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions ` (include/linux/vermagic.h). */
export function parseVermagic(value: string): Vermagic | undefined {
  const raw = value.length > 512 ? value.slice(0, 512) : value;
  const words = raw.trim().split(/\s+/);
  if (words.length === 0 || !/^\d/.test(words[0])) return undefined;
  return { release: words[0], flags: words.slice(1), raw };
}

/**
 * Notes and the GNU build id among them (all notes are walked: a vmlinux's `.notes` has Xen
 * notes before it; /sys/kernel/notes and /sys/module/M/notes/.note.gnu.build-id are raw
 * notes): the DWARF reader's walkers, one implementation for the tree.
 */
export { parseNoteBytes as walkNotes, buildIdFromNotes as buildIdInNotes } from '../dwarf/elf';

/** A build id as ksym compares them: lower-case even-length hex of 2..128 digits, else undefined. */
export function normalizeBuildId(id: string): string | undefined {
  const s = id.trim().toLowerCase();
  return /^(?:[0-9a-f]{2}){1,64}$/.test(s) ? s : undefined;
}

/**
 * Whether a build id printed in a log (always 40 digits: `%20phN` of a zero-filled
 * 20-byte buffer) is the build id of a file (16, 20 or more bytes).
 */
export function buildIdsMatch(fromLog: string, fromFile: string): boolean {
  const a = fromLog.toLowerCase();
  const b = fromFile.toLowerCase();
  if (a === b) return true;
  if (b.length < 40 && a.length === 40) return a === b.padEnd(40, '0');
  if (b.length > 40 && a.length === 40) return false;
  return false;
}
