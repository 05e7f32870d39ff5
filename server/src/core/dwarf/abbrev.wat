;; The abbreviation table parser (abbrev.ts) as WebAssembly: placeholder, filled in by the next commit.
(module)
