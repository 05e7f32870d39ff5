;; The first pass over a unit's line program (line.ts indexProgram) as WebAssembly: it runs
;; at full speed from its first call, where the JavaScript loop spends a process's first few
;; hundred units interpreted (a 5,000-address run reads ~1,200 programs: 160-185 ms cold,
;; ~85 ms warm in JavaScript).
;;
;; Same rules as indexProgram, opcode for opcode. It handles the inputs real programs are
;; made of and gives up (returns -1, nothing to undo) on anything else, where the JavaScript
;; loop runs instead and gives its answer or its error:
;;   - a truncated program, an extended opcode running past the end, a truncated
;;     DW_LNS_fixed_advance_pc (the JavaScript loop's FormatErrors);
;;   - a LEB128 value (file, column, discriminator, advance, length) of 2^32 or more, or
;;     encoded in more than 5 bytes; a line advance outside the 32-bit range;
;;   - DW_LNE_set_address of a size other than 1, 2, 4 or 8;
;;   - an address of 2^52 or more in magnitude (JavaScript numbers stop being exact at 2^53);
;;   - output beyond the capacities given.
;; Only little-endian programs come here (line.ts checks).
;;
;; Memory (imported): the program at $prog ($len bytes); $adv: the 514 i32 of the special
;; opcode table (address advance at [op], line advance at [256 + op], DW_LNS_const_add_pc's
;; advance at [512], minimum_instruction_length at [513]); $std: 256 bytes, the standard
;; opcode lengths; outputs, f64 each: checkpoints of 7 (position + $posBase, address, file,
;; line as u32, column, discriminator, sequence low) at $ck, sequences of 5 (position +
;; $posBase, low, high, first checkpoint * 7, end checkpoint * 7) at $sq.
(module
  (import "e" "m" (memory 1))
  ;; checkpoints written by the last call
  (global $nck (export "nck") (mut i32) (i32.const 0))
  ;; position after the last LEB128 read; 1 when it could not be read here
  (global $lp (mut i32) (i32.const 0))
  (global $bad (mut i32) (i32.const 0))

  ;; Unsigned LEB128 at $p (below $end) of at most 5 bytes and below 2^32.
  (func $uleb (param $p i32) (param $end i32) (result i32)
    (local $r i32) (local $x i32) (local $sh i32)
    (loop $more
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (global.set $bad (i32.const 1)) (return (i32.const 0))))
      (local.set $x (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (if (i32.eq (local.get $sh) (i32.const 28))
        (then
          ;; the fifth byte: 4 bits left, no continuation
          (if (i32.gt_u (local.get $x) (i32.const 15)) (then (global.set $bad (i32.const 1)) (return (i32.const 0))))))
      (local.set $r (i32.or (local.get $r) (i32.shl (i32.and (local.get $x) (i32.const 0x7f)) (local.get $sh))))
      (local.set $sh (i32.add (local.get $sh) (i32.const 7)))
      (br_if $more (i32.and (local.get $x) (i32.const 0x80))))
    (global.set $lp (local.get $p))
    (local.get $r))

  ;; Signed LEB128 at $p of at most 5 bytes whose value fits 32 bits (as a 64-bit one, so that
  ;; 32-bit wrapping cannot hide an out-of-range value).
  (func $sleb (param $p i32) (param $end i32) (result i32)
    (local $r i64) (local $x i32) (local $sh i64)
    (loop $more
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (global.set $bad (i32.const 1)) (return (i32.const 0))))
      (if (i64.ge_u (local.get $sh) (i64.const 35)) (then (global.set $bad (i32.const 1)) (return (i32.const 0))))
      (local.set $x (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $r (i64.or (local.get $r) (i64.shl (i64.extend_i32_u (i32.and (local.get $x) (i32.const 0x7f))) (local.get $sh))))
      (local.set $sh (i64.add (local.get $sh) (i64.const 7)))
      (br_if $more (i32.and (local.get $x) (i32.const 0x80))))
    (if (i32.and (local.get $x) (i32.const 0x40))
      (then (local.set $r (i64.sub (local.get $r) (i64.shl (i64.const 1) (local.get $sh))))))
    (if (i32.or (i64.gt_s (local.get $r) (i64.const 0x7fffffff)) (i64.lt_s (local.get $r) (i64.const -0x80000000)))
      (then (global.set $bad (i32.const 1)) (return (i32.const 0))))
    (global.set $lp (local.get $p))
    (i32.wrap_i64 (local.get $r)))

  ;; 1 when an address is 2^52 or more in magnitude. Checked after every change of the address
  ;; but a special opcode's: those add less than 2^16 each, fewer than 2^26 of them in a
  ;; program (below 2^52 + 2^42 the addresses stay below 2^53, exact as JavaScript numbers).
  (func $far (param $a i64) (result i32)
    (i32.or (i64.gt_s (local.get $a) (i64.const 0xfffffffffffff)) (i64.lt_s (local.get $a) (i64.const -0xfffffffffffff))))

  ;; Skip a LEB128 of any length at $p (the value is not used).
  (func $skip (param $p i32) (param $end i32) (result i32)
    (local $x i32)
    (loop $more
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (global.set $bad (i32.const 1)) (return (local.get $p))))
      (local.set $x (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $more (i32.and (local.get $x) (i32.const 0x80))))
    (local.get $p))

  ;; index(...) -> sequences written, or -1 (give up)
  (func (export "index")
    (param $prog i32) (param $len i32) (param $adv i32) (param $std i32) (param $base i32)
    (param $ck i32) (param $ckCap i32) (param $sq i32) (param $sqCap i32) (param $posBase f64)
    (result i32)
    (local $p i32) (local $end i32) (local $op i32) (local $v i32) (local $k i32) (local $i i32)
    (local $addr i64) (local $lo i64) (local $file i32) (local $line i32) (local $col i32) (local $disc i32)
    (local $rows i32) (local $seqAt i32) (local $ckFirst i32) (local $nck i32) (local $nsq i32)
    (local $subEnd i32) (local $o i32)
    (global.set $bad (i32.const 0))
    (global.set $nck (i32.const 0))
    (local.set $p (local.get $prog))
    (local.set $end (i32.add (local.get $prog) (local.get $len)))
    (local.set $seqAt (local.get $prog))
    (local.set $file (i32.const 1))
    (local.set $line (i32.const 1))
    (block $giveup
      (loop $next
        (if (i32.ge_u (local.get $p) (local.get $end)) (then
          (global.set $nck (local.get $nck))
          (return (local.get $nsq))))
        (local.set $op (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (block $row
          (if (i32.ge_u (local.get $op) (local.get $base)) (then
            ;; special opcode: advance, then a row
            (local.set $addr (i64.add (local.get $addr)
              (i64.extend_i32_s (i32.load (i32.add (local.get $adv) (i32.shl (local.get $op) (i32.const 2)))))))
            (local.set $line (i32.add (local.get $line)
              (i32.load (i32.add (local.get $adv) (i32.shl (i32.add (local.get $op) (i32.const 256)) (i32.const 2))))))
            (br $row)))
          ;; standard and extended opcodes (op < opcode_base)
          (block $op0 (block $op1 (block $op2 (block $op3 (block $op4 (block $op5 (block $nop (block $op8 (block $op9 (block $op12 (block $other
            (br_table $op0 $op1 $op2 $op3 $op4 $op5 $nop $nop $op8 $op9 $nop $nop $op12 $other (local.get $op)))
            ;; op 13 .. opcode_base - 1: skip its ULEB128 operands
            (local.set $k (i32.load8_u (i32.add (local.get $std) (local.get $op))))
            (local.set $i (i32.const 0))
            (block $done (loop $args
              (br_if $done (i32.ge_u (local.get $i) (local.get $k)))
              (local.set $p (call $skip (local.get $p) (local.get $end)))
              (br_if $giveup (global.get $bad))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $args)))
            (br $next))
            ;; 12 DW_LNS_set_isa
            (local.set $p (call $skip (local.get $p) (local.get $end)))
            (br_if $giveup (global.get $bad))
            (br $next))
            ;; 9 DW_LNS_fixed_advance_pc
            (br_if $giveup (i32.gt_u (i32.add (local.get $p) (i32.const 2)) (local.get $end)))
            (local.set $addr (i64.add (local.get $addr) (i64.extend_i32_u (i32.load16_u (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br_if $giveup (call $far (local.get $addr)))
            (br $next))
            ;; 8 DW_LNS_const_add_pc
            (local.set $addr (i64.add (local.get $addr) (i64.extend_i32_s (i32.load offset=2048 (local.get $adv)))))
            (br_if $giveup (call $far (local.get $addr)))
            (br $next))
            ;; 6, 7, 10, 11: no operands, no state this pass keeps
            (br $next))
            ;; 5 DW_LNS_set_column (a one-byte operand inline: nearly all of them)
            (if (i32.lt_u (local.get $p) (local.get $end)) (then
              (local.set $v (i32.load8_u (local.get $p)))
              (if (i32.lt_u (local.get $v) (i32.const 0x80)) (then
                (local.set $col (local.get $v))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $next)))))
            (local.set $col (call $uleb (local.get $p) (local.get $end)))
            (br_if $giveup (global.get $bad))
            (local.set $p (global.get $lp))
            (br $next))
            ;; 4 DW_LNS_set_file
            (if (i32.lt_u (local.get $p) (local.get $end)) (then
              (local.set $v (i32.load8_u (local.get $p)))
              (if (i32.lt_u (local.get $v) (i32.const 0x80)) (then
                (local.set $file (local.get $v))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $next)))))
            (local.set $file (call $uleb (local.get $p) (local.get $end)))
            (br_if $giveup (global.get $bad))
            (local.set $p (global.get $lp))
            (br $next))
            ;; 3 DW_LNS_advance_line (one byte: -64..63)
            (if (i32.lt_u (local.get $p) (local.get $end)) (then
              (local.set $v (i32.load8_u (local.get $p)))
              (if (i32.lt_u (local.get $v) (i32.const 0x80)) (then
                (local.set $line (i32.add (local.get $line)
                  (i32.sub (local.get $v) (i32.shl (i32.and (local.get $v) (i32.const 0x40)) (i32.const 1)))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $next)))))
            (local.set $line (i32.add (local.get $line) (call $sleb (local.get $p) (local.get $end))))
            (br_if $giveup (global.get $bad))
            (local.set $p (global.get $lp))
            (br $next))
            ;; 2 DW_LNS_advance_pc: operand * minimum_instruction_length
            (local.set $v (call $uleb (local.get $p) (local.get $end)))
            (br_if $giveup (global.get $bad))
            (local.set $p (global.get $lp))
            (local.set $addr (i64.add (local.get $addr)
              (i64.mul (i64.extend_i32_u (local.get $v)) (i64.extend_i32_s (i32.load offset=2052 (local.get $adv))))))
            (br_if $giveup (call $far (local.get $addr)))
            (br $next))
            ;; 1 DW_LNS_copy: a row
            (br $row))
          ;; 0: extended opcode
          (local.set $v (call $uleb (local.get $p) (local.get $end)))
          (br_if $giveup (global.get $bad))
          (local.set $p (global.get $lp))
          (br_if $giveup (i32.eqz (local.get $v)))
          (br_if $giveup (i32.gt_u (local.get $v) (i32.sub (local.get $end) (local.get $p))))
          (local.set $subEnd (i32.add (local.get $p) (local.get $v)))
          (local.set $op (i32.load8_u (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (if (i32.eq (local.get $op) (i32.const 1)) (then
            ;; DW_LNE_end_sequence: [lo, address) is a sequence
            (if (local.get $rows) (then
              (br_if $giveup (i32.ge_u (local.get $nsq) (local.get $sqCap)))
              (local.set $o (i32.add (local.get $sq) (i32.mul (local.get $nsq) (i32.const 40))))
              (f64.store (local.get $o) (f64.add (f64.convert_i32_u (i32.sub (local.get $seqAt) (local.get $prog))) (local.get $posBase)))
              (f64.store offset=8 (local.get $o) (f64.convert_i64_s (local.get $lo)))
              (f64.store offset=16 (local.get $o) (f64.convert_i64_s (local.get $addr)))
              (f64.store offset=24 (local.get $o) (f64.convert_i32_u (i32.mul (local.get $ckFirst) (i32.const 7))))
              (f64.store offset=32 (local.get $o) (f64.convert_i32_u (i32.mul (local.get $nck) (i32.const 7))))
              (local.set $nsq (i32.add (local.get $nsq) (i32.const 1)))))
            (local.set $addr (i64.const 0))
            (local.set $file (i32.const 1))
            (local.set $line (i32.const 1))
            (local.set $col (i32.const 0))
            (local.set $disc (i32.const 0))
            (local.set $rows (i32.const 0))
            (local.set $seqAt (local.get $subEnd))
            (local.set $ckFirst (local.get $nck))
            (local.set $p (local.get $subEnd))
            (br $next)))
          (if (i32.eq (local.get $op) (i32.const 2)) (then
            ;; DW_LNE_set_address: operand of len - 1 bytes (1, 2, 4 or 8 here)
            (local.set $k (i32.sub (local.get $v) (i32.const 1)))
            (if (i32.eq (local.get $k) (i32.const 8))
              (then (local.set $addr (i64.load (local.get $p))))
              (else (if (i32.eq (local.get $k) (i32.const 4))
                (then (local.set $addr (i64.load32_u (local.get $p))))
                (else (if (i32.eq (local.get $k) (i32.const 2))
                  (then (local.set $addr (i64.load16_u (local.get $p))))
                  (else (if (i32.eq (local.get $k) (i32.const 1))
                    (then (local.set $addr (i64.load8_u (local.get $p))))
                    (else (br $giveup)))))))))
            (br_if $giveup (call $far (local.get $addr)))
            (local.set $p (local.get $subEnd))
            (br $next)))
          (if (i32.eq (local.get $op) (i32.const 4)) (then
            ;; DW_LNE_set_discriminator (its operand read up to the program's end, as line.ts does)
            (local.set $disc (call $uleb (local.get $p) (local.get $end)))
            (br_if $giveup (global.get $bad))))
          (local.set $p (local.get $subEnd))
          (br $next))
        ;; a row (special opcode or DW_LNS_copy)
        (if (i32.eqz (local.get $rows)) (then (local.set $lo (local.get $addr))))
        (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $rows) (i32.const 31))) (then
          ;; a checkpoint every 32 rows: lookups resume from the nearest one
          (br_if $giveup (i32.ge_u (local.get $nck) (local.get $ckCap)))
          (local.set $o (i32.add (local.get $ck) (i32.mul (local.get $nck) (i32.const 56))))
          (f64.store (local.get $o) (f64.add (f64.convert_i32_u (i32.sub (local.get $p) (local.get $prog))) (local.get $posBase)))
          (f64.store offset=8 (local.get $o) (f64.convert_i64_s (local.get $addr)))
          (f64.store offset=16 (local.get $o) (f64.convert_i32_u (local.get $file)))
          (f64.store offset=24 (local.get $o) (f64.convert_i32_u (local.get $line)))
          (f64.store offset=32 (local.get $o) (f64.convert_i32_u (local.get $col)))
          (f64.store offset=40 (local.get $o) (f64.convert_i32_u (local.get $disc)))
          (f64.store offset=48 (local.get $o) (f64.convert_i64_s (local.get $lo)))
          (local.set $nck (i32.add (local.get $nck) (i32.const 1)))))
        (local.set $disc (i32.const 0))
        (br $next)))
    (i32.const -1))
)
