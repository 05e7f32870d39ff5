import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/corpus';

const CORE = resolve(ROOT, 'server/src/core');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('server/src/core is pure', () => {
  const all = files(CORE);
  it('has files', () => expect(all.length).toBeGreaterThan(5));
  for (const f of all) {
    it(relative(ROOT, f), () => {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1];
        // No LSP or editor code, and no reaching out of core into server glue.
        expect(spec, `${relative(ROOT, f)} imports ${spec}`).not.toMatch(/^vscode/);
        if (spec.startsWith('.')) expect(resolve(f, '..', spec).startsWith(CORE), `${relative(ROOT, f)} imports ${spec} outside core`).toBe(true);
      }
      expect(src).not.toMatch(/require\(['"]vscode/);
    });
  }
});
