;; The line-program indexer (line.ts) as WebAssembly: placeholder, filled in by the next commit.
(module)
