"""Compiles each kernels/cuda/*.cu to an sm_90 cubin with ptxas's resource
report (-Xptxas -v), the files in parallel. Only device code is compiled
(-cubin), with the defines and include path of the CMake build, so the
registers and shared memory are those of the library's sm_90 code."""

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ARCH = "sm_90"
# cudnn.cu only calls cuDNN (the comparison backend) and defines no kernels;
# it is left out so that the report does not depend on cuDNN's headers.
LEFT_OUT = {"cudnn.cu"}


@dataclass
class Compiled:
    source: Path  # kernels/cuda/<name>.cu
    cubin: Path
    ptxas_log: str


def nvcc_version(nvcc):
    """The release line of `nvcc --version`, e.g. "release 13.0, V13.0.88"."""
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"release [^\n]*", out)
    return match.group(0) if match else out.strip().splitlines()[-1]


def sources(root):
    return sorted(p for p in (root / "kernels" / "cuda").glob("*.cu") if p.name not in LEFT_OUT)


def command(nvcc, root, source, cubin):
    return [nvcc, "-cubin", f"-arch={ARCH}", "-std=c++17", "-O3", "-DNDEBUG", "-DDANLU_WITH_CUDA",
            f"-I{root}", "-Xptxas", "-v", "-o", str(cubin), str(source)]


def _compile_one(nvcc, root, source, work_dir):
    cubin = work_dir / (source.stem + ".cubin")
    run = subprocess.run(command(nvcc, root, source, cubin), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"nvcc failed on {source}:\n{run.stdout}{run.stderr}")
    return Compiled(source, cubin, run.stdout + run.stderr)  # ptxas reports on stderr


def compile_all(nvcc, root, work_dir, jobs=None):
    work_dir.mkdir(parents=True, exist_ok=True)
    files = sources(root)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        return list(pool.map(lambda s: _compile_one(nvcc, root, s, work_dir), files))
