import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { moduleCount } from '../../../client/src/statusText';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { parseSettings } from '../../../server/src/lsp/settings';
import { defaultModulePaths } from '../../../server/src/core/modules/store';

describe('status tooltip: module count', () => {
  it('counts loaded modules only, singular and plural', () => {
    // The index's own split: [__builtin__ftrace] and [bpf] are pseudo modules, [ext4] a module.
    const text = [
      'ffffffff81000000 T _stext',
      'ffffffffc0000000 t ftrace_trampoline\t[__builtin__ftrace]',
      'ffffffffc0001000 t bpf_prog_x\t[bpf]',
    ].join('\n');
    const idx = buildIndex([{ file: '/tmp/k', kind: 'kallsyms', bytes: Buffer.from(text + '\n') }]);
    const s = idx.stats();
    expect(moduleCount({ modules: s.modules + s.pseudoModules, pseudoModules: s.pseudoModules })).toBe('');
    const one = buildIndex([
      { file: '/tmp/k', kind: 'kallsyms', bytes: Buffer.from(`${text}\nffffffffc0002000 t ext4_x\t[ext4]\n`) },
    ]).stats();
    expect(moduleCount({ modules: one.modules + one.pseudoModules, pseudoModules: one.pseudoModules })).toBe(', 1 module');
    expect(moduleCount({ modules: 1201, pseudoModules: 1 })).toBe(', 1,200 modules');
    // An older server without the field: every module counted.
    expect(moduleCount({ modules: 2 })).toBe(', 2 modules');
  });
});

describe('ksym.modules in the Settings UI', () => {
  it('is a plain array (the Settings UI cannot edit ["array","null"]) with default []', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    const m = pkg.contributes.configuration.properties['ksym.modules'];
    expect(m.type).toBe('array');
    expect(m.default).toEqual([]);
  });
  it('[] and null (older settings) both mean /lib/modules/$(uname -r); a list is used as given', () => {
    expect(parseSettings({ modules: [] }).modules).toEqual(defaultModulePaths());
    expect(parseSettings({ modules: null }).modules).toEqual(defaultModulePaths());
    expect(parseSettings({}).modules).toEqual(defaultModulePaths());
    expect(parseSettings({ modules: ['/srv/mods'] }).modules).toEqual(['/srv/mods']);
    expect(parseSettings({ modules: [] }).problems).toEqual([]);
  });
});
