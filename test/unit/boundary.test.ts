// The layer rules of server/src (README, Design): core/ is pure and reads files only in
// its load/store/read files; only lsp/ speaks LSP; the CLI is built on core/ alone.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/corpus';

const SRC = resolve(ROOT, 'server/src');
const CORE = join(SRC, 'core');
const LSP = join(SRC, 'lsp');
const CLI = join(SRC, 'cli');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module a file imports or re-exports (static, dynamic and require). */
function imports(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) out.push(m[1]);
  for (const m of src.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]);
  for (const m of src.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

const rel = (f: string) => relative(ROOT, f);
/** Where a relative import of `f` lands. */
const target = (f: string, spec: string) => resolve(f, '..', spec);

describe('server/src/core is pure', () => {
  const all = files(CORE);
  it('has files', () => expect(all.length).toBeGreaterThan(5));
  for (const f of all) {
    it(rel(f), () => {
      const src = readFileSync(f, 'utf8');
      const readsFiles = /^(load|store|read)/.test(basename(f));
      for (const spec of imports(src)) {
        expect(spec, `${rel(f)} imports ${spec}: no LSP or editor code in core/`).not.toMatch(/^vscode/);
        expect(spec, `${rel(f)} imports ${spec}: core/ has no process (exit codes, stdio belong to cli/ and lsp/)`).not.toMatch(
          /^(node:)?process$/,
        );
        if (!readsFiles) {
          expect(spec, `${rel(f)} imports ${spec}: only a folder's load/store/read file reads files`).not.toMatch(
            /^(node:)?fs(\/promises)?$/,
          );
        }
        if (spec.startsWith('.')) expect(target(f, spec).startsWith(CORE + '/'), `${rel(f)} imports ${spec} outside core`).toBe(true);
      }
      // The global `process` (process.stdout, process.exit, process.env, ...), by text.
      expect(src.match(/\bprocess\./)?.[0], `${rel(f)} uses the global process`).toBeUndefined();
    });
  }
});

describe('server/src/cli is built on core/ only', () => {
  for (const f of files(CLI)) {
    it(rel(f), () => {
      for (const spec of imports(readFileSync(f, 'utf8'))) {
        expect(spec, `${rel(f)} imports ${spec}`).not.toMatch(/^vscode/);
        if (spec.startsWith('.')) expect(target(f, spec).startsWith(LSP + '/'), `${rel(f)} imports ${spec} from lsp/`).toBe(false);
      }
    });
  }
});

describe('only server/src/lsp speaks LSP', () => {
  // protocol.ts defines the custom messages (vscode-languageserver-protocol types) for client and server.
  const outside = files(SRC).filter((f) => !f.startsWith(LSP + '/') && f !== join(SRC, 'protocol.ts'));
  for (const f of outside) {
    it(rel(f), () => {
      for (const spec of imports(readFileSync(f, 'utf8'))) expect(spec, `${rel(f)} imports ${spec}`).not.toMatch(/^vscode-languageserver/);
    });
  }
});

describe('files are read through the guarded reader (core/common/readGuarded.ts)', () => {
  // node:fs's whole-file and stream readers open a FIFO blocking, read /dev/zero without
  // end and take any size: every file ksym did not write itself is read with openGuarded,
  // readGuardedSync or readGuardedText instead (issue 14). A new reader that needs one of
  // these names goes on this list with the reason it is safe.
  const ALLOWED: Record<string, string> = {
    // The guarded reader itself: opens with O_NONBLOCK after the type check.
    'server/src/core/common/readGuarded.ts': 'openSync readSync',
    // BTF: preads (readSync) on descriptors opened by openGuarded, by offset and length.
    'server/src/core/btf/read.ts': 'readSync',
    // The V8 code cache: reads its own bundle and the cache files it writes, opens them to write.
    'server/src/codeCache.ts': 'openSync readFileSync',
    // debuginfod: openSync writes the cache's temporary files; createReadStream serves
    // file:// servers (a regular file checked by stat, copied under the download's byte and time caps).
    'server/src/core/kernels/storeDebuginfod.ts': 'openSync createReadStream',
  };
  const READERS = ['readFileSync', 'openSync', 'createReadStream', 'readFile', 'open', 'openAsBlob', 'readSync'];
  /** The names a file imports from node:fs / node:fs/promises, and whether it imports the module whole. */
  function fsImports(src: string): { names: string[]; whole: boolean } {
    const names: string[] = [];
    let whole = false;
    for (const m of src.matchAll(/^\s*import\s+([^'";]*?)\s+from\s+['"](?:node:)?fs(?:\/promises)?['"]/gm)) {
      const clause = m[1];
      const braces = clause.match(/\{([^}]*)\}/);
      if (braces)
        for (const part of braces[1].split(',')) {
          const name = part
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0];
          if (name) names.push(name);
        }
      if (/(^|,)\s*(\*\s+as\s+\w+|\w+)\s*(,|$)/.test(clause.replace(/\{[^}]*\}/, ''))) whole = true;
    }
    // require() or import(): the names destructured from it (`const { a, b } = require('node:fs/promises')`), else whole
    const dyn = /\b(?:import|require)\s*\(\s*['"](?:node:)?fs(?:\/promises)?['"]\s*\)/g;
    const named = /const\s*\{([^}]*)\}\s*=\s*(?:await\s+import|require)\s*\(\s*['"](?:node:)?fs(?:\/promises)?['"]\s*\)/g;
    let destructured = 0;
    for (const m of src.matchAll(named)) {
      destructured++;
      for (const part of m[1].split(',')) {
        const name = part.trim().split(/\s*:\s*/)[0];
        if (name) names.push(name);
      }
    }
    if ([...src.matchAll(dyn)].length > destructured) whole = true;
    return { names, whole };
  }
  it('the scan sees an import', () => {
    expect(fsImports("import { readFileSync as r, statSync } from 'node:fs';\nimport * as fs from 'fs';")).toEqual({
      names: ['readFileSync', 'statSync'],
      whole: true,
    });
  });
  it('the scan sees a dynamic import, destructured or whole', () => {
    expect(fsImports("const { readdir, stat } = await import('node:fs/promises');")).toEqual({ names: ['readdir', 'stat'], whole: false });
    expect(fsImports("const fs = await import('node:fs/promises');").whole).toBe(true);
    expect(fsImports("const { open } = await import('fs');").names).toEqual(['open']);
    expect(fsImports("const { readdir } = require('node:fs/promises') as typeof P;")).toEqual({ names: ['readdir'], whole: false });
    expect(fsImports("const fs = require('node:fs');").whole).toBe(true);
  });
  for (const f of files(SRC)) {
    it(rel(f), () => {
      const { names, whole } = fsImports(readFileSync(f, 'utf8'));
      const allowed = (ALLOWED[rel(f)] ?? '').split(' ');
      expect(whole, `${rel(f)} imports node:fs whole: import the names it uses (the guarded reader for reads)`).toBe(false);
      for (const n of names)
        if (READERS.includes(n))
          expect(
            allowed,
            `${rel(f)} imports ${n} from node:fs: read files with core/common/readGuarded.ts (or add it to ALLOWED with the reason)`,
          ).toContain(n);
    });
  }
});
