/** Tiny relocatable fixtures with a GNU build id, built with the real toolchain (gcc, ld -r --build-id=sha1). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function haveToolchain(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    execFileSync('ld', ['--version'], { stdio: 'ignore' });
    execFileSync('readelf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('skipping debuginfod fixture tests: gcc, ld or readelf is missing');
    return false;
  }
}

/** `gcc -g -c m.c -o m.o && ld -r --build-id=sha1 -o NAME.ko m.o`; returns the path and readelf -n's build id. */
export function buildFixture(dir: string, name: string, body: string): { path: string; buildId: string } {
  mkdirSync(dir, { recursive: true });
  const c = join(dir, `${name}.c`);
  writeFileSync(c, body);
  execFileSync('gcc', ['-g', '-c', c, '-o', join(dir, `${name}.o`)]);
  const ko = join(dir, `${name}.ko`);
  execFileSync('ld', ['-r', '--build-id=sha1', '-o', ko, join(dir, `${name}.o`)]);
  const id = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', ko], { encoding: 'utf8' }))![1];
  return { path: ko, buildId: id };
}

/** Whether a network namespace of our own can be made (root, debuginfod, unshare and ip installed); says why not. */
export function canNetns(): boolean {
  if (process.getuid?.() !== 0) {
    console.warn('skipping the real debuginfod test: not root (unshare --net needs it)');
    return false;
  }
  for (const tool of ['debuginfod', 'unshare', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      console.warn(`skipping the real debuginfod test: ${tool} is not installed (apt-get install debuginfod libarchive-tools iproute2)`);
      return false;
    }
  }
  const r = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up'], { timeout: 10000 });
  if (r.status !== 0) {
    console.warn(`skipping the real debuginfod test: unshare --net is not permitted here (${String(r.stderr).trim()})`);
    return false;
  }
  return true;
}
