// A vitest reporter (vitest.config.mjs) that ends the run with one line: how many tests
// skipped and why (issue 13 §6). Reasons come from the `skipping <reason>` console lines
// the test helpers print while a file is collected (test/helpers/skip.ts, corpus.ts,
// kernelData.ts) and from `ctx.skip(note)`; a skipped test of a file that gave no reason
// is counted as such, so a silent skip shows.
const PREFIX = /^skipping (.+)$/gm;

/** A reason without the paths and details that differ between tests, to group by. */
function short(reason) {
  const r = reason.replace(/\s+/g, ' ').trim();
  const absent = /^.*?: (\S+) is absent$/.exec(r);
  if (!absent) return r;
  if (/corpus|debian-6\.1\.0-56-amd64/.test(absent[1])) return 'the shared corpus (../shared/corpus) is absent';
  return `${absent[1]} is absent`;
}

export default class SkipReporter {
  /** taskId (file or test) → reasons printed under it. */
  reasons = new Map();

  onUserConsoleLog(log) {
    if (!log.taskId) return;
    for (const m of log.content.matchAll(PREFIX)) {
      const list = this.reasons.get(log.taskId) ?? [];
      const r = short(m[1]);
      if (!list.includes(r)) list.push(r);
      this.reasons.set(log.taskId, list);
    }
  }

  /** The reasons printed under the test, else under its nearest suite that printed one, else under its file. */
  reasonsOf(t, fileReasons) {
    for (let n = t; n && n.type !== 'module'; n = n.parent) {
      const r = this.reasons.get(n.id);
      if (r) return r;
    }
    return fileReasons;
  }

  onTestRunEnd(testModules) {
    const byReason = new Map();
    let skipped = 0;
    let total = 0;
    for (const mod of testModules) {
      const fileReasons = this.reasons.get(mod.id) ?? [];
      for (const t of mod.children.allTests()) {
        total++;
        const r = t.result();
        if (r.state !== 'skipped') continue;
        if (t.options.mode === 'todo') continue;
        skipped++;
        const why = r.note ?? this.reasonsOf(t, fileReasons).join('; ');
        const key = why || `no reason given (${mod.relativeModuleId ?? mod.moduleId})`;
        byReason.set(key, (byReason.get(key) ?? 0) + 1);
      }
    }
    const parts = [...byReason].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n} × ${why}`);
    const line = skipped === 0 ? `skipped: none of ${total} tests` : `skipped: ${skipped} of ${total} tests: ${parts.join(' | ')}`;
    process.stdout.write(`\n${line}\n`);
  }
}
