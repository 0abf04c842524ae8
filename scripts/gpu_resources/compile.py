"""Compiles each kernels/cuda/*.cu and kernels/cuda/conv/*.cu (the conv
ladder) to an sm_90 cubin with ptxas's resource
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
_INCLUDE = re.compile(r'#include\s+"kernels/cuda/([\w/]+\.cuh)"')
# Where the kernel sources are, under kernels/cuda.
SOURCE_GLOBS = ("*.cu", "conv/*.cu")


def name_of(path, cuda_dir):
    """A source's name in the report: its path under kernels/cuda
    ("batchnorm.cu", "conv/3_implicit_gemm.cu")."""
    return path.relative_to(cuda_dir).as_posix()


@dataclass
class Compiled:
    source: Path  # kernels/cuda/<name>.cu
    name: str     # name_of(source)
    cubin: Path
    ptxas_log: str


def nvcc_version(nvcc):
    """The release line of `nvcc --version`, e.g. "release 13.0, V13.0.88"."""
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"release [^\n]*", out)
    return match.group(0) if match else out.strip().splitlines()[-1]


def sources(root):
    """(files to compile, files left out). A file is compiled when it or a
    kernels/cuda header it includes has a __global__ function; the others
    hold host code only (cudnn.cu, for one, needs cuDNN's headers) and
    would cost the front end's seconds for nothing."""
    cuda_dir = root / "kernels" / "cuda"
    kept, left_out = [], []
    for path in sorted(p for g in SOURCE_GLOBS for p in cuda_dir.glob(g)):
        text = path.read_text()
        headers = [cuda_dir / h for h in _INCLUDE.findall(text)]
        texts = [text] + [h.read_text() for h in headers if h.exists()]
        if any("__global__" in t for t in texts):
            kept.append(path)
        else:
            left_out.append(path)
    return kept, left_out


def command(nvcc, root, source, cubin):
    return [nvcc, "-cubin", f"-arch={ARCH}", "-std=c++17", "-O3", "-DNDEBUG", "-DDANLU_WITH_CUDA",
            f"-I{root}", "-Xptxas", "-v", "-o", str(cubin), str(source)]


def _compile_one(nvcc, root, source, work_dir):
    name = name_of(source, root / "kernels" / "cuda")
    cubin = work_dir / (name.replace("/", "_")[:-len(".cu")] + ".cubin")
    run = subprocess.run(command(nvcc, root, source, cubin), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"nvcc failed on {source}:\n{run.stdout}{run.stderr}")
    return Compiled(source, name, cubin, run.stdout + run.stderr)  # ptxas reports on stderr


def compile_all(nvcc, root, work_dir, files, jobs=None):
    work_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(files, key=lambda p: -p.stat().st_size)  # longest first packs the workers best
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        return list(pool.map(lambda s: _compile_one(nvcc, root, s, work_dir), files))
