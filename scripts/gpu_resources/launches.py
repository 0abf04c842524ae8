"""The block size each kernel is launched with, read from its launch sites:
every kernel starts through launch("name", kernel, grid, block, ...)
(kernels/cuda/launch.cuh), and the block is a named constant of the file
(constexpr int kThreads = 256;) or of a header it includes, directly or not. Sites whose
block is not a constant expression are listed in OVERRIDES."""

import ast
import operator
import re

# (file, kernel) -> (threads, why) for launch sites that compute the block.
# A kernel given with template arguments ("gemm<Tile<16>") stands for every
# instance whose name starts so: the block follows a template argument.
OVERRIDES = {
    ("reduce.cu", "sum_columns_kernel"): (256, "dim3(bx, kThreads / bx): kThreads in all"),
    ("conv/4_register_blocked.cu", "register_blocked_gemm<Tile<16>"): (64, "Tile<16>::kThreads"),
    ("conv/4_register_blocked.cu", "register_blocked_gemm<Tile<32>"): (128, "Tile<32>::kThreads"),
    ("conv/4_register_blocked.cu", "register_blocked_gemm<Tile<64>"): (128, "Tile<64>::kThreads"),
    ("conv/4_register_blocked.cu", "register_blocked_gemm<Tile<128>"): (256,
                                                                         "Tile<128>::kThreads"),
}
ASSUMED = 256  # for a kernel whose launch site is not found

_CONSTANT = re.compile(r"constexpr\s+(?:int|int64_t|unsigned|size_t)\s+([^;]+);")
_LAUNCH = re.compile(r"(?<![\w.])launch\(\s*(?:\"[^\"]*\"|\w+)\s*,\s*(\w+)\s*(?:<[^()]*?>)?\s*,")
_INCLUDE = re.compile(r'#include\s+"kernels/cuda/([\w/]+\.cuh)"')
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.FloorDiv: operator.floordiv, ast.Div: operator.floordiv}


def _evaluate(expr, constants):
    """The integer value of a C++ constant expression, or None."""
    def value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = value(node.left), value(node.right)
            return None if left is None or right is None else _OPS[type(node.op)](left, right)
        return None
    try:
        return value(ast.parse(expr.strip(), mode="eval").body)
    except SyntaxError:
        return None


def _split_arguments(text):
    """The top-level comma-separated arguments of the call whose '(' was
    already consumed, up to its closing ')'."""
    args, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                args.append(text[start:i])
                return args
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i])
            start = i + 1
    return args


def _threads(block, constants):
    """Threads of a block argument: `kThreads`, `dim3(kPixels)`, `dim3(x, y)`."""
    block = block.strip()
    m = re.fullmatch(r"dim3\((.*)\)", block, re.S)
    parts = _split_arguments(m.group(1) + ")") if m else [block]
    total = 1
    for part in parts:
        value = _evaluate(part, constants)
        if value is None:
            return None
        total *= value
    return total


def _constants(text, into):
    for decls in _CONSTANT.findall(text):
        for decl in _split_arguments(decls + ")"):
            name, _, expr = decl.partition("=")
            value = _evaluate(expr.replace("int64_t", ""), into)
            if value is not None:
                into[name.strip()] = value


def _included(text, texts):
    """The kernels/cuda headers `text` includes, directly or through one
    another, each once, innermost first (so a header's constants can use
    those of the headers it includes)."""
    order, seen = [], set()

    def visit(t):
        for header in _INCLUDE.findall(t):
            if header not in seen:
                seen.add(header)
                visit(texts.get(header, ""))
                order.append(header)
    visit(text)
    return order


def block_sizes(cuda_dir):
    """{(file, kernel): threads} for .cu launch sites and {kernel: threads}
    for launch sites in headers (they serve every file that includes them)."""
    texts = {p.relative_to(cuda_dir).as_posix(): p.read_text()
             for p in sorted([*cuda_dir.glob("*.cu*"), *cuda_dir.glob("conv/*.cu*")])}
    per_file, per_header = {}, {}
    for name, text in texts.items():
        constants = {}
        for header in _included(text, texts):
            _constants(texts.get(header, ""), constants)
        _constants(text, constants)
        for m in _LAUNCH.finditer(text):
            args = _split_arguments(text[m.end():])
            threads = _threads(args[1], constants) if len(args) > 1 else None
            if threads is None:
                continue
            if name.endswith(".cuh"):
                per_header[m.group(1)] = threads
            else:
                per_file[(name, m.group(1))] = threads
    return per_file, per_header


def block_of(file, kernel, sizes, instance=None):
    """(threads, source) where source is "launch", "table" or "assumed";
    instance is the kernel's name with its template arguments."""
    per_file, per_header = sizes
    if (file, kernel) in OVERRIDES:
        return OVERRIDES[(file, kernel)][0], "table"
    for (where, prefix), (threads, _) in OVERRIDES.items():
        if where == file and "<" in prefix and instance and instance.startswith(prefix):
            return threads, "table"
    if (file, kernel) in per_file:
        return per_file[(file, kernel)], "launch"
    if kernel in per_header:
        return per_header[kernel], "launch"
    return ASSUMED, "assumed"
