"""The instruction mix of a kernel's main loop, from its SASS. nvdisasm
(NVIDIA's disassembler, not part of every toolkit install: the pip wheel
nvidia-cuda-nvdisasm has it) prints each function of a cubin with branch
targets as labels. A loop is a backward branch: the instructions from its
target to the branch are one iteration's code. The main loop is the
innermost loop (no backward branch inside) with the most floating-point
instructions, the arithmetic the kernel exists for. Counts are static: each
instruction of the loop body once, whatever its predicate."""

import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

_FUNCTION = re.compile(r"^\.text\.(\S+):")
_LABEL = re.compile(r"^\s*(\.L_x_\d+):")
_INSTRUCTION = re.compile(r"^\s*/\*([0-9a-f]+)\*/\s+(.*?)\s*;")
_TARGET = re.compile(r"`\((\.L_x_\d+)\)")

_INT = {"IMAD", "IADD3", "IADD", "VIADD", "VIADDMNMX", "VIMNMX", "VIMNMX3", "IMNMX", "LOP3",
        "LOP", "SHF", "SHL", "SHR", "ISETP", "LEA", "SEL", "IABS", "POPC", "FLO", "BMSK", "BREV",
        "PRMT", "SGXT", "IMUL", "IDP", "I2I", "PLOP3"}
_FP = {"FADD", "FMUL", "FMNMX", "FSETP", "FSET", "FSEL", "FCHK", "FRND", "FSWZADD", "MUFU",
       "DADD", "DMUL", "DFMA", "DSETP", "DMNMX", "F2F", "F2I", "I2F", "I2FP", "F2FP", "HADD2",
       "HMUL2", "HFMA2", "HSETP2", "HMNMX2"}
COLUMNS = ["FFMA", "other FP", "LDS", "STS", "LDG", "int", "other"]


def category(opcode):
    """The column of an opcode (with its modifiers, e.g. LDS.128)."""
    base = opcode.split(".")[0]
    if base == "FFMA":
        return "FFMA"
    if base in ("LDS", "LDSM"):
        return "LDS"
    if base in ("STS", "LDG"):
        return base
    if base in _INT or (base.startswith("U") and base[1:] in _INT):
        return "int"  # uniform (one-per-warp) integer ops are issued instructions too
    if base in _FP and opcode != "HFMA2.MMA":  # HFMA2.MMA is how ptxas moves constants
        return "other FP"
    return "other"


def find_nvdisasm(nvcc, extra_prefixes=()):
    """nvdisasm from PATH, beside nvcc, or from an installed nvidia-cuda-nvdisasm
    wheel (site-packages/nvidia/<cu13 or cuda_nvdisasm>/bin), also when the
    wheel went into a prefix of its own (pip install --target PREFIX)."""
    found = shutil.which("nvdisasm") or shutil.which("nvdisasm", path=str(Path(nvcc).parent))
    if found:
        return found
    for prefix in [*extra_prefixes, *sys.path]:
        if prefix and os.path.isdir(prefix):
            pattern = os.path.join(prefix, "nvidia", "*", "bin", "nvdisasm")
            for candidate in sorted(glob.glob(pattern)):
                if os.access(candidate, os.X_OK):
                    return candidate
    return None


def version(nvdisasm):
    out = subprocess.run([nvdisasm, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"release [^\n]*", out)
    return match.group(0) if match else out.strip().splitlines()[-1]


@dataclass
class LoopMix:
    start: int  # byte offsets of the loop's first instruction and of its branch
    end: int
    counts: dict = field(default_factory=dict)
    instructions: int = 0

    @property
    def ffma_per_lds(self):
        lds = self.counts.get("LDS", 0)
        return self.counts.get("FFMA", 0) / lds if lds else None


def _functions(listing):
    """{mangled: [(offset, opcode, text)]} and {mangled: {label: offset}}."""
    code, labels, name, pending = {}, {}, None, []
    for line in listing.splitlines():
        if m := _FUNCTION.match(line):
            name, pending = m.group(1), []
            code[name], labels[name] = [], {}
        elif name and (m := _LABEL.match(line)):
            pending.append(m.group(1))
        elif name and (m := _INSTRUCTION.match(line)):
            offset, text = int(m.group(1), 16), m.group(2)
            for label in pending:
                labels[name][label] = offset
            pending = []
            words = text.split()
            opcode = words[1] if words[0].startswith("@") and len(words) > 1 else words[0]
            code[name].append((offset, opcode, text))
    return code, labels


def _loops(code, labels):
    """(start, end) of every backward branch, the branch-to-itself that ends
    each function excepted."""
    loops = []
    for offset, opcode, text in code:
        if opcode.split(".")[0] == "BRA" and (m := _TARGET.search(text)):
            target = labels.get(m.group(1))
            if target is not None and target < offset:
                loops.append((target, offset))
    return loops


def main_loops(cubin, nvdisasm):
    """{mangled kernel: LoopMix or None (no loop)} for every function of a cubin."""
    listing = subprocess.run([nvdisasm, "-c", str(cubin)], capture_output=True, text=True,
                             check=True).stdout
    code, labels = _functions(listing)
    result = {}
    for name, instructions in code.items():
        best = None
        loops = _loops(instructions, labels[name])
        for start, end in loops:
            if any(start <= s and e <= end and (s, e) != (start, end) for s, e in loops):
                continue  # not innermost
            mix = LoopMix(start, end)
            for offset, opcode, _ in instructions:
                if start <= offset <= end:
                    kind = category(opcode)
                    mix.counts[kind] = mix.counts.get(kind, 0) + 1
                    mix.instructions += 1
            fp = mix.counts.get("FFMA", 0) + mix.counts.get("other FP", 0)
            key = (fp, -mix.instructions)
            if best is None or key > best[0]:
                best = (key, mix)
        result[name] = best[1] if best else None
    return result


def below_floor(mix, floors):
    """Problems for the kernels of `floors`' files ({file: least FFMA share})
    whose main loop has a smaller share of FFMA; mix is instruction_mix's rows
    (file, kernel, LoopMix or None)."""
    problems = []
    for file, name, loop in mix or []:
        floor = floors.get(file)
        if floor is None:
            continue
        share = loop.counts.get("FFMA", 0) / loop.instructions if loop else 0.0
        if share < floor:
            problems.append(f"{file}: {name}: the main loop is {share:.2f} FFMA, "
                            f"below the {floor:.2f} that the file promises")
    return problems
