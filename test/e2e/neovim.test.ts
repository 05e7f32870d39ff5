/**
 * Another LSP editor: Neovim (Debian's 0.7) starts `ksym lsp --stdio`, opens a log,
 * requests hover and workspace symbols, and prints the answers as JSON. Its settings come
 * in the lspconfig form (`init_options = { settings = { ksym = {...} } }`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/lspclient';
import { liveKallsyms, SYSTEM_MAP } from '../helpers/corpus';

const haveNvim = spawnSync('nvim', ['--version']).status === 0;
if (!haveNvim) console.warn('skipping Neovim test: nvim is not installed (apt-get install neovim)');

describe.skipIf(!haveNvim)('Neovim as the LSP client', () => {
  it('hovers a frame and searches workspace symbols through ksym lsp --stdio', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-nvim-'));
    const live = !!liveKallsyms();
    const source = live ? '/proc/kallsyms' : SYSTEM_MAP;
    // A real frame of this kernel when readable, else a System.map symbol.
    const stack = live ? /\] (\S+\+0x[0-9a-f]+\/0x[0-9a-f]+)$/m.exec(readFileSync('/proc/self/stack', 'latin1'))?.[1] : undefined;
    const frame = stack ?? 'do_syscall_64+0x10/0x90';
    const log = join(dir, 'test.oops');
    writeFileSync(log, `Call Trace:\n ${frame}\n`);
    const out = join(dir, 'out.json');
    const lua = join(dir, 'test.lua');
    writeFileSync(
      lua,
      `
local out = {}
local client_id = vim.lsp.start_client({
  name = 'ksym',
  cmd = { '${process.execPath}', '${CLI}', 'lsp', '--stdio' },
  -- The lspconfig form users copy (issue 13 §3): Neovim 0.7 has no workspace/configuration.
  -- ({ '' } is an empty list: an empty Lua table would go out as a JSON object.)
  init_options = { settings = { ksym = {
    kallsyms = ${live ? "{ '/proc/kallsyms' }" : "{ '' }"}, systemMap = ${live ? "{ '' }" : `{ '${source}' }`}, btf = '',
  } } },
  handlers = { ['ksym/status'] = function(_, result) out.status = result end },
})
vim.cmd('edit ${log}')
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, client_id)
vim.wait(20000, function() return out.status ~= nil and out.status.state ~= 'indexing' end, 50)
local hover = vim.lsp.buf_request_sync(buf, 'textDocument/hover',
  { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 1, character = 3 } }, 20000)
for _, r in pairs(hover or {}) do if r.result then out.hover = r.result.contents.value end end
local syms = vim.lsp.buf_request_sync(buf, 'workspace/symbol', { query = 'do_syscall_64' }, 20000)
for _, r in pairs(syms or {}) do if r.result then out.symbols = r.result end end
local f = io.open('${out}', 'w'); f:write(vim.fn.json_encode(out)); f:close()
vim.lsp.stop_client(client_id)
vim.cmd('qa!')
`,
    );
    const env = {
      ...process.env,
      XDG_CONFIG_HOME: join(dir, 'c'),
      XDG_DATA_HOME: join(dir, 'd'),
      XDG_STATE_HOME: join(dir, 's'),
      XDG_CACHE_HOME: join(dir, 'k'),
    };
    const r = spawnSync('nvim', ['--headless', '--clean', '-n', '-c', `luafile ${lua}`], { env, encoding: 'utf8', timeout: 90000 });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(out, 'utf8'));
    expect(res.status.state).toBe('ready');
    expect(res.status.sources[0]).toBe(source);
    expect(res.status.settingsSource).toBe('initializationOptions {settings: {ksym: ...}}');
    expect(res.status.messages).toEqual([]);
    expect(res.hover).toContain(live ? `→ **\`${frame}\`**` : 'do_syscall_64');
    expect(res.symbols[0].name).toBe('do_syscall_64');
  });
});
