"""Reads ptxas's -v report: per function, registers, spill stores and loads,
stack frame and static shared memory. Entry functions are the kernels;
other functions (device functions ptxas kept as calls) are kept too, since
their spills cost the kernels that call them."""

import re
import subprocess
from dataclasses import dataclass

_ENTRY = re.compile(r"Compiling entry function '([^']+)'")
_PROPERTIES = re.compile(r"Function properties for (\S+)")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers")
_SMEM = re.compile(r"(\d+) bytes smem")


@dataclass
class Function:
    mangled: str
    entry: bool
    registers: int = 0
    stack: int = 0
    spill_stores: int = 0
    spill_loads: int = 0
    smem: int = 0

    @property
    def spills(self):
        return self.spill_stores + self.spill_loads


def parse(log):
    """Functions in the order ptxas reports them."""
    functions, by_name, current = [], {}, None
    for line in log.splitlines():
        if m := _ENTRY.search(line):
            current = Function(m.group(1), entry=True)
            by_name[current.mangled] = current
            functions.append(current)
        elif m := _PROPERTIES.search(line):
            name = m.group(1)
            if name not in by_name:  # a called device function
                by_name[name] = Function(name, entry=False)
                functions.append(by_name[name])
            current = by_name[name]
        elif (m := _FRAME.search(line)) and current:
            current.stack, current.spill_stores, current.spill_loads = map(int, m.groups())
        elif (m := _USED.search(line)) and current:
            current.registers = int(m.group(1))
            smem = _SMEM.search(line)
            current.smem = int(smem.group(1)) if smem else 0
    return functions


def demangle(names):
    """C++ names for mangled ones, by one call of c++filt."""
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names) + "\n", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return dict(zip(names, out))


def enumerators(headers):
    """{enum name: [enumerator, ...]} of the `enum class` declarations (with
    implicit values) in the given headers, to name template arguments that
    c++filt prints as casts, e.g. (Activation)3."""
    enums = {}
    for header in headers:
        for name, body in re.findall(r"enum class (\w+)[^{;]*\{([^}]*)\}", header.read_text()):
            if "=" not in body:
                enums[name] = [e.strip() for e in body.split(",") if e.strip()]
    return enums


def short_name(demangled, enums=None):
    """A kernel's name as the source spells it: no namespaces of danlu, no
    return type, no parameter list, enumerators by name, e.g.
    "implicit_gemm<InputPatches, FilterRows, ForwardOut>", "forward_kernel<relu>"."""
    name = demangled.replace("(anonymous namespace)::", "")
    name = re.sub(r"\bdanlu::(\w+::)*", "", name)
    if name.startswith("void "):
        name = name[len("void "):]
    if name.endswith(")"):  # drop the parameter list: the last balanced (...)
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i]
                break

    def enumerator(m):
        values = (enums or {}).get(m.group(1), [])
        return values[int(m.group(2))] if int(m.group(2)) < len(values) else m.group(0)
    return re.sub(r"\((\w+)\)(\d+)", enumerator, name)


def base_name(short):
    """The identifier a launch site names: short_name without template arguments."""
    return short.split("<", 1)[0].split("::")[-1]
