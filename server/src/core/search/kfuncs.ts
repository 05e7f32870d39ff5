/**
 * Search restricted to kfuncs (BTF FUNCs with a `bpf_kfunc` decl tag): the `kfunc:` query
 * prefix and `ksym search --kfuncs`. A post-filter over the ranked hits, so the order is
 * the usual one.
 */
import { BtfSource, type SearchSource } from './sources';
import { MAX_SEARCH_LIMIT, search, type SearchHit, type SearchOptions } from './ranking';

const PREFIX = /^\s*kfunc:\s*/i;

/** `kfunc:NAME` → { query: 'NAME', kfuncs: true }. */
export function kfuncQuery(query: string): { query: string; kfuncs: boolean } {
  return PREFIX.test(query) ? { query: query.replace(PREFIX, ''), kfuncs: true } : { query, kfuncs: false };
}

/** The BTF FUNC a hit stands for is a kfunc. */
export function isKfuncHit(h: SearchHit): boolean {
  if (h.btf) return h.btf.source.btf.isKfunc(h.btf.source.ids[h.btf.id]);
  if (h.source instanceof BtfSource) return h.source.btf.isKfunc(h.source.ids[h.id]);
  return false;
}

/** Every kfunc hit for `query` (an empty query lists kfuncs by name), at most opts.cap. */
export function searchKfuncs(sources: readonly SearchSource[], query: string, opts: SearchOptions = {}): SearchHit[] {
  const cap = opts.cap ?? 100;
  if (query.trim() === '') {
    const out: SearchHit[] = [];
    for (const s of sources) {
      if (!(s instanceof BtfSource)) continue;
      for (let i = 0; i < s.ids.length && out.length < cap; i++) {
        if (s.btf.isKfunc(s.ids[i])) out.push({ source: s, id: i, name: s.nameOf(i), match: 2, score: 0, tier: 0 });
      }
    }
    return out;
  }
  return search(sources, query, { cap: MAX_SEARCH_LIMIT }).filter(isKfuncHit).slice(0, cap);
}
