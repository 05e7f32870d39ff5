// A small base BTF with one type of every kind (and a few reference loops), built
// from scratch, so that BTF fuzzing has a cheap, self-contained seed.

import { BtfBuilder, K } from './btfBuilder.mjs';

/** Raw BTF blobs (little- and big-endian) with every kind. */
export function syntheticBtf() {
  const b = new BtfBuilder();
  const s = (n) => b.str(n);
  const int = b.add(K.INT, 'int', 0, 4, [(1 << 24) | 32]);
  const char = b.add(K.INT, 'char', 0, 1, [(1 << 24) | 8]);
  const long = b.add(K.INT, 'long int', 0, 8, [(1 << 24) | 64]);
  const charp = b.add(K.PTR, '', 0, char);
  const cchar = b.add(K.CONST, '', 0, char);
  const ccharp = b.add(K.PTR, '', 0, cchar);
  const proto = b.add(K.FUNC_PROTO, '', 3, int, [s('a'), int, s('b'), charp, 0, 0]);
  const fnp = b.add(K.PTR, '', 0, proto);
  const arr = b.add(K.ARRAY, '', 0, 0, [char, int, 16]);
  const vol = b.add(K.VOLATILE, '', 0, int);
  const rp = b.add(K.RESTRICT, '', 0, charp);
  const anon = b.add(K.STRUCT, '', 2, 8, [s('x'), int, 0, s('y'), int, 32]);
  const u = b.add(K.UNION, 'u', 2, 8, [s('i'), int, 0, s('l'), long, 0]);
  const fwd = b.add(K.FWD, 'later', 0, 0);
  const st = b.add(
    K.STRUCT,
    'thing',
    9,
    64,
    [
      s('a'),
      int,
      (3 << 24) | 0,
      s('b'),
      int,
      (5 << 24) | 3,
      s('p'),
      charp,
      64,
      s('fn'),
      fnp,
      128,
      s('buf'),
      arr,
      192,
      0,
      anon,
      320,
      s('v'),
      vol,
      384,
      s('r'),
      rp,
      448,
      s('uu'),
      u,
      448,
    ],
    true,
  );
  const td = b.add(K.TYPEDEF, 'thing_t', 0, st);
  b.add(K.ENUM, 'color', 3, 4, [s('RED'), 0, s('GREEN'), 1, s('BLUE'), 0xffffffff]);
  b.add(K.ENUM64, 'big', 2, 8, [s('SMALL'), 1, 0, s('HUGE'), 0, 0x80000000], true);
  const fn = b.add(K.FUNC, 'do_thing', 0, proto, [], false);
  b.add(K.DECL_TAG, 'bpf_kfunc', 0, fn, [0xffffffff]);
  const v = b.add(K.VAR, 'counter', 0, int, [1]);
  b.add(K.DATASEC, '.data', 1, 4, [v, 0, 4]);
  b.add(K.FLOAT, 'double', 0, 8);
  b.add(K.TYPE_TAG, 'user', 0, ccharp);
  b.add(K.PTR, '', 0, fwd);
  b.add(K.PTR, '', 0, td);
  // loops: typedef to itself, PTR <-> CONST, a struct containing itself by value
  const loopTd = b.add(K.TYPEDEF, 'loop_t', 0, b.types.length + 1);
  b.add(K.PTR, '', 0, b.types.length + 2);
  b.add(K.CONST, '', 0, b.types.length);
  b.add(K.STRUCT, 'self', 1, 8, [s('me'), b.types.length + 1, 0]);
  b.add(K.FUNC_PROTO, '', 1, loopTd, [s('x'), loopTd]);
  return [b.build(true), b.build(false)];
}
