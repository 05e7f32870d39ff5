;; The abbreviation table parser (abbrev.ts's jsReadAbbrevTable) as WebAssembly. A lookup
;; run parses ~1,200 tables of ~145 abbrevs each early in a fresh process, where the
;; JavaScript loop still runs in the interpreter or baseline code (80-170 ms for 1,200
;; tables cold, ~23 ms warm); the baseline wasm compiler has this ready at once and it
;; runs at full speed from the first byte.
;;
;; parse() decodes one table from a window of .debug_abbrev copied into the memory, into
;; the same columns as the JavaScript loop with the same rules (form sizes from the table
;; at 0, skippable tags, the kind rule), then packs them in the layout of the table's one
;; ArrayBuffer and fills the dense code map. It handles the ordinary only: codes, tags,
;; attributes and forms of at most 5 LEB128 bytes and below 2^32 (implicit_const values
;; of any length, computed as the JavaScript computes them). Anything else, and a table
;; that runs past the window, is left to the JavaScript loop (which reports the error, if
;; any, with the file, offset and reason).
;;
;; scripts/gen-wasm.mjs compiles this file with wabt into abbrevWasm.ts;
;; test/unit/dwarf/abbrevWasm.test.ts checks that the two are in sync.
;;
;; Memory (imported):
;;   [0, 48)      i8 per form 0..0x2f: its byte size in this unit, -1 when variable (formSize)
;;   [64, 92)     results: abbrevs, attributes, largest code (u32), dense length, address
;;                of the packed columns, their byte size, address of the dense map
;;   $out ...     columns for up to $capA attributes and $capT abbrevs (layout below),
;;                the dense map (max(1024, 2 * $capT) i32), the packed columns
;; parse returns 0 (done), 1 (the table runs past the window: a bigger one may do) or
;; 2 (something this does not handle: the JavaScript loop parses the table).
(module
  (import "e" "m" (memory 1))

  ;; status of the last $uleb/$sleb (0 ok, 1 past the window, 2 not handled); position after it
  (global $st (mut i32) (i32.const 0))
  (global $gp (mut i32) (i32.const 0))

  ;; ULEB128 at $p (its first byte has the continuation bit or $p is at the end): at most
  ;; 5 bytes and a value below 2^32.
  (func $uleb (param $p i32) (param $end i32) (result i32)
    (local $r i32) (local $b i32) (local $s i32)
    (loop $bytes
      (if (i32.ge_u (local.get $p) (local.get $end))
        (then (global.set $st (i32.const 1)) (return (i32.const 0))))
      (local.set $b (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (if (i32.eq (local.get $s) (i32.const 28))
        (then
          ;; the fifth byte: bits 28..31 only, and the last
          (if (i32.and (local.get $b) (i32.const 0xf0))
            (then (global.set $st (i32.const 2)) (return (i32.const 0))))
          (global.set $gp (local.get $p))
          (return (i32.or (local.get $r) (i32.shl (local.get $b) (i32.const 28))))))
      (local.set $r (i32.or (local.get $r) (i32.shl (i32.and (local.get $b) (i32.const 0x7f)) (local.get $s))))
      (local.set $s (i32.add (local.get $s) (i32.const 7)))
      (br_if $bytes (i32.and (local.get $b) (i32.const 0x80))))
    (global.set $gp (local.get $p))
    (local.get $r))

  ;; SLEB128 at $p as a double, computed as cursor.ts sleb() computes it (the same IEEE
  ;; operations in the same order, so the same double for every encoding, 2^63 - 1 included):
  ;; per byte result += (byte & 0x7f) * mul, mul *= 128; past mul > 2^70 the remaining
  ;; continuation bytes are skipped; negative when the last byte read has 0x40.
  (func $sleb (param $p i32) (param $end i32) (result f64)
    (local $r f64) (local $m f64) (local $b i32)
    (local.set $m (f64.const 1))
    (block $done
      (loop $bytes
        (if (i32.ge_u (local.get $p) (local.get $end))
          (then (global.set $st (i32.const 1)) (return (f64.const 0))))
        (local.set $b (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $r (f64.add (local.get $r) (f64.mul (f64.convert_i32_u (i32.and (local.get $b) (i32.const 0x7f))) (local.get $m))))
        (local.set $m (f64.mul (local.get $m) (f64.const 128)))
        (br_if $done (i32.eqz (i32.and (local.get $b) (i32.const 0x80))))
        (br_if $bytes (f64.le (local.get $m) (f64.const 0x1p70)))
        (block $skipped
          (loop $skip
            (if (i32.ge_u (local.get $p) (local.get $end))
              (then (global.set $st (i32.const 1)) (return (f64.const 0))))
            (br_if $skipped (i32.eqz (i32.and (i32.load8_u (local.get $p)) (i32.const 0x80))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $skip)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))))
    (if (i32.and (local.get $b) (i32.const 0x40))
      (then (local.set $r (f64.sub (local.get $r) (local.get $m)))))
    (global.set $gp (local.get $p))
    (local.get $r))

  ;; Types and their kin (subtrees without code), and subprograms: abbrev.ts skippableTag.
  (func $skippable (param $t i32) (result i32)
    (i32.or
      (i32.or
        (i32.or (i32.eq (local.get $t) (i32.const 0x01)) (i32.eq (local.get $t) (i32.const 0x04)))
        (i32.or (i32.eq (local.get $t) (i32.const 0x13)) (i32.eq (local.get $t) (i32.const 0x15))))
      (i32.or
        (i32.or (i32.eq (local.get $t) (i32.const 0x17)) (i32.eq (local.get $t) (i32.const 0x48)))
        (i32.or (i32.eq (local.get $t) (i32.const 0x4109)) (i32.eq (local.get $t) (i32.const 0x2e))))))

  ;; parse(p, end, offSize, out, capT, capA): the table at $p, bytes [$p, $end) in memory.
  (func (export "parse")
    (param $p i32) (param $end i32) (param $offSize i32) (param $out i32) (param $capT i32) (param $capA i32)
    (result i32)
    ;; column addresses
    (local $imps i32) (local $attrs i32) (local $forms i32) (local $sizes i32)
    (local $codes i32) (local $tags i32) (local $firsts i32) (local $counts i32) (local $fixed i32) (local $sibAt i32)
    (local $kids i32) (local $sibSize i32) (local $hasCode i32) (local $skipKids i32) (local $kind i32)
    (local $dense i32) (local $pack i32)
    ;; per table / abbrev / attribute
    (local $nt i32) (local $na i32) (local $maxCode i32) (local $denseLen i32) (local $i i32) (local $bytes i32)
    (local $code i32) (local $tag i32) (local $ch i32) (local $first i32)
    (local $fx i32) (local $sa i32) (local $ss i32) (local $hc i32) (local $sk i32) (local $k i32)
    (local $at i32) (local $fm i32) (local $sz i32) (local $z i32) (local $imp f64)

    (local.set $imps (local.get $out))
    (local.set $attrs (i32.add (local.get $imps) (i32.shl (local.get $capA) (i32.const 3))))
    (local.set $forms (i32.add (local.get $attrs) (i32.shl (local.get $capA) (i32.const 2))))
    (local.set $sizes (i32.add (local.get $forms) (i32.shl (local.get $capA) (i32.const 2))))
    (local.set $codes (i32.add (local.get $sizes) (i32.shl (local.get $capA) (i32.const 2))))
    (local.set $tags (i32.add (local.get $codes) (i32.shl (local.get $capT) (i32.const 2))))
    (local.set $firsts (i32.add (local.get $tags) (i32.shl (local.get $capT) (i32.const 2))))
    (local.set $counts (i32.add (local.get $firsts) (i32.shl (local.get $capT) (i32.const 2))))
    (local.set $fixed (i32.add (local.get $counts) (i32.shl (local.get $capT) (i32.const 2))))
    (local.set $sibAt (i32.add (local.get $fixed) (i32.shl (local.get $capT) (i32.const 2))))
    (local.set $kids (i32.add (local.get $sibAt) (i32.shl (local.get $capT) (i32.const 2))))
    (local.set $sibSize (i32.add (local.get $kids) (local.get $capT)))
    (local.set $hasCode (i32.add (local.get $sibSize) (local.get $capT)))
    (local.set $skipKids (i32.add (local.get $hasCode) (local.get $capT)))
    (local.set $kind (i32.add (local.get $skipKids) (local.get $capT)))
    (local.set $dense (i32.and (i32.add (i32.add (local.get $kind) (local.get $capT)) (i32.const 7)) (i32.const -8)))
    (local.set $pack (i32.add (local.get $dense)
      (i32.shl (select (i32.const 1024) (i32.shl (local.get $capT) (i32.const 1)) (i32.gt_u (i32.const 1024) (i32.shl (local.get $capT) (i32.const 1)))) (i32.const 2))))
    (global.set $st (i32.const 0))

    (block $table
      (loop $abbrevs
        ;; code (LEB128 values below 0x80, nearly all, take the one-byte path)
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 1))))
        (local.set $code (i32.load8_u (local.get $p)))
        (if (i32.lt_u (local.get $code) (i32.const 0x80))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
          (else
            (local.set $code (call $uleb (local.get $p) (local.get $end)))
            (if (global.get $st) (then (return (global.get $st))))
            (local.set $p (global.get $gp))))
        (br_if $table (i32.eqz (local.get $code)))
        ;; tag
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 1))))
        (local.set $tag (i32.load8_u (local.get $p)))
        (if (i32.lt_u (local.get $tag) (i32.const 0x80))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
          (else
            (local.set $tag (call $uleb (local.get $p) (local.get $end)))
            (if (global.get $st) (then (return (global.get $st))))
            (local.set $p (global.get $gp))))
        ;; children
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 1))))
        (local.set $ch (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $first (local.get $na))
        (local.set $fx (i32.const 0))
        (local.set $sa (i32.const -1))
        (local.set $ss (i32.const 0))
        (local.set $hc (i32.const 0))
        (block $attrsDone
          (loop $attributes
            (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 1))))
            (local.set $at (i32.load8_u (local.get $p)))
            (if (i32.lt_u (local.get $at) (i32.const 0x80))
              (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
              (else
                (local.set $at (call $uleb (local.get $p) (local.get $end)))
                (if (global.get $st) (then (return (global.get $st))))
                (local.set $p (global.get $gp))))
            (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 1))))
            (local.set $fm (i32.load8_u (local.get $p)))
            (if (i32.lt_u (local.get $fm) (i32.const 0x80))
              (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
              (else
                (local.set $fm (call $uleb (local.get $p) (local.get $end)))
                (if (global.get $st) (then (return (global.get $st))))
                (local.set $p (global.get $gp))))
            (br_if $attrsDone (i32.eqz (i32.or (local.get $at) (local.get $fm))))
            ;; DW_AT_low_pc, DW_AT_ranges: the abbrev can carry code
            (if (i32.or (i32.eq (local.get $at) (i32.const 0x11)) (i32.eq (local.get $at) (i32.const 0x55)))
              (then (local.set $hc (i32.const 1))))
            ;; the first DW_AT_sibling of a reference form, while every attribute before it is fixed
            (if (i32.and (i32.eq (local.get $at) (i32.const 0x01))
                  (i32.and (i32.lt_s (local.get $sa) (i32.const 0)) (i32.ge_s (local.get $fx) (i32.const 0))))
              (then
                (local.set $z
                  (if (result i32) (i32.eq (local.get $fm) (i32.const 0x15)) ;; ref_udata
                    (then (i32.const 0))
                    (else (if (result i32) (i32.eq (local.get $fm) (i32.const 0x11)) ;; ref1
                      (then (i32.const 1))
                      (else (if (result i32) (i32.eq (local.get $fm) (i32.const 0x12)) ;; ref2
                        (then (i32.const 2))
                        (else (if (result i32) (i32.eq (local.get $fm) (i32.const 0x13)) ;; ref4
                          (then (i32.const 4))
                          (else (if (result i32) (i32.eq (local.get $fm) (i32.const 0x14)) ;; ref8
                            (then (i32.const 8))
                            (else (i32.const -1))))))))))))
                (if (i32.ge_s (local.get $z) (i32.const 0))
                  (then (local.set $sa (local.get $fx)) (local.set $ss (local.get $z))))))
            ;; DW_FORM_implicit_const: its value follows in the abbrev
            (local.set $imp (f64.const 0))
            (if (i32.eq (local.get $fm) (i32.const 0x21))
              (then
                (local.set $imp (call $sleb (local.get $p) (local.get $end)))
                (if (global.get $st) (then (return (global.get $st))))
                (local.set $p (global.get $gp))))
            (if (i32.ge_u (local.get $na) (local.get $capA)) (then (return (i32.const 2))))
            (local.set $sz
              (if (result i32) (i32.lt_u (local.get $fm) (i32.const 0x30))
                (then (i32.load8_s (local.get $fm)))
                (else (select (local.get $offSize) (i32.const -1)
                  (i32.or (i32.eq (local.get $fm) (i32.const 0x1f20)) (i32.eq (local.get $fm) (i32.const 0x1f21))))))) ;; GNU_ref_alt, GNU_strp_alt
            (f64.store (i32.add (local.get $imps) (i32.shl (local.get $na) (i32.const 3))) (local.get $imp))
            (local.set $i (i32.shl (local.get $na) (i32.const 2)))
            (i32.store (i32.add (local.get $attrs) (local.get $i)) (local.get $at))
            (i32.store (i32.add (local.get $forms) (local.get $i)) (local.get $fm))
            (i32.store (i32.add (local.get $sizes) (local.get $i)) (local.get $sz))
            (local.set $na (i32.add (local.get $na) (i32.const 1)))
            (local.set $fx (select (i32.const -1) (i32.add (local.get $fx) (local.get $sz))
              (i32.or (i32.lt_s (local.get $fx) (i32.const 0)) (i32.lt_s (local.get $sz) (i32.const 0)))))
            (br $attributes)))
        (if (i32.ge_u (local.get $nt) (local.get $capT)) (then (return (i32.const 2))))
        (local.set $i (i32.shl (local.get $nt) (i32.const 2)))
        (i32.store (i32.add (local.get $codes) (local.get $i)) (local.get $code))
        (if (i32.gt_u (local.get $code) (local.get $maxCode)) (then (local.set $maxCode (local.get $code))))
        (i32.store (i32.add (local.get $tags) (local.get $i)) (local.get $tag))
        (i32.store (i32.add (local.get $firsts) (local.get $i)) (local.get $first))
        (i32.store (i32.add (local.get $counts) (local.get $i)) (i32.sub (local.get $na) (local.get $first)))
        (i32.store (i32.add (local.get $fixed) (local.get $i)) (local.get $fx))
        (i32.store (i32.add (local.get $sibAt) (local.get $i)) (local.get $sa))
        (i32.store8 (i32.add (local.get $kids) (local.get $nt)) (local.get $ch))
        (i32.store8 (i32.add (local.get $sibSize) (local.get $nt)) (local.get $ss))
        (i32.store8 (i32.add (local.get $hasCode) (local.get $nt)) (local.get $hc))
        (local.set $sk (call $skippable (local.get $tag)))
        (i32.store8 (i32.add (local.get $skipKids) (local.get $nt)) (local.get $sk))
        ;; the kind (abbrev.ts ABBREV_*): SCOPE 0, LEAF 1, SIB4 2, DESCEND 3, OTHER 4
        (local.set $k
          (if (result i32)
            (i32.and (local.get $hc)
              (i32.or (i32.eq (local.get $tag) (i32.const 0x2e)) (i32.eq (local.get $tag) (i32.const 0x1d))))
            (then (i32.const 0))
            (else
              (if (result i32) (i32.eqz (local.get $ch))
                (then (select (i32.const 1) (i32.const 4) (i32.ge_s (local.get $fx) (i32.const 0))))
                (else
                  (if (result i32)
                    (i32.and (local.get $sk)
                      (i32.and (i32.ge_s (local.get $sa) (i32.const 0)) (i32.eq (local.get $ss) (i32.const 4))))
                    (then (i32.const 2))
                    (else
                      (select (i32.const 3) (i32.const 4)
                        (i32.and (i32.eqz (local.get $sk)) (i32.ge_s (local.get $fx) (i32.const 0)))))))))))
        (i32.store8 (i32.add (local.get $kind) (local.get $nt)) (local.get $k))
        (local.set $nt (i32.add (local.get $nt) (i32.const 1)))
        (br $abbrevs)))

    ;; the dense map: min(largest code + 1, max(1024, 2 * abbrevs)) entries, the first abbrev of a code wins
    (local.set $denseLen (select (i32.const 1024) (i32.shl (local.get $nt) (i32.const 1))
      (i32.gt_u (i32.const 1024) (i32.shl (local.get $nt) (i32.const 1)))))
    (if (i32.lt_u (local.get $maxCode) (local.get $denseLen))
      (then (local.set $denseLen (i32.add (local.get $maxCode) (i32.const 1)))))
    (memory.fill (local.get $dense) (i32.const 0) (i32.shl (local.get $denseLen) (i32.const 2)))
    (local.set $i (local.get $nt))
    (block $filled
      (loop $fill
        (br_if $filled (i32.eqz (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (local.set $code (i32.load (i32.add (local.get $codes) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.lt_u (local.get $code) (local.get $denseLen))
          (then (i32.store (i32.add (local.get $dense) (i32.shl (local.get $code) (i32.const 2))) (i32.add (local.get $i) (i32.const 1)))))
        (br $fill)))

    ;; the packed columns, as abbrev.ts lays out the table's buffer: implicit (f64); tag,
    ;; first, count, fixed, sibAt (per abbrev), attr, form, size (per attribute), 4 bytes
    ;; each; children, sibSize, hasCode, skipKids, kind (per abbrev), 1 byte; 8 zero bytes
    (local.set $i (local.get $pack))
    (memory.copy (local.get $i) (local.get $imps) (i32.shl (local.get $na) (i32.const 3)))
    (local.set $i (i32.add (local.get $i) (i32.shl (local.get $na) (i32.const 3))))
    (local.set $bytes (i32.shl (local.get $nt) (i32.const 2)))
    (memory.copy (local.get $i) (local.get $tags) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (memory.copy (local.get $i) (local.get $firsts) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (memory.copy (local.get $i) (local.get $counts) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (memory.copy (local.get $i) (local.get $fixed) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (memory.copy (local.get $i) (local.get $sibAt) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (local.set $bytes (i32.shl (local.get $na) (i32.const 2)))
    (memory.copy (local.get $i) (local.get $attrs) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (memory.copy (local.get $i) (local.get $forms) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (memory.copy (local.get $i) (local.get $sizes) (local.get $bytes))
    (local.set $i (i32.add (local.get $i) (local.get $bytes)))
    (memory.copy (local.get $i) (local.get $kids) (local.get $nt))
    (local.set $i (i32.add (local.get $i) (local.get $nt)))
    (memory.copy (local.get $i) (local.get $sibSize) (local.get $nt))
    (local.set $i (i32.add (local.get $i) (local.get $nt)))
    (memory.copy (local.get $i) (local.get $hasCode) (local.get $nt))
    (local.set $i (i32.add (local.get $i) (local.get $nt)))
    (memory.copy (local.get $i) (local.get $skipKids) (local.get $nt))
    (local.set $i (i32.add (local.get $i) (local.get $nt)))
    (memory.copy (local.get $i) (local.get $kind) (local.get $nt))
    (local.set $i (i32.add (local.get $i) (local.get $nt)))
    (i64.store (local.get $i) (i64.const 0))

    (i32.store offset=64 (i32.const 0) (local.get $nt))
    (i32.store offset=68 (i32.const 0) (local.get $na))
    (i32.store offset=72 (i32.const 0) (local.get $maxCode))
    (i32.store offset=76 (i32.const 0) (local.get $denseLen))
    (i32.store offset=80 (i32.const 0) (local.get $pack))
    (i32.store offset=84 (i32.const 0) (i32.sub (i32.add (local.get $i) (i32.const 8)) (local.get $pack)))
    (i32.store offset=88 (i32.const 0) (local.get $dense))
    (i32.const 0)))
