;; The walk over BTF type records (walk.ts), as WebAssembly: it runs once per process
;; over ~100k records, always cold, and the baseline compiler makes this fast from the
;; first record where JavaScript would spend milliseconds in the interpreter.
;;
;; Per record: reject an unknown kind or a name offset >= $strTotal; count it per kind;
;; count named records and named FUNCs; keep the largest type id the record's header
;; refers to (type-ref kinds: word 2; ARRAY: element and index type); note DECL_TAGs;
;; step over it (12 bytes + FIXED + PER_VLEN * vlen). The loop body has no branch that
;; depends on the data (masks and selects), so it runs at the speed of its loads.
;;
;; scripts/gen-wasm.mjs compiles this file with wabt into walkwasm.ts;
;; test/unit/btfwalk.test.ts checks that the two are in sync.
;;
;; Memory (imported, little-endian as BTF on every host the caller uses this for):
;;   [0, 1024)      per kind k at 32*k, i32: FIXED, PER_VLEN, REF_A offset, REF_A mask,
;;                  REF_B offset, REF_B mask, IS_FUNC mask, IS_DECL_TAG (0/1); masks are 0 or -1
;;   [1024, 1152)   u32 records per kind
;;   [1152, 1176)   results: records, DECL_TAGs, named, named FUNCs, largest reference,
;;                  (scan) address of the first record not taken
;; Both return 0, or -1 (unknown kind or name offset), or -2 (the last record does not end
;; at $end), or (scan) 1: read the next chunk from the record at the address in 1172.
(module
  (import "e" "m" (memory 1))

  ;; walk(start, end, strTotal, offs, tags, bias): the records in [start, end);
  ;;   offs[n] = record address + bias (u32), tags[t] = DECL_TAG address + bias (u32).
  ;;   The counts are zeroed by the caller.
  (func (export "walk")
    (param $start i32) (param $end i32) (param $strTotal i32) (param $offs i32) (param $tags i32) (param $bias i32)
    (result i32)
    (local $i i32) (local $n i32) (local $nt i32) (local $named i32) (local $nfunc i32) (local $max i32)
    (local $name i32) (local $info i32) (local $tb i32) (local $fix i32) (local $v i32) (local $nz i32)
    (local.set $i (local.get $start))
    (block $done
      (loop $records
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $name (i32.load (local.get $i)))
        (local.set $info (i32.load offset=4 (local.get $i)))
        ;; $tb: the table row of kind (info >> 24) & 31
        (local.set $tb (i32.shl (i32.and (i32.shr_u (local.get $info) (i32.const 24)) (i32.const 31)) (i32.const 5)))
        (local.set $fix (i32.load (local.get $tb)))
        (if (i32.or (i32.lt_s (local.get $fix) (i32.const 0)) (i32.ge_u (local.get $name) (local.get $strTotal)))
          (then (return (i32.const -1))))
        ;; $max = max_u($max, referenced ids), masked to 0 for kinds without them
        (local.set $v (i32.and (i32.load (i32.add (local.get $i) (i32.load offset=8 (local.get $tb)))) (i32.load offset=12 (local.get $tb))))
        (local.set $max (select (local.get $v) (local.get $max) (i32.gt_u (local.get $v) (local.get $max))))
        (local.set $v (i32.and (i32.load (i32.add (local.get $i) (i32.load offset=16 (local.get $tb)))) (i32.load offset=20 (local.get $tb))))
        (local.set $max (select (local.get $v) (local.get $max) (i32.gt_u (local.get $v) (local.get $max))))
        (local.set $nz (i32.ne (local.get $name) (i32.const 0)))
        (local.set $named (i32.add (local.get $named) (local.get $nz)))
        (local.set $nfunc (i32.add (local.get $nfunc) (i32.and (local.get $nz) (i32.load offset=24 (local.get $tb)))))
        ;; the tag slot is written for every record and kept (nt + 1) for a DECL_TAG
        (i32.store (i32.add (local.get $tags) (i32.shl (local.get $nt) (i32.const 2))) (i32.add (local.get $i) (local.get $bias)))
        (local.set $nt (i32.add (local.get $nt) (i32.load offset=28 (local.get $tb))))
        ;; counts[kind]++ (kind * 4 = $tb >> 3)
        (local.set $v (i32.shr_u (local.get $tb) (i32.const 3)))
        (i32.store offset=1024 (local.get $v) (i32.add (i32.load offset=1024 (local.get $v)) (i32.const 1)))
        (i32.store (i32.add (local.get $offs) (i32.shl (local.get $n) (i32.const 2))) (i32.add (local.get $i) (local.get $bias)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $i (i32.add (i32.add (i32.add (local.get $i) (i32.const 12)) (local.get $fix))
          (i32.mul (i32.load offset=4 (local.get $tb)) (i32.and (local.get $info) (i32.const 0xffff)))))
        (br $records)))
    (i32.store offset=1152 (i32.const 0) (local.get $n))
    (i32.store offset=1156 (i32.const 0) (local.get $nt))
    (i32.store offset=1160 (i32.const 0) (local.get $named))
    (i32.store offset=1164 (i32.const 0) (local.get $nfunc))
    (i32.store offset=1168 (i32.const 0) (local.get $max))
    (if (i32.ne (local.get $i) (local.get $end)) (then (return (i32.const -2))))
    (i32.const 0))

  ;; scan(start, end, final, strTotal, kinds, tags, bias): the same over a file read in
  ;;   chunks, [start, end) being one: the counts and results carry over from the previous
  ;;   call (zeroed by the caller before the first); a record is taken only when its first
  ;;   24 bytes are in the chunk, unless final. kinds[n] = kind (u8); per DECL_TAG 4 u32:
  ;;   address + bias, name_off, type, component_idx.
  (func (export "scan")
    (param $start i32) (param $end i32) (param $final i32) (param $strTotal i32) (param $kinds i32) (param $tags i32) (param $bias i32)
    (result i32)
    (local $i i32) (local $n i32) (local $nt i32) (local $named i32) (local $nfunc i32) (local $max i32)
    (local $name i32) (local $info i32) (local $tb i32) (local $fix i32) (local $v i32) (local $nz i32) (local $limit i32)
    (local.set $i (local.get $start))
    (local.set $n (i32.load offset=1152 (i32.const 0)))
    (local.set $nt (i32.load offset=1156 (i32.const 0)))
    (local.set $named (i32.load offset=1160 (i32.const 0)))
    (local.set $nfunc (i32.load offset=1164 (i32.const 0)))
    (local.set $max (i32.load offset=1168 (i32.const 0)))
    (local.set $limit (select (local.get $end) (i32.sub (local.get $end) (i32.const 23)) (local.get $final)))
    (block $done
      (loop $records
        (br_if $done (i32.ge_u (local.get $i) (local.get $limit)))
        (local.set $name (i32.load (local.get $i)))
        (local.set $info (i32.load offset=4 (local.get $i)))
        (local.set $tb (i32.shl (i32.and (i32.shr_u (local.get $info) (i32.const 24)) (i32.const 31)) (i32.const 5)))
        (local.set $fix (i32.load (local.get $tb)))
        (if (i32.or (i32.lt_s (local.get $fix) (i32.const 0)) (i32.ge_u (local.get $name) (local.get $strTotal)))
          (then (return (i32.const -1))))
        (local.set $v (i32.and (i32.load (i32.add (local.get $i) (i32.load offset=8 (local.get $tb)))) (i32.load offset=12 (local.get $tb))))
        (local.set $max (select (local.get $v) (local.get $max) (i32.gt_u (local.get $v) (local.get $max))))
        (local.set $v (i32.and (i32.load (i32.add (local.get $i) (i32.load offset=16 (local.get $tb)))) (i32.load offset=20 (local.get $tb))))
        (local.set $max (select (local.get $v) (local.get $max) (i32.gt_u (local.get $v) (local.get $max))))
        (local.set $nz (i32.ne (local.get $name) (i32.const 0)))
        (local.set $named (i32.add (local.get $named) (local.get $nz)))
        (local.set $nfunc (i32.add (local.get $nfunc) (i32.and (local.get $nz) (i32.load offset=24 (local.get $tb)))))
        (local.set $v (i32.add (local.get $tags) (i32.shl (local.get $nt) (i32.const 4))))
        (i32.store (local.get $v) (i32.add (local.get $i) (local.get $bias)))
        (i32.store offset=4 (local.get $v) (local.get $name))
        (i32.store offset=8 (local.get $v) (i32.load offset=8 (local.get $i)))
        (i32.store offset=12 (local.get $v) (i32.load offset=12 (local.get $i)))
        (local.set $nt (i32.add (local.get $nt) (i32.load offset=28 (local.get $tb))))
        (local.set $v (i32.shr_u (local.get $tb) (i32.const 3)))
        (i32.store offset=1024 (local.get $v) (i32.add (i32.load offset=1024 (local.get $v)) (i32.const 1)))
        (i32.store8 (i32.add (local.get $kinds) (local.get $n)) (i32.shr_u (local.get $tb) (i32.const 5)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $i (i32.add (i32.add (i32.add (local.get $i) (i32.const 12)) (local.get $fix))
          (i32.mul (i32.load offset=4 (local.get $tb)) (i32.and (local.get $info) (i32.const 0xffff)))))
        (br $records)))
    (i32.store offset=1152 (i32.const 0) (local.get $n))
    (i32.store offset=1156 (i32.const 0) (local.get $nt))
    (i32.store offset=1160 (i32.const 0) (local.get $named))
    (i32.store offset=1164 (i32.const 0) (local.get $nfunc))
    (i32.store offset=1168 (i32.const 0) (local.get $max))
    (i32.store offset=1172 (i32.const 0) (local.get $i))
    (if (i32.eqz (local.get $final)) (then (return (i32.const 1))))
    (if (i32.ne (local.get $i) (local.get $end)) (then (return (i32.const -2))))
    (i32.const 0)))
