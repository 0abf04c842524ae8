"""The static targets the ladder's rungs must keep (the convolution ladder,
docs/kernels/conv.md): "variant 4's main loop at least 60% FFMA" and
"variant 5's main loop issues HMMA"; spills are refused for every conv
kernel already. Each target covers every kernel of its file; --check fails
when one is missed (where nvdisasm is found)."""

FFMA_FLOOR = 0.60


def ffma_share(loop):
    return loop.counts.get("FFMA", 0) / loop.instructions if loop.instructions else 0.0


# file -> (promise, check on a LoopMix, what the loop has instead)
TARGETS = {
    "conv/4_register_blocked.cu":
        (f"its main loop is at least {FFMA_FLOOR:.2f} FFMA",
         lambda loop: ffma_share(loop) >= FFMA_FLOOR,
         lambda loop: f"{ffma_share(loop):.2f} FFMA"),
    "conv/5_tf32_tensor_core.cu":
        ("its main loop issues HMMA (TF32 tensor cores)",
         lambda loop: loop.counts.get("HMMA", 0) > 0,
         lambda loop: "no HMMA"),
}


def missed(mix):
    """Messages for the kernels of `mix` (rows of file, name, LoopMix or
    None) that miss their file's target."""
    problems = []
    for file, name, loop in mix:
        target = TARGETS.get(file)
        if target is None:
            continue
        promise, met, found = target
        if loop is None:
            problems.append(f"{file}: {name}: misses its target ({promise}): no main loop found")
        elif not met(loop):
            problems.append(f"{file}: {name}: misses its target ({promise}): {found(loop)}")
    return problems
