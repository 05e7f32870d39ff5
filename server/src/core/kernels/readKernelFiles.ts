/**
 * Reading what kernel files say about their kernel: a vmlinux (read by offset: header,
 * section headers, `.notes`, `.rodata` in chunks: a 633 MB -dbg vmlinux costs a few MB
 * of reads), a module (`.modinfo` vermagic, `.note.gnu.build-id`), raw notes files
 * (/sys/kernel/notes), /proc/version copies.
 *
 * The ELF view and the pread file source are the DWARF reader's (core/dwarf/elf.ts
 * ElfView, core/dwarf/readFile.ts fileSource).
 */
import { ElfView } from '../dwarf/elf';
import { fileSource } from '../dwarf/readFile';
import { readGuardedSync } from '../common/readGuarded';
import { decompressModuleSync } from '../modules/decompress';
import { MAX_MODULE_FILE } from '../modules/read';
import { parseElf } from '../modules/elf';
import { archFromElfMachine, type Arch } from './arch';
import { findBanner, parseVermagic, releaseFromPath, buildIdInNotes, type Banner } from './source';

export interface VmlinuxInfo {
  path: string;
  buildId?: string;
  banner?: Banner;
  /** File offset of the banner string. */
  bannerOffset?: number;
  arch?: Arch;
  /** The file has DWARF (.debug_info). */
  hasDebugInfo: boolean;
  /** The file has a .BTF section. */
  hasBtf: boolean;
  /** ET_EXEC / ET_DYN (a vmlinux) rather than ET_REL. */
  executable: boolean;
}

const CHUNK = 4 << 20;

/** What a vmlinux says about itself. Throws FormatError (naming the file) on a bad ELF. */
export function readVmlinuxInfo(path: string): VmlinuxInfo {
  const src = fileSource(path);
  try {
    const elf = new ElfView(src);
    const info: VmlinuxInfo = {
      path,
      buildId: elf.buildId(),
      arch: archFromElfMachine(elf.machine, elf.is64),
      hasDebugInfo: !!elf.section('.debug_info'),
      hasBtf: !!elf.section('.BTF'),
      executable: elf.type === 2 || elf.type === 3,
    };
    // linux_banner is in .rodata; other read-only alloc sections as a fallback.
    const ro = elf.sections.filter((s) => s.name === '.rodata');
    const rest = elf.sections.filter(
      (s) => s.name !== '.rodata' && s.type === 1 && (s.flags & 0x2) !== 0 && (s.flags & 0x5) === 0 && s.size <= 64 << 20,
    );
    // A kernel built once for several versions (6.1+: init/version.c's weak linux_banner, then
    // version-timestamp.c's at the final link) holds a dead copy without the build number
    // ("# SMP ...") before the real one ("#1 SMP ...", or whatever KBUILD_BUILD_VERSION was):
    // a banner with a build number wins, else the first (the rest of its section is searched,
    // no further).
    let first: { banner: Banner; offset: number } | undefined;
    for (const s of [...ro, ...rest]) {
      if (s.offset + s.size > src.size) continue;
      for (let off = 0; off < s.size; off += CHUNK - 1024) {
        const len = Math.min(CHUNK, s.size - off);
        const bytes = elf.rawSlice(s, off, len);
        for (let at = 0; ;) {
          const found = findBanner(bytes, s.offset + off, at);
          if (!found) break;
          if (/^#[^\s#]/.test(found.banner.version)) {
            info.banner = found.banner;
            info.bannerOffset = found.offset;
            return info;
          }
          first ??= found;
          at = found.offset - (s.offset + off) + 1;
        }
        if (off + len >= s.size) break;
      }
      if (first) break;
    }
    if (first) {
      info.banner = first.banner;
      info.bannerOffset = first.offset;
    }
    return info;
  } finally {
    src.close?.();
  }
}

export interface ModuleInfo {
  path: string;
  name: string;
  buildId?: string;
  vermagicRelease?: string;
  vermagic?: string;
  /** Release from the path (…/lib/modules/REL/…), when it names one. */
  pathRelease?: string;
}

/** What a module (.ko, .ko.xz/.gz/.zst) says about its kernel. Throws FormatError on a bad file. */
export function readModuleInfo(path: string): ModuleInfo {
  const raw = readGuardedSync(path, { maxBytes: MAX_MODULE_FILE, what: 'module file (.ko, .ko.gz, .ko.xz, .ko.zst)' });
  const bytes = decompressModuleSync(raw, path);
  const elf = parseElf(bytes, path);
  const vm = elf.modinfoValue('vermagic');
  const v = vm !== undefined ? parseVermagic(vm) : undefined;
  return {
    path,
    name: elf.moduleName(),
    buildId: elf.buildId(),
    vermagic: vm,
    vermagicRelease: v?.release,
    pathRelease: releaseFromPath(path)?.release,
  };
}

/** The GNU build id in a raw notes file (/sys/kernel/notes, /sys/module/M/notes/.note.gnu.build-id). */
export function readNotesBuildId(path: string, littleEndian = true): string | undefined {
  // sysfs (or a copy of it): guarded, at most 1 MiB (a notes file is a few hundred bytes).
  return buildIdInNotes(readGuardedSync(path, { maxBytes: 1 << 20, pseudo: true, what: 'notes file' }), littleEndian);
}
