/**
 * Where the debug files of a kernel are (issue 15 §2): pure candidate lists, in the order
 * they are tried. The caller probes them (readFile.ts `findDebugFile`) and verifies the
 * one it opens (verify.ts) before using it. No file system, no `process`: the caller
 * passes the release (uname -r), build ids, roots and settings.
 */
import { joinPath, normalizePath } from './paths';

export interface VmlinuxQuery {
  /** `ksym.vmlinux` / `--vmlinux`: a file, or a directory searched like a root. */
  readonly explicit?: string;
  /** The release of the kernel the symbols belong to (uname -r, or from the log / index). */
  readonly release?: string;
  /** GNU build id (hex) of that kernel, when known (/sys/kernel/notes, a log's build id line). */
  readonly buildId?: string;
  /** Workspace folders that may be kernel build trees (a vmlinux at their root). */
  readonly workspaceRoots?: readonly string[];
  /** File-system root prefix ('' = /; tests pass a fake root). */
  readonly root?: string;
}

export interface Candidate {
  readonly path: string;
  /** Why this place (shown when nothing fits: "tried /usr/lib/debug/boot/vmlinux-6.1.0-57-amd64 (distribution debug package)"). */
  readonly why: string;
  /** The candidate came from an explicit setting: a miss there is reported, not skipped. */
  readonly explicit?: boolean;
}

const under = (root: string | undefined, p: string): string => (root ? joinPath(root, p.replace(/^\/+/, '')) : p);

/** `/usr/lib/debug/.build-id/xx/yyyy.debug` for a build id (and the un-suffixed form some distributions use). */
export function buildIdPaths(buildId: string, root?: string): Candidate[] {
  const id = buildId.toLowerCase();
  if (!/^[0-9a-f]{4,}$/.test(id)) return [];
  const base = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}`;
  return [
    { path: under(root, `${base}.debug`), why: `build-id debug link for ${id}` },
    { path: under(root, base), why: `build-id link for ${id}` },
  ];
}

/** Candidates inside a directory given as --vmlinux DIR / ksym.vmlinux (a build tree, a debug root, a flat folder). */
export function vmlinuxInDir(dir: string, release?: string): Candidate[] {
  const d = normalizePath(dir);
  const out: Candidate[] = [{ path: joinPath(d, 'vmlinux'), why: `vmlinux in ${d}`, explicit: true }];
  if (release) {
    out.push({ path: joinPath(d, `vmlinux-${release}`), why: `vmlinux-${release} in ${d}`, explicit: true });
    out.push({ path: joinPath(d, `usr/lib/debug/boot/vmlinux-${release}`), why: `debug package layout under ${d}`, explicit: true });
    out.push({ path: joinPath(d, `usr/lib/debug/lib/modules/${release}/vmlinux`), why: `debug package layout under ${d}`, explicit: true });
    out.push({ path: joinPath(d, `boot/vmlinux-${release}`), why: `boot layout under ${d}`, explicit: true });
  }
  return out;
}

/** Every place a vmlinux with DWARF may be, in order. */
export function vmlinuxCandidates(q: VmlinuxQuery): Candidate[] {
  const out: Candidate[] = [];
  if (q.explicit) {
    out.push({ path: normalizePath(q.explicit), why: 'the file given (--vmlinux / ksym.vmlinux)', explicit: true });
    out.push(...vmlinuxInDir(q.explicit, q.release));
    return out; // an explicit setting is the only place looked at
  }
  for (const w of q.workspaceRoots ?? []) out.push({ path: joinPath(w, 'vmlinux'), why: `kernel build tree ${w}` });
  const r = q.release;
  if (r) {
    out.push({ path: under(q.root, `/usr/lib/debug/boot/vmlinux-${r}`), why: 'distribution debug package (Debian, Ubuntu)' });
    out.push({ path: under(q.root, `/usr/lib/debug/lib/modules/${r}/vmlinux`), why: 'distribution debug package (Fedora, RHEL, SUSE)' });
    out.push({ path: under(q.root, `/boot/vmlinux-${r}`), why: 'boot directory' });
  }
  if (q.buildId) out.push(...buildIdPaths(q.buildId, q.root));
  return out;
}

export interface ModuleQuery {
  /** Module name as the kernel prints it ([xfs], [nf_conntrack]); '-' and '_' are equivalent. */
  readonly name: string;
  readonly release?: string;
  /** The module's GNU build id (its .note.gnu.build-id, /sys/module/X/notes). */
  readonly buildId?: string;
  /** `--module FILE.ko|DIR` / settings: files, or directories searched recursively by the caller. */
  readonly explicit?: readonly string[];
  /** The stripped .ko's directory and its .gnu_debuglink name, when the stripped file is known. */
  readonly debugLink?: { readonly dir: string; readonly file: string };
  readonly root?: string;
}

/** The file names a module may have (xfs.ko, with '-'/'_' variants; compressed forms are the caller's concern). */
export function moduleFileNames(name: string): string[] {
  const a = name.replace(/-/g, '_'),
    b = name.replace(/_/g, '-');
  return [...new Set([`${name}.ko`, `${a}.ko`, `${b}.ko`, `${name}.ko.debug`, `${a}.ko.debug`, `${b}.ko.debug`])];
}

/**
 * Candidates for a module's DWARF: explicit files; the build id path; the debuglink next
 * to the stripped file and under /usr/lib/debug; the distribution debug tree (searched by
 * name under /usr/lib/debug/lib/modules/<release>: the caller walks that directory).
 */
export function moduleCandidates(q: ModuleQuery): { files: Candidate[]; searchDirs: Candidate[]; names: string[] } {
  const files: Candidate[] = [],
    searchDirs: Candidate[] = [];
  const names = moduleFileNames(q.name);
  for (const e of q.explicit ?? []) {
    if (e.endsWith('.ko') || e.endsWith('.debug'))
      files.push({ path: normalizePath(e), why: 'the module file given (--module)', explicit: true });
    else searchDirs.push({ path: normalizePath(e), why: 'the module directory given (--module)', explicit: true });
  }
  if (q.buildId) files.push(...buildIdPaths(q.buildId, q.root));
  if (q.debugLink) {
    const { dir, file } = q.debugLink;
    files.push({ path: joinPath(dir, file), why: '.gnu_debuglink next to the module' });
    files.push({ path: joinPath(dir, `.debug/${file}`), why: '.gnu_debuglink in .debug/' });
    files.push({
      path: under(q.root, joinPath('/usr/lib/debug', joinPath(dir, file).replace(/^\/+/, ''))),
      why: '.gnu_debuglink under /usr/lib/debug',
    });
  }
  if (q.release) searchDirs.push({ path: under(q.root, `/usr/lib/debug/lib/modules/${q.release}`), why: 'distribution debug package' });
  return { files, searchDirs, names };
}
