#!/usr/bin/env python3
"""Compile every kernels/*.cu with NVRTC, as the Rust side does, and report per file.

Usage (no GPU needed; NVRTC runs on the CPU):

    /work/shared/tools/with-nvrtc.sh python3 kernels/check_nvrtc.py [FILE.cu ...]

What it does, per file (standard library only, NVRTC through ctypes):
- replaces the line `#include "common.cuh"` by the text of kernels/common.cuh (what the Rust side
  does before handing the source to NVRTC);
- compiles with `--gpu-architecture=compute_90` plus `--include-path=DIR` for each entry of
  NVRTC_INCLUDE_PATH (colon-separated, as with-nvrtc.sh sets it), other options left at NVRTC's
  defaults;
- prints OK or FAIL, NVRTC's log, and the `extern "C"` kernels found in the PTX (`.entry` lines).

A file FAILS when NVRTC reports an error *or* any warning (a non-empty log): the kernels must
compile cleanly. Exit status: 0 when every file is OK, 1 otherwise, 2 when NVRTC cannot be loaded.
"""

import ctypes
import ctypes.util
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ARCH = "compute_90"


def load_nvrtc():
    """libnvrtc.so.13 from LD_LIBRARY_PATH (the dynamic loader's search), else by name."""
    names = ["libnvrtc.so.13", "libnvrtc.so"]
    for d in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
        for n in names:
            p = os.path.join(d, n)
            if d and os.path.exists(p):
                return ctypes.CDLL(p)
    for n in names:
        try:
            return ctypes.CDLL(n)
        except OSError:
            pass
    return None


class Nvrtc:
    def __init__(self, lib):
        self.lib = lib
        lib.nvrtcGetErrorString.restype = ctypes.c_char_p
        lib.nvrtcCreateProgram.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(ctypes.c_char_p),
        ]
        lib.nvrtcCompileProgram.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
        lib.nvrtcGetProgramLogSize.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
        lib.nvrtcGetProgramLog.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nvrtcGetPTXSize.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
        lib.nvrtcGetPTX.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nvrtcDestroyProgram.argtypes = [ctypes.POINTER(ctypes.c_void_p)]

    def err(self, code):
        return self.lib.nvrtcGetErrorString(code).decode()

    def version(self):
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
        return f"{major.value}.{minor.value}"

    def compile(self, source, name, options):
        """Returns (ok, log, ptx)."""
        prog = ctypes.c_void_p()
        rc = self.lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), name.encode(), 0, None, None)
        if rc != 0:
            return False, f"nvrtcCreateProgram: {self.err(rc)}", ""
        try:
            opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
            rc = self.lib.nvrtcCompileProgram(prog, len(options), opts)
            size = ctypes.c_size_t()
            self.lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
            buf = ctypes.create_string_buffer(size.value)
            self.lib.nvrtcGetProgramLog(prog, buf)
            log = buf.value.decode(errors="replace").strip()
            if rc != 0:
                return False, log or self.err(rc), ""
            self.lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
            buf = ctypes.create_string_buffer(size.value)
            self.lib.nvrtcGetPTX(prog, buf)
            return True, log, buf.value.decode(errors="replace")
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(prog))


def substitute(text, common):
    """The Rust side's substitution: the include line becomes common.cuh's text."""
    return text.replace('#include "common.cuh"', common)


def main(argv):
    lib = load_nvrtc()
    if lib is None:
        print("cannot load libnvrtc.so.13: run under /work/shared/tools/with-nvrtc.sh", file=sys.stderr)
        return 2
    nv = Nvrtc(lib)
    with open(os.path.join(HERE, "common.cuh")) as f:
        common = f.read()
    files = argv[1:] or sorted(
        os.path.join(HERE, n) for n in os.listdir(HERE) if n.endswith(".cu")
    )
    options = [f"--gpu-architecture={ARCH}"]
    for d in os.environ.get("NVRTC_INCLUDE_PATH", "").split(":"):
        if d:
            options.append(f"--include-path={d}")
    print(f"NVRTC {nv.version()}, options: {' '.join(options[:1])} (+{len(options) - 1} include paths)")
    failed = 0
    total_kernels = 0
    for path in files:
        name = os.path.basename(path)
        with open(path) as f:
            text = f.read()
        if '#include "common.cuh"' not in text:
            print(f"FAIL {name}: does not start with #include \"common.cuh\"")
            failed += 1
            continue
        ok, log, ptx = nv.compile(substitute(text, common), name, options)
        entries = re.findall(r"^\s*(?:\.visible\s+)?\.entry\s+([A-Za-z_][A-Za-z0-9_]*)", ptx, re.M)
        if ok and not log:
            print(f"OK   {name}: {len(entries)} kernels")
        else:
            failed += 1
            print(f"FAIL {name}" + ("" if ok else " (error)") + ("" if not ok or not log else " (warnings)"))
        if log:
            for line in log.splitlines():
                print(f"     | {line}")
        for e in entries:
            print(f"       {e}")
        total_kernels += len(entries)
    print(f"{len(files) - failed}/{len(files)} files OK, {total_kernels} kernels")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
