#!/usr/bin/env python3
"""Static GPU evidence for danlu's CUDA kernels, made without a GPU: compiles
kernels/cuda/*.cu and kernels/cuda/conv/*.cu for sm_90, reads ptxas's registers, spills, stack and
shared memory per kernel, computes the theoretical H100 occupancy at each
kernel's launch block size and, where nvdisasm is found, the instruction mix
of each conv kernel's main loop. Writes docs/gpu-resources.md:

    python3 scripts/gpu-resources.py

With --check it writes only into its work directory and exits 1 when a
conv, norm or optimizer kernel spills (or has a stack frame), when a rung
misses its static target (gpu_resources/targets.py; needs nvdisasm) or when
the checked-in docs/gpu-resources.md differs from what the sources compile to;
the fresh document is left in the work directory to compare. Standard
library only."""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpu_resources import compile as nvcc_compile  # noqa: E402
from gpu_resources import elf, launches, ptxas, report, sass, targets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "gpu-resources.md"
# Kernel families that run every training step on large tensors: a spill
# there costs every step, so the check refuses it. Every file of the
# convolution ladder (kernels/cuda/conv/) is one.
CONV = {f"conv/{p.name}" for p in (ROOT / "kernels" / "cuda" / "conv").glob("*.cu")}
HOT = CONV | {"batchnorm.cu", "layernorm.cu", "optim.cu"}
# Families whose main-loop instruction mix is reported.
MIX = CONV


def find_nvcc(given):
    for candidate in (given, os.environ.get("NVCC"), shutil.which("nvcc"),
                      "/usr/local/cuda/bin/nvcc"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    sys.exit("gpu-resources: nvcc not found (pass --nvcc PATH)")


def collect(compiled, sizes):
    """Kernel rows, called (non-entry) functions, and the spill problems of HOT files."""
    parsed = [(c, ptxas.parse(c.ptxas_log)) for c in compiled]
    names = ptxas.demangle(sorted({f.mangled for _, fs in parsed for f in fs}))
    enums = ptxas.enumerators(sorted((ROOT / "kernels").glob("*.h")))
    kernels, called, problems = [], [], []
    for c, functions in parsed:
        cmem = elf.constant_bank_sizes(c.cubin)
        for f in functions:
            name = ptxas.short_name(names[f.mangled], enums)
            if c.name in HOT and (f.spills or f.stack):
                problems.append(f"{c.name}: {name}: {f.spill_stores} bytes spill stores, "
                                f"{f.spill_loads} bytes spill loads, {f.stack} bytes stack frame")
            if not f.entry:
                called.append((c.name, name, f))
                continue
            block, source = launches.block_of(c.name, ptxas.base_name(name), sizes, name)
            kernels.append({"file": c.name, "name": name, "function": f,
                            "cmem": cmem.get(f.mangled, 0), "block": block,
                            "block_source": source, "mangled": f.mangled, "cubin": c.cubin})
    kernels.sort(key=lambda k: (k["file"], k["name"]))
    called.sort(key=lambda c: (c[0], c[1]))
    return kernels, called, problems


def instruction_mix(kernels, nvdisasm):
    """Rows (file, name, LoopMix or None) for the MIX families, and the note above them."""
    if not nvdisasm:
        return None, ("nvdisasm was not found (it is not in every CUDA toolkit install; "
                      "`python3 -m pip install nvidia-cuda-nvdisasm` provides it), so the "
                      "instruction mix is left out.")
    loops = {}
    for cubin in sorted({k["cubin"] for k in kernels if k["file"] in MIX}):
        loops.update(sass.main_loops(cubin, nvdisasm))
    rows = [(k["file"], k["name"], loops.get(k["mangled"])) for k in kernels if k["file"] in MIX]
    return rows, (f"Disassembled from the same cubins by nvdisasm ({sass.version(nvdisasm)}); "
                  "the loop is given as the byte offsets of its first instruction and of its "
                  "backward branch.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with docs/gpu-resources.md and refuse spills; "
                        "write only into the work directory")
    parser.add_argument("--nvcc", help="nvcc to use (default: $NVCC, PATH, /usr/local/cuda/bin)")
    parser.add_argument("--nvdisasm", help="nvdisasm to use (default: PATH, beside nvcc, "
                        "or a pip nvidia-cuda-nvdisasm wheel)")
    parser.add_argument("--tools-prefix", action="append", default=[],
                        help="a `pip install --target` folder to search for nvdisasm "
                        "(default also build/cuda-tools)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "gpu-resources",
                        help="where cubins, logs and the fresh document go")
    parser.add_argument("--jobs", type=int, default=None,
                        help="parallel nvcc runs (default: the cores)")
    args = parser.parse_args()

    started = time.monotonic()
    nvcc = find_nvcc(args.nvcc)
    if args.nvdisasm and not os.access(args.nvdisasm, os.X_OK):
        sys.exit(f"gpu-resources: --nvdisasm {args.nvdisasm}: not an executable")
    nvdisasm = args.nvdisasm or sass.find_nvdisasm(
        nvcc, [*args.tools_prefix, str(ROOT / "build" / "cuda-tools")])
    files, left_out = nvcc_compile.sources(ROOT)
    try:
        compiled = nvcc_compile.compile_all(nvcc, ROOT, args.work_dir, files, args.jobs)
        kernels, called, spills = collect(compiled, launches.block_sizes(ROOT / "kernels" / "cuda"))
        mix, mix_note = instruction_mix(kernels, nvdisasm)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        sys.exit(f"gpu-resources: {error}")
    command = " ".join(nvcc_compile.command("nvcc", ".", "kernels/cuda/<file>.cu", "<file>.cubin"))
    doc = report.render(nvcc_compile.nvcc_version(nvcc), command, [nvcc_compile.name_of(p, ROOT / "kernels" / "cuda") for p in left_out],
                        kernels, called, mix, mix_note)
    fresh = args.work_dir / "gpu-resources.md"
    fresh.write_text(doc)
    summary = (f"{len(kernels)} kernels from {len(compiled)} files in "
               f"{time.monotonic() - started:.1f} s" + ("" if nvdisasm else ", no nvdisasm"))

    if not args.check:
        DOC.write_text(doc)
        print(f"gpu-resources: wrote {DOC.relative_to(ROOT)} ({summary})")
        for problem in spills + (targets.missed(mix) if mix is not None else []):
            print(f"gpu-resources: warning: {problem}", file=sys.stderr)
        return 0

    problems = [f"a hot kernel uses local memory: {p}" for p in spills]
    problems += targets.missed(mix) if mix is not None else []
    checked_in = DOC.read_text() if DOC.exists() else ""
    problems += [f"{DOC.relative_to(ROOT)} is stale ({p}); rerun "
                 f"`python3 scripts/gpu-resources.py` and commit it (the fresh copy is {fresh})"
                 for p in report.stale(checked_in, doc)]
    for problem in problems:
        print(f"gpu-resources: {problem}", file=sys.stderr)
    if report.nvcc_of(checked_in) != report.nvcc_of(doc):
        summary += (f"; nvcc {report.nvcc_of(doc)} here, {report.nvcc_of(checked_in)} in the "
                    "document: only the kernel lists were compared")
    print(f"gpu-resources: {'FAILED' if problems else 'ok'}: {summary}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
