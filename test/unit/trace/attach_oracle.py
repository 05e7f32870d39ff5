#!/usr/bin/env python3
"""The kernel's own verdict on fentry/fexit/fmod_ret attachment (test oracle).

For each "NAME BTF_ID" line on stdin: BPF_PROG_LOAD a two-instruction tracing program
(r0 = 0; exit) with expected_attach_type FENTRY / FEXIT / MODIFY_RETURN and
attach_btf_id = BTF_ID (this runs bpf_check_attach_target), then BPF_RAW_TRACEPOINT_OPEN
it (this builds and patches in the trampoline), then closes both. Prints one JSON object
per line: {"name", "fentry": {"load": errno, "attach": errno, "log": "..."}, ...}.
errno 0 = accepted. Nothing stays attached.
"""
import ctypes, ctypes.util, json, os, struct, sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
SYS_bpf = 321  # x86_64
BPF_PROG_LOAD, BPF_RAW_TRACEPOINT_OPEN = 5, 17
BPF_PROG_TYPE_TRACING = 26
TYPES = {"fentry": 24, "fexit": 25, "fmod_ret": 26}

insns = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)  # mov r0,0; exit
insn_buf = ctypes.create_string_buffer(insns, len(insns))
lic = ctypes.create_string_buffer(b"GPL")
log = ctypes.create_string_buffer(65536)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, len(attr))
    r = libc.syscall(SYS_bpf, cmd, buf, len(attr))
    return r, (ctypes.get_errno() if r < 0 else 0)


def try_one(btf_id, atype):
    attr = bytearray(128)
    struct.pack_into("<IIQQIIQ", attr, 0, BPF_PROG_TYPE_TRACING, 2, ctypes.addressof(insn_buf),
                     ctypes.addressof(lic), 1, len(log), ctypes.addressof(log))
    struct.pack_into("<I", attr, 68, atype)
    struct.pack_into("<I", attr, 108, btf_id)
    log.value = b""
    fd, err = bpf(BPF_PROG_LOAD, bytes(attr))
    text = log.value.decode("latin1", "replace").strip().splitlines()
    res = {"load": err, "attach": None, "log": text[-1] if text else ""}
    if fd >= 0:
        a = bytearray(16)
        struct.pack_into("<QI", a, 0, 0, fd)
        lfd, aerr = bpf(BPF_RAW_TRACEPOINT_OPEN, bytes(a))
        res["attach"] = aerr
        if lfd >= 0:
            os.close(lfd)
        os.close(fd)
    return res


for line in sys.stdin:
    parts = line.split()
    if len(parts) != 2:
        continue
    name, btf_id = parts[0], int(parts[1])
    out = {"name": name}
    for k, t in TYPES.items():
        out[k] = try_one(btf_id, t)
    print(json.dumps(out), flush=True)
