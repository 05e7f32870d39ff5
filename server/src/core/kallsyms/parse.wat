;; The fast path of the kallsyms parser (kallsyms.ts), as WebAssembly: runs at full speed from
;; its first call (no JIT warm-up), which is what a server start needs.
;;
;; It parses canonical lines only:
;;   16 hex digits, ' ', type letter, ' ', name (bytes > 0x20), then '\n' or end of input
;;   ... or name, '\t', '[', module (bytes > 0x20, no ']'), ']', then '\n' or end of input
;; and stops at the first other line (the JS line parser takes that line, then calls again).
;; It also stops at an address of all ones (the stub System.map line is decided in JS).
;;
;; scripts/gen-wasm.mjs compiles this file with wabt into kallsymswasm.ts;
;; test/unit/kallsyms-wasm.test.ts checks that the two are in sync.
;;
;; Memory (imported, little-endian):
;;   [0, 256)     HEX: digit value of each byte, 0xff when not a hex digit
;;   [256, 512)   TYPE_OK: 1 for the type letters kallsyms uses (A-Z a-z ? -)
;;   [512, 1024)  MARKS: possible section markers among the symbols written (see emit)
;;   $in..        the input window
;;   $out..       output columns of $cap entries, each 4 bytes: hi, lo, name offset, name length,
;;                line, module offset, module length; then $cap type bytes
(module
  (import "e" "m" (memory 1))
  ;; Where the last call stopped: position (relative to $in) and the line number there.
  (global $stopPos (export "pos") (mut i32) (i32.const 0))
  (global $stopLine (export "line") (mut i32) (i32.const 0))
  ;; Module lines among the symbols of the last call.
  (global $modCount (export "mods") (mut i32) (i32.const 0))
  ;; 1 when the last call wrote a nonzero address.
  (global $nonZero (export "nz") (mut i32) (i32.const 0))

  ;; parse(in, len, pos, line, final, out, cap, nameBase) -> symbols written
  ;;   in, len   the window; pos where to start in it; line its line number
  ;;   final     1 when the window ends the input (a line may end without '\n')
  ;;   nameBase  added to positions in the window for the name/module offsets written
  (func (export "parse")
    (param $in i32) (param $len i32) (param $pos i32) (param $line i32) (param $final i32)
    (param $out i32) (param $cap i32) (param $nameBase i32)
    (result i32)
    (local $n i32) (local $s i32) (local $end i32) (local $p i32) (local $c i32)
    (local $h i32) (local $l i32) (local $bad i32) (local $d i32) (local $k i32)
    (local $t i32) (local $ns i32) (local $nl i32) (local $ms i32) (local $me i32)
    (local $next i32) (local $mo i32) (local $ml i32) (local $mods i32) (local $o i32) (local $any i32) (local $m i32) (local $q i32)
    (local.set $s (i32.add (local.get $in) (local.get $pos)))
    (local.set $end (i32.add (local.get $in) (local.get $len)))
    (block $done
      (loop $lines
        (br_if $done (i32.ge_u (local.get $s) (local.get $end)))
        (br_if $done (i32.ge_u (local.get $n) (local.get $cap)))
        ;; at least "16 digits, space, type, space, one name byte"
        (br_if $done (i32.ge_u (i32.add (local.get $s) (i32.const 19)) (local.get $end)))
        (br_if $done (i32.ne (i32.load8_u offset=16 (local.get $s)) (i32.const 32)))
        (br_if $done (i32.ne (i32.load8_u offset=18 (local.get $s)) (i32.const 32)))
        ;; address: high and low halves
        (local.set $h (i32.const 0))
        (local.set $l (i32.const 0))
        (local.set $bad (i32.const 0))
        (local.set $k (i32.const 0))
        (loop $hex
          (local.set $d (i32.load8_u (i32.load8_u (i32.add (local.get $s) (local.get $k)))))
          (local.set $bad (i32.or (local.get $bad) (local.get $d)))
          (local.set $h (i32.or (i32.shl (local.get $h) (i32.const 4)) (local.get $d)))
          (local.set $d (i32.load8_u (i32.load8_u offset=8 (i32.add (local.get $s) (local.get $k)))))
          (local.set $bad (i32.or (local.get $bad) (local.get $d)))
          (local.set $l (i32.or (i32.shl (local.get $l) (i32.const 4)) (local.get $d)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $hex (i32.lt_u (local.get $k) (i32.const 8))))
        ;; 0xff (not a digit) is the only table value with bit 4 set
        (br_if $done (i32.and (local.get $bad) (i32.const 16)))
        (local.set $t (i32.load8_u offset=17 (local.get $s)))
        (br_if $done (i32.eqz (i32.load8_u offset=256 (local.get $t))))
        (br_if $done (i32.eq (i32.and (local.get $h) (local.get $l)) (i32.const -1)))
        ;; name: bytes above 0x20
        (local.set $ns (i32.add (local.get $s) (i32.const 19)))
        (local.set $p (local.get $ns))
        (local.set $c (i32.const 255)) ;; > 0x20: no end of name seen yet
        (block $nameEnd
          ;; 16 bytes at a time while they fit in the window: the first byte <= 0x20 ends it
          (loop $wide
            (br_if $nameEnd (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
            (local.set $m
              (i8x16.bitmask (i8x16.le_u (v128.load (local.get $p)) (i8x16.splat (i32.const 32)))))
            (if (local.get $m)
              (then
                (local.set $p (i32.add (local.get $p) (i32.ctz (local.get $m))))
                (local.set $c (i32.load8_u (local.get $p)))
                (br $nameEnd)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $wide)))
        (block $nameEnd2
          (br_if $nameEnd2 (i32.le_u (local.get $c) (i32.const 32)))
          (loop $name
            (br_if $nameEnd2 (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $c (i32.load8_u (local.get $p)))
            (br_if $nameEnd2 (i32.le_u (local.get $c) (i32.const 32)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $name)))
        (local.set $nl (i32.sub (local.get $p) (local.get $ns)))
        (br_if $done (i32.gt_u (local.get $nl) (i32.const 65535)))
        (local.set $mo (i32.const 0))
        (local.set $ml (i32.const 0))
        (if (i32.ge_u (local.get $p) (local.get $end))
          (then
            ;; the window ends inside the name: only the end of the input ends a line here
            (br_if $done (i32.eqz (local.get $final)))
            (local.set $next (local.get $end)))
          (else
            (if (i32.eq (local.get $c) (i32.const 10))
              (then (local.set $next (i32.add (local.get $p) (i32.const 1))))
              (else
                ;; TAB [module]
                (br_if $done (i32.ne (local.get $c) (i32.const 9)))
                (local.set $ms (i32.add (local.get $p) (i32.const 2)))
                (br_if $done (i32.ge_u (local.get $ms) (local.get $end)))
                (br_if $done (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x5b)))
                (local.set $me (local.get $ms))
                (block $modEnd
                  (loop $mod
                    (br_if $modEnd (i32.ge_u (local.get $me) (local.get $end)))
                    (local.set $c (i32.load8_u (local.get $me)))
                    (br_if $modEnd (i32.le_u (local.get $c) (i32.const 32)))
                    (br_if $modEnd (i32.eq (local.get $c) (i32.const 0x5d)))
                    (local.set $me (i32.add (local.get $me) (i32.const 1)))
                    (br $mod)))
                (br_if $done (i32.ge_u (local.get $me) (local.get $end)))
                (br_if $done (i32.ne (local.get $c) (i32.const 0x5d)))
                (br_if $done (i32.eq (local.get $me) (local.get $ms)))
                (if (i32.ge_u (i32.add (local.get $me) (i32.const 1)) (local.get $end))
                  (then
                    (br_if $done (i32.eqz (local.get $final)))
                    (local.set $next (local.get $end)))
                  (else
                    (br_if $done (i32.ne (i32.load8_u offset=1 (local.get $me)) (i32.const 10)))
                    (local.set $next (i32.add (local.get $me) (i32.const 2)))))
                (local.set $mo (i32.add (i32.sub (local.get $ms) (local.get $in)) (local.get $nameBase)))
                (local.set $ml (i32.sub (local.get $me) (local.get $ms)))
                (local.set $mods (i32.add (local.get $mods) (i32.const 1)))))))
        (br_if $done (i32.eqz (local.get $nl)))
        ;; emit
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
        (i32.store (local.get $o) (local.get $h))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cap) (i32.const 2))))
        (i32.store (local.get $o) (local.get $l))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cap) (i32.const 2))))
        (i32.store (local.get $o) (i32.add (i32.sub (local.get $ns) (local.get $in)) (local.get $nameBase)))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cap) (i32.const 2))))
        (i32.store (local.get $o) (local.get $nl))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cap) (i32.const 2))))
        (i32.store (local.get $o) (local.get $line))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cap) (i32.const 2))))
        (i32.store (local.get $o) (local.get $mo))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cap) (i32.const 2))))
        (i32.store (local.get $o) (local.get $ml))
        (i32.store8
          (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 28))) (local.get $n))
          (local.get $t))
        (local.set $any (i32.or (local.get $any) (i32.or (local.get $h) (local.get $l))))
        ;; a vmlinux name that may be a section marker (_text, _stext, _etext, _sinittext,
        ;; _einittext, _end: '_', 4 to 10 bytes, ending in "text" or being "_end"): its index
        ;; in this call in MARKS (u32 count at 512, then up to 127 entries; past them the count
        ;; only grows and the caller searches the text instead)
        (if (i32.and (i32.eqz (local.get $ml))
                     (i32.and (i32.ge_u (local.get $nl) (i32.const 4)) (i32.le_u (local.get $nl) (i32.const 10))))
          (then
            (if (i32.eq (i32.load8_u (local.get $ns)) (i32.const 0x5f))
              (then
                (local.set $q (i32.load (i32.sub (i32.add (local.get $ns) (local.get $nl)) (i32.const 4))))
                (if (i32.or (i32.eq (local.get $q) (i32.const 0x74786574))
                            (i32.and (i32.eq (local.get $nl) (i32.const 4)) (i32.eq (local.get $q) (i32.const 0x646e655f))))
                  (then
                    (local.set $q (i32.load (i32.const 512)))
                    (if (i32.lt_u (local.get $q) (i32.const 127))
                      (then (i32.store offset=516 (i32.shl (local.get $q) (i32.const 2)) (local.get $n))))
                    (i32.store (i32.const 512) (i32.add (local.get $q) (i32.const 1)))))))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $line (i32.add (local.get $line) (i32.const 1)))
        (local.set $s (local.get $next))
        (br $lines)))
    (global.set $stopPos (i32.sub (local.get $s) (local.get $in)))
    (global.set $stopLine (local.get $line))
    (global.set $modCount (local.get $mods))
    (global.set $nonZero (i32.ne (local.get $any) (i32.const 0)))
    (local.get $n))

  ;; ---- index construction (symbolIndex.ts), over columns in memory ----------------------------
  ;; u32 columns hi, lo, mod; u8 type; n symbols.

  ;; One forward pass: whether the addresses ascend, vmlinux and vmlinux data symbol counts,
  ;; the largest module id, and the longest run of symbols sharing one high half.
  (global $sorted (export "sorted") (mut i32) (i32.const 0))
  (global $vml (export "vml") (mut i32) (i32.const 0))
  (global $data (export "data") (mut i32) (i32.const 0))
  (global $maxMod (export "maxMod") (mut i32) (i32.const 0))
  (global $runHi (export "runHi") (mut i32) (i32.const 0))
  (global $runStart (export "runStart") (mut i32) (i32.const 0))
  (global $runEnd (export "runEnd") (mut i32) (i32.const 0))
  ;; $counts: zeroed u32 tables for `ksym stats` (no second pass over every symbol): symbols
  ;; per type byte [0, 256), the first index + 1 of each type byte [256, 512), then symbols per
  ;; module id below $modCap.
  (func (export "scan") (param $n i32) (param $hi i32) (param $lo i32) (param $mod i32) (param $type i32)
    (param $counts i32) (param $modCap i32)
    (local $i i32) (local $h i32) (local $l i32) (local $ph i32) (local $pl i32) (local $m i32) (local $ty i32) (local $e i32)
    (local $sorted i32) (local $vml i32) (local $data i32) (local $maxMod i32) (local $t i32)
    (local $rs i32) (local $bestS i32) (local $bestE i32) (local $bestH i32)
    (local.set $sorted (i32.const 1))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $h (i32.load (i32.add (local.get $hi) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $l (i32.load (i32.add (local.get $lo) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $m (i32.load (i32.add (local.get $mod) (i32.shl (local.get $i) (i32.const 2)))))
        (if (local.get $i)
          (then
            (if (i32.or (i32.lt_u (local.get $h) (local.get $ph))
                        (i32.and (i32.eq (local.get $h) (local.get $ph)) (i32.lt_u (local.get $l) (local.get $pl))))
              (then (local.set $sorted (i32.const 0))))
            (if (i32.ne (local.get $h) (local.get $ph))
              (then
                ;; a run [rs, i) of high half ph ends
                (if (i32.gt_u (i32.sub (local.get $i) (local.get $rs)) (i32.sub (local.get $bestE) (local.get $bestS)))
                  (then (local.set $bestS (local.get $rs)) (local.set $bestE (local.get $i)) (local.set $bestH (local.get $ph))))
                (local.set $rs (local.get $i))))))
        (if (i32.eqz (local.get $m))
          (then
            (local.set $vml (i32.add (local.get $vml) (i32.const 1)))
            (local.set $t (i32.or (i32.load8_u (i32.add (local.get $type) (local.get $i))) (i32.const 0x20)))
            (if (i32.or (i32.eq (local.get $t) (i32.const 0x64)) (i32.eq (local.get $t) (i32.const 0x62)))
              (then (local.set $data (i32.add (local.get $data) (i32.const 1)))))))
        (if (i32.gt_u (local.get $m) (local.get $maxMod)) (then (local.set $maxMod (local.get $m))))
        ;; the stats tables
        (local.set $ty (i32.load8_u (i32.add (local.get $type) (local.get $i))))
        (local.set $e (i32.add (local.get $counts) (i32.shl (local.get $ty) (i32.const 2))))
        (i32.store (local.get $e) (i32.add (i32.load (local.get $e)) (i32.const 1)))
        (if (i32.eqz (i32.load offset=1024 (local.get $e)))
          (then (i32.store offset=1024 (local.get $e) (i32.add (local.get $i) (i32.const 1)))))
        (if (i32.lt_u (local.get $m) (local.get $modCap))
          (then
            (local.set $e (i32.add (local.get $counts) (i32.add (i32.const 2048) (i32.shl (local.get $m) (i32.const 2)))))
            (i32.store (local.get $e) (i32.add (i32.load (local.get $e)) (i32.const 1)))))
        (local.set $ph (local.get $h))
        (local.set $pl (local.get $l))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (if (i32.gt_u (i32.sub (local.get $n) (local.get $rs)) (i32.sub (local.get $bestE) (local.get $bestS)))
      (then (local.set $bestS (local.get $rs)) (local.set $bestE (local.get $n)) (local.set $bestH (local.get $ph))))
    (global.set $sorted (local.get $sorted))
    (global.set $vml (local.get $vml))
    (global.set $data (local.get $data))
    (global.set $maxMod (local.get $maxMod))
    (global.set $runHi (local.get $bestH))
    (global.set $runStart (local.get $bestS))
    (global.set $runEnd (local.get $bestE)))

;; Sizes over address-ordered columns: the distance to the next higher address of the same
  ;; object (module id), 0xffffffff when there is none, 0xfffffffe when it does not fit.
  ;; $tab: 24 bytes per module id (zeroed): current address, next higher address (i64), state.
  (func (export "sizes") (param $n i32) (param $hi i32) (param $lo i32) (param $mod i32) (param $size i32) (param $tab i32)
    (local $i i32) (local $a i64) (local $e i32) (local $st i32) (local $d i64) (local $out i32)
    (local.set $i (local.get $n))
    (block $done
      (loop $each
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (local.set $a
          (i64.or
            (i64.shl (i64.extend_i32_u (i32.load (i32.add (local.get $hi) (i32.shl (local.get $i) (i32.const 2))))) (i64.const 32))
            (i64.extend_i32_u (i32.load (i32.add (local.get $lo) (i32.shl (local.get $i) (i32.const 2)))))))
        (local.set $e (i32.add (local.get $tab)
          (i32.mul (i32.load (i32.add (local.get $mod) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 24))))
        (local.set $out (i32.add (local.get $size) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $st (i32.load offset=16 (local.get $e)))
        (if (i32.eqz (local.get $st))
          (then
            ;; the object's highest address
            (i64.store (local.get $e) (local.get $a))
            (i32.store offset=16 (local.get $e) (i32.const 1)))
          (else
            (if (i64.ne (i64.load (local.get $e)) (local.get $a))
              (then
                ;; a lower address: the current one becomes the next higher
                (i64.store offset=8 (local.get $e) (i64.load (local.get $e)))
                (i64.store (local.get $e) (local.get $a))
                (i32.store offset=16 (local.get $e) (i32.const 2))
                (local.set $st (i32.const 2))))))
        (if (i32.lt_u (local.get $st) (i32.const 2))
          (then (i32.store (local.get $out) (i32.const -1)))
          (else
            (local.set $d (i64.sub (i64.load offset=8 (local.get $e)) (local.get $a)))
            (i32.store (local.get $out)
              (select (i32.const -2) (i32.wrap_i64 (local.get $d)) (i64.ge_u (local.get $d) (i64.const 0xffffffff))))))
        (br $each))))
  ;; Names occurring more than once (`ksym stats`): an open-addressing table of symbol ids + 1
  ;; (0: empty) keyed by an FNV-1a hash of each name, with an occurrence count per slot.
  ;; $names: the name bytes; $off, $len: each symbol's name offset (u32) and length (u16);
  ;; $slots: 8 bytes per slot (id + 1, then the count: one cache line for both), zeroed,
  ;; $mask + 1 slots (a power of two above 4n/3).
  ;; Returns the duplicated names; $dupSyms the symbols that carry them.
  (global $dupSyms (export "dupSyms") (mut i32) (i32.const 0))
  (func (export "dupes")
    (param $names i32) (param $off i32) (param $len i32) (param $n i32) (param $slots i32) (param $mask i32)
    (result i32)
    (local $i i32) (local $o i32) (local $l i32) (local $h i32) (local $k i32) (local $p i32) (local $s i32)
    (local $t i32) (local $dn i32) (local $ds i32) (local $so i32) (local $sl i32) (local $j i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.add (local.get $names) (i32.load (i32.add (local.get $off) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $l (i32.load16_u (i32.add (local.get $len) (i32.shl (local.get $i) (i32.const 1)))))
        ;; FNV-1a over 4-byte words, then the last bytes
        (local.set $h (i32.xor (i32.const 0x811c9dc5) (local.get $l)))
        (local.set $k (i32.const 0))
        (block $w (loop $words
          (br_if $w (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $l)))
          (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load (i32.add (local.get $o) (local.get $k)))) (i32.const 0x01000193)))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br $words)))
        (block $b (loop $bytes
          (br_if $b (i32.ge_u (local.get $k) (local.get $l)))
          (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (i32.add (local.get $o) (local.get $k)))) (i32.const 0x01000193)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $bytes)))
        (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 15))))
        (local.set $p (i32.and (local.get $h) (local.get $mask)))
        ;; probe: an empty slot (this name is new) or the slot of an equal name
        (block $found (loop $probe
          (local.set $s (i32.load (i32.add (local.get $slots) (i32.shl (local.get $p) (i32.const 3)))))
          (if (i32.eqz (local.get $s)) (then
            (i32.store (i32.add (local.get $slots) (i32.shl (local.get $p) (i32.const 3))) (i32.add (local.get $i) (i32.const 1)))
            (br $found)))
          (local.set $s (i32.sub (local.get $s) (i32.const 1)))
          (local.set $sl (i32.load16_u (i32.add (local.get $len) (i32.shl (local.get $s) (i32.const 1)))))
          (if (i32.eq (local.get $sl) (local.get $l)) (then
            (local.set $so (i32.add (local.get $names) (i32.load (i32.add (local.get $off) (i32.shl (local.get $s) (i32.const 2))))))
            (local.set $j (i32.const 0))
            (block $differ
              (loop $cmp
                (br_if $found (i32.ge_u (local.get $j) (local.get $l)))
                (br_if $differ (i32.ne (i32.load8_u (i32.add (local.get $o) (local.get $j))) (i32.load8_u (i32.add (local.get $so) (local.get $j)))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $cmp)))))
          (local.set $p (i32.and (i32.add (local.get $p) (i32.const 1)) (local.get $mask)))
          (br $probe)))
        (local.set $t (i32.add (i32.load offset=4 (i32.add (local.get $slots) (i32.shl (local.get $p) (i32.const 3)))) (i32.const 1)))
        (i32.store offset=4 (i32.add (local.get $slots) (i32.shl (local.get $p) (i32.const 3))) (local.get $t))
        (if (i32.eq (local.get $t) (i32.const 2))
          (then (local.set $dn (i32.add (local.get $dn) (i32.const 1))) (local.set $ds (i32.add (local.get $ds) (i32.const 2))))
          (else (if (i32.gt_u (local.get $t) (i32.const 2)) (then (local.set $ds (i32.add (local.get $ds) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (global.set $dupSyms (local.get $ds))
    (local.get $dn))
)
