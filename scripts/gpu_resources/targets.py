"""The static targets the ladder's rungs must keep (the convolution ladder's
"variant 5's main loop issues HMMA, with no spills"; spills are refused for
every conv kernel already): each a kernel family, what it promises and the
check on its main loop's mix. --check fails when one is missed."""

from .ptxas import base_name

# (file, kernel base name) -> (promise, check on a LoopMix)
TARGETS = {
    ("conv/5_tf32_tensor_core.cu", "tf32_gemm"):
        ("its main loop issues HMMA (TF32 tensor cores)",
         lambda loop: loop.counts.get("HMMA", 0) > 0),
}


def missed(mix):
    """Messages for the kernels of `mix` (rows of file, name, LoopMix or
    None) that miss their target."""
    problems = []
    for file, name, loop in mix:
        target = TARGETS.get((file, base_name(name)))
        if target and (loop is None or not target[1](loop)):
            problems.append(f"{file}: {name}: misses its target: {target[0]}")
    return problems
