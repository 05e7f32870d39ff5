// Synthetic /proc/kallsyms text and a synthetic kernel log made from it, for `npm run bench`.
//
//   node bench/gen-kallsyms.mjs 1000000 > /tmp/kallsyms-1m      (symbols, optional seed)
//
// Layout (x86-64, CONFIG_KALLSYMS_ALL): percpu symbols at 0, then vmlinux sorted by address
// (_stext.._etext text with __pfx_ padding symbols, aliases, .constprop.0/.isra.0/.part.0/.cold
// clones, rodata with __ksymtab_/__kstrtab_, data, _sinittext.._einittext, bss, _end), then
// modules in symtab (unsorted) order with `\t[mod]`, then one ftrace trampoline line, then
// 10,000 `[bpf]` programs `bpf_prog_<16 hex>_<name>` at addresses below the modules.
// Deterministic for a given (count, seed).
import { rng } from './util.mjs';

const SUBSYS = (
  'ext4 xfs btrfs tcp udp ip6 nf_conntrack nf_tables sched cfs rcu mm vma page folio kmem_cache slab ' +
  'vfs dentry inode bio blk_mq nvme scsi usb pci acpi drm i915 amdgpu kvm vmx svm bpf perf trace ' +
  'ftrace irq apic cpu cgroup memcg sock skb netdev dev sysfs kernfs proc seq crypto aes sha256 x86 ' +
  'intel mlx5 ixgbe e1000e virtio xen hid input snd tty serial audit security selinux apparmor key ' +
  'lockdep mutex spin futex timer hrtimer clocksource tick workqueue kthread signal ptrace fork exec ' +
  'mmap swap zswap shmem hugetlb numa writeback fsnotify io_uring epoll pipe fuse nfs cifs ceph dm md ' +
  'raid iommu dma gpio i2c spi regmap clk regulator thermal power pm suspend efi rtc watchdog kobject ' +
  'device driver bus firmware module kallsyms klp kprobe uprobe jump_label static_call text_poke ' +
  'netlink xdp tc qdisc fib neigh arp icmp sctp unix packet vlan bridge bond team'
).split(' ');
const VERBS = (
  'init exit alloc free get put lock unlock read write open release create destroy add del remove ' +
  'insert lookup find update handle process submit complete wait wake start stop enable disable ' +
  'register unregister setup cleanup probe attach detach show store parse check validate map unmap ' +
  'flush sync reset resume suspend poll queue dequeue enqueue schedule copy move split merge grab drop ' +
  'try prepare commit abort fill clear set test mark account charge uncharge count scan walk iter next ' +
  'prev first last'
).split(' ');
const OBJS = (
  'page buffer request entry node list tree table ctx state info desc work timer irq event msg packet ' +
  'frame chunk block extent inode file range region slot queue ring fd task thread group cpu zone pool ' +
  'cache hash key val attr ops stats config param flags mode data private ref sb super mount path name ' +
  'link rule chain policy'
).split(' ');
const MODS = (
  'nf_tables nf_conntrack kvm_intel kvm xfs btrfs mlx5_core mlx5_ib i915 amdgpu nvme nvme_core e1000e ' +
  'ixgbe bridge bonding overlay fuse nfsd nfs sunrpc cifs dm_mod raid456 snd_hda_intel snd_hda_codec ' +
  'usbhid hid_generic xhci_hcd ahci libahci sd_mod sr_mod cdrom drm drm_kms_helper ttm video wmi ' +
  'intel_rapl coretemp crc32c_intel aesni_intel ghash_clmulni_intel virtio_net virtio_blk vhost_net ' +
  'tun tap macvlan vxlan ip_tables x_tables iptable_nat nf_nat nf_defrag_ipv4 br_netfilter veth ' +
  'wireguard ext4 jbd2 mbcache zram zstd_compress lz4 btusb bluetooth cfg80211 mac80211 iwlwifi iwlmvm ' +
  'thunderbolt typec ucsi_acpi i2c_hid psmouse serio_raw joydev input_leds rfkill uvcvideo videobuf2_core'
).split(' ');
const BPF_NAMES = (
  'sd_devices sd_fw_egress sd_fw_ingress tracepoint__syscalls__sys_enter_execve kprobe__tcp_v4_connect ' +
  'xdp_prog tc_ingress cgroup_skb_egress lsm_file_open dump_bpf_map dump_bpf_prog F syscall__probe ' +
  'handle_exec handle_exit iter_tcp4'
).split(' ');

const HEX16 = (hi, lo) => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');

/**
 * Generate `count` symbols. Returns { text: Buffer, stext, etext, count } where stext/etext
 * are BigInt bounds of vmlinux text.
 */
export function generateKallsyms(count, seed = 1) {
  const r = rng(seed);
  const pick = (a) => a[(r() * a.length) | 0];
  const chunks = [];
  let buf = [];
  let n = 0;
  const flush = () => {
    chunks.push(Buffer.from(buf.join(''), 'latin1'));
    buf = [];
  };
  // Addresses as a 64-bit value split into hi/lo 32-bit halves kept in a Number pair.
  const line = (hi, lo, t, name, mod) => {
    buf.push(HEX16(hi, lo) + ' ' + t + ' ' + name + (mod ? '\t[' + mod + ']\n' : '\n'));
    n++;
    if (buf.length >= 8192) flush();
  };
  const fname = (pre) => {
    let s = pre + pick(SUBSYS) + '_' + pick(VERBS);
    const x = r();
    if (x < 0.75) s += '_' + pick(OBJS);
    if (x < 0.45) s += '_' + pick(OBJS);
    if (x > 0.97) s += (r() * 8) | 0;
    return s;
  };
  const prefix = () => {
    const x = r();
    return x < 0.1 ? '__' : x < 0.13 ? 'do_' : x < 0.14 ? '__x64_sys_' : x < 0.15 ? '__se_sys_' : '';
  };
  const clone = () => {
    const x = r();
    return x < 0.02 ? '.constprop.0' : x < 0.04 ? '.isra.0' : x < 0.05 ? '.part.0' : x < 0.052 ? '.constprop.1' : '';
  };

  const nBpf = Math.min(10000, Math.floor(count * 0.02));
  const nMods = Math.max(4, Math.round(count / 5000));
  const nModSyms = Math.round(count * 0.18);
  const nPercpu = Math.min(300, Math.floor(count * 0.001));
  const nVml = count - nBpf - 1 - nModSyms - nPercpu;

  // percpu symbols at 0.
  let off = 0;
  for (let i = 0; i < nPercpu; i++) {
    line(0, off, i % 3 ? 'd' : 'D', fname('') + '_pcpu');
    off += 8 + ((r() * 64) | 0) * 8;
  }

  // vmlinux: a 64-bit cursor in (hi, lo) with lo carrying into hi.
  let hi = 0xffffffff;
  let lo = 0x81000000;
  const adv = (d) => {
    lo += d;
    if (lo >= 0x100000000) {
      lo -= 0x100000000;
      hi = (hi + 1) >>> 0;
    }
  };
  const textSyms = Math.floor(nVml * 0.62);
  const initSyms = Math.floor(nVml * 0.03);
  const roSyms = Math.floor(nVml * 0.12);
  const dataSyms = Math.floor(nVml * 0.12);
  const stext = (BigInt(hi) << 32n) | BigInt(lo);
  line(hi, lo, 'T', 'startup_64');
  line(hi, lo, 'T', '_stext');
  line(hi, lo, 'T', '_text');
  const exported = [];
  let v = 3;
  const vEnd = nVml - 8; // room for the markers
  const stop = (k) => v >= vEnd || k <= 0;
  // Text: functions with a 16-byte __pfx_ padding symbol in front (CONFIG_CALL_PADDING).
  adv(0x1000);
  for (let k = textSyms; !stop(k);) {
    const name = fname(prefix()) + clone();
    const size = 16 * (1 + ((r() * r() * 120) | 0));
    const global = r() < 0.55;
    if (r() < 0.6 && k > 2) {
      line(hi, lo, global ? 'T' : 't', '__pfx_' + name);
      adv(16);
      v++;
      k--;
    }
    line(hi, lo, global ? 'T' : 't', name);
    v++;
    k--;
    if (r() < 0.02 && k > 1) {
      line(hi, lo, 'T', name + '_alias'); // an alias at the same address
      v++;
      k--;
    }
    if (global && r() < 0.15) exported.push(name);
    adv(size);
    if (r() < 0.03 && k > 1) {
      line(hi, lo, 't', name + '.cold');
      v++;
      k--;
      adv(16 * (1 + ((r() * 8) | 0)));
    }
  }
  line(hi, lo, 'T', '_etext');
  v++;
  const etext = (BigInt(hi) << 32n) | BigInt(lo);
  adv(0x200000);
  // rodata: __ksymtab_/__kstrtab_ entries of exported functions, then other read-only data.
  line(hi, lo, 'D', '__start_rodata');
  v++;
  let ek = 0;
  for (let k = roSyms; !stop(k); k--) {
    if (ek < exported.length && r() < 0.5) {
      const e = exported[ek++];
      line(hi, lo, 'r', (r() < 0.5 ? '__ksymtab_' : '__kstrtab_') + e);
      adv(12);
    } else {
      line(hi, lo, r() < 0.3 ? 'R' : 'r', fname('') + (r() < 0.2 ? '_ops' : '_tbl'));
      adv(8 * (1 + ((r() * 40) | 0)));
    }
    v++;
  }
  adv(0x10000);
  for (let k = dataSyms; !stop(k); k--) {
    line(hi, lo, r() < 0.3 ? 'D' : 'd', fname('') + (r() < 0.1 ? '.0' : ''));
    adv(8 * (1 + ((r() * 64) | 0)));
    v++;
  }
  adv(0x100000);
  line(hi, lo, 'T', '_sinittext');
  v++;
  for (let k = initSyms; !stop(k); k--) {
    line(hi, lo, 't', fname('') + '_init');
    adv(16 * (1 + ((r() * 40) | 0)));
    v++;
  }
  line(hi, lo, 'T', '_einittext');
  v++;
  adv(0x100000);
  line(hi, lo, 'B', '__bss_start');
  v++;
  while (v < nVml - 1) {
    line(hi, lo, r() < 0.3 ? 'B' : 'b', fname('') + (r() < 0.5 ? '_cache' : '_lock'));
    adv(8 * (1 + ((r() * 64) | 0)));
    v++;
  }
  line(hi, lo, 'B', '_end');

  // Modules, symtab order: per compilation unit its text symbols, then data, then bss.
  const modNames = [];
  for (let m = 0; m < nMods; m++) modNames.push(m < MODS.length ? MODS[m] : MODS[m % MODS.length] + '_' + Math.floor(m / MODS.length));
  // Uneven sizes: weights ~ 1/(rank+3).
  const w = modNames.map((_, m) => 1 / (m + 3));
  const wsum = w.reduce((a, b) => a + b, 0);
  let left = nModSyms;
  let mbase = 0xc2000000; // lo half; hi is 0xffffffff, module area kept below 4 GiB of lo
  for (let m = 0; m < nMods; m++) {
    const mod = modNames[m];
    let ms = m === nMods - 1 ? left : Math.max(8, Math.round((nModSyms * w[m]) / wsum));
    if (ms > left) ms = left;
    left -= ms;
    if (ms <= 0) continue;
    // Section bases: text, data, bss; each symbol <= 0x400 bytes.
    let t = mbase;
    let d = mbase + ms * 0x200;
    let b = d + ms * 0x200;
    const symtab = [];
    let k = 0;
    while (k < ms - 3) {
      const cu = Math.min(ms - 3 - k, 4 + ((r() * 20) | 0));
      const nt = Math.max(1, Math.round(cu * 0.6));
      const nd = Math.round((cu - nt) * 0.6);
      const nb = cu - nt - nd;
      for (let i = 0; i < nt; i++) {
        const name = (r() < 0.5 ? mod + '_' : '') + fname('') + clone();
        if (r() < 0.5 && i + 1 < nt) {
          symtab.push([t, 't', '__pfx_' + name]);
          t += 16;
          i++;
        }
        symtab.push([t, r() < 0.3 ? 'T' : 't', name]);
        t += 16 * (1 + ((r() * r() * 40) | 0));
      }
      for (let i = 0; i < nd; i++) {
        symtab.push([d, 'd', fname('') + (r() < 0.3 ? '_ops' : '')]);
        d += 8 * (1 + ((r() * 32) | 0));
      }
      for (let i = 0; i < nb; i++) {
        symtab.push([b, 'b', fname('') + '_lock']);
        b += 8 * (1 + ((r() * 32) | 0));
      }
      k += cu;
    }
    symtab.push([t, 'T', 'init_module']);
    symtab.push([t + 0x40, 'T', 'cleanup_module']);
    symtab.push([d, 'D', '__this_module']);
    for (const [a, ty, name] of symtab) line(0xffffffff, a >>> 0, ty, name, mod);
    mbase = (b + 0x10000) & ~0xfff;
  }
  // ftrace trampoline, then BPF programs at lower addresses than the modules.
  line(0xffffffff, 0xc0001000, 't', 'ftrace_trampoline', '__builtin__ftrace');
  let ba = 0xc0010000;
  for (let i = 0; i < nBpf; i++) {
    let tag = '';
    for (let j = 0; j < 4; j++) tag += ((r() * 0x10000) | 0).toString(16).padStart(4, '0');
    line(0xffffffff, ba, 't', `bpf_prog_${tag}_${pick(BPF_NAMES)}`, 'bpf');
    ba += 0x40 * (2 + ((r() * 30) | 0));
  }
  flush();
  return { text: Buffer.concat(chunks), stext, etext, count: n };
}

/**
 * A synthetic x86-64 kernel log of `lines` lines from the symbols of a kallsyms text:
 * oops headers, RIP lines, register dumps, old-style `[<addr>] ? name+0xoff/0xsize` and
 * new-style `name+0xoff/0xsize [mod]` call-trace lines, and unrelated dmesg noise.
 * Returns { lines: string[], positions: [line, col][] } (positions: frames and addresses).
 */
export function generateLog(kallsymsText, lines, seed = 7) {
  const r = rng(seed);
  // Text symbols with a size: sort by address, size to the next symbol of the same object.
  const syms = [];
  const s = kallsymsText.toString('latin1');
  let p = 0;
  while (p < s.length) {
    let e = s.indexOf('\n', p);
    if (e < 0) e = s.length;
    const l = s.slice(p, e);
    p = e + 1;
    const t = l[17];
    if (t !== 't' && t !== 'T') continue;
    const tab = l.indexOf('\t', 19);
    const name = tab < 0 ? l.slice(19) : l.slice(19, tab);
    const mod = tab < 0 ? undefined : l.slice(tab + 2, -1);
    if (mod === '__builtin__ftrace') continue;
    syms.push({ a: BigInt('0x' + l.slice(0, 16)), name, mod });
  }
  syms.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : 0));
  const usable = [];
  for (let i = 1; i + 1 < syms.length; i++) {
    const x = syms[i];
    if (syms[i - 1].a === x.a || syms[i + 1].a === x.a || syms[i + 1].mod !== x.mod) continue;
    if (x.name.startsWith('__pfx_') || (x.name[0] === '_' && x.name.startsWith('_e'))) continue;
    const size = Number(syms[i + 1].a - x.a);
    if (size < 2 || size > 0x10000) continue;
    usable.push({ a: x.a, name: x.name, mod: x.mod, size });
  }
  const pick = () => usable[(r() * usable.length) | 0];
  const out = [];
  const positions = [];
  let ts = 1.0;
  const stamp = () => {
    ts += r() * 0.01;
    return `[${ts.toFixed(6).padStart(12)}] `;
  };
  const frameText = (f, off) => `${f.name}+0x${off.toString(16)}/0x${f.size.toString(16)}${f.mod && f.mod !== 'bpf' ? ` [${f.mod}]` : ''}`;
  const hex16 = (a) => a.toString(16).padStart(16, '0');
  while (out.length < lines) {
    const x = r();
    if (x < 0.25) {
      // dmesg noise
      const st = stamp();
      out.push(st + pick().name.replace(/_/g, ' ') + `: link is up, ${(r() * 1000) | 0} Mbps`);
      continue;
    }
    // One oops: header, RIP, registers, call trace.
    const rip = pick();
    const ripOff = 1 + ((r() * (rip.size - 1)) | 0);
    out.push(stamp() + `BUG: kernel NULL pointer dereference, address: 00000000000000${((r() * 256) | 0).toString(16).padStart(2, '0')}`);
    out.push(
      stamp() +
        `CPU: ${(r() * 64) | 0} PID: ${(r() * 99999) | 0} Comm: kworker/u16:${(r() * 9) | 0} Tainted: G        W  OE      6.8.0-45-generic #45-Ubuntu`,
    );
    let st = stamp();
    let l = st + 'RIP: 0010:';
    positions.push([out.length, l.length + 2]);
    out.push(l + frameText(rip, ripOff));
    out.push(stamp() + `RSP: 0018:ffffb4c1${hex16(BigInt((r() * 0xffffffff) >>> 0)).slice(8)} EFLAGS: 00010246`);
    out.push(
      stamp() + `RAX: 0000000000000000 RBX: ffff8f0c${((r() * 0xffffffff) >>> 0).toString(16).padStart(8, '0')} RCX: ${hex16(rip.a)}`,
    );
    out.push(stamp() + 'Call Trace:');
    const old = r() < 0.5;
    if (!old) out.push(stamp() + ' <TASK>');
    const depth = 6 + ((r() * 20) | 0);
    for (let d = 0; d < depth; d++) {
      const f = pick();
      const off = 1 + ((r() * (f.size - 1)) | 0);
      const unreliable = r() < 0.2 ? '? ' : '';
      st = stamp();
      if (old) {
        l = `${st} [<${hex16(f.a + BigInt(off))}>] ${unreliable}`;
        // alternate hover targets: the address, the frame
        positions.push([out.length, r() < 0.5 ? st.length + 4 : l.length + 2]);
        out.push(l + frameText(f, off));
      } else {
        l = `${st} ${unreliable}`;
        positions.push([out.length, l.length + 2]);
        out.push(l + frameText(f, off));
      }
      if (out.length >= lines) break;
    }
    if (!old) out.push(stamp() + ' </TASK>');
    out.push(stamp() + '---[ end trace 0000000000000000 ]---');
  }
  out.length = lines;
  return { lines: out, positions: positions.filter(([ln]) => ln < lines) };
}

// CLI: node bench/gen-kallsyms.mjs COUNT [SEED] > file
if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 1000000);
  const { text } = generateKallsyms(count, Number(process.argv[3] ?? 1));
  process.stdout.write(text);
}
