"""Theoretical occupancy of a kernel on an H100 (sm_90), computed as the CUDA
occupancy calculator does (cuda_occupancy.h): the number of resident blocks
per SM is the smallest of the limits set by warps, blocks, registers and
shared memory."""

from dataclasses import dataclass

# Published per-SM limits of compute capability 9.0 (CUDA C Programming Guide,
# "Technical Specifications per Compute Capability"; Hopper Tuning Guide).
WARP = 32
MAX_WARPS_PER_SM = 64  # 2048 threads
MAX_BLOCKS_PER_SM = 32
REGS_PER_SM = 65536
REGS_PER_BLOCK = 65536
REG_ALLOC_UNIT = 256  # registers are given to a warp in units of 256
SUB_PARTITIONS = 4  # each quarter of the SM has its own register file
SMEM_PER_SM = 228 * 1024  # the largest shared-memory carveout
SMEM_PER_BLOCK = 227 * 1024  # the opt-in maximum of one block
SMEM_RESERVED_PER_BLOCK = 1024  # taken by the system for every resident block
SMEM_ALLOC_UNIT = 128


def _round_up(value, unit):
    return (value + unit - 1) // unit * unit


@dataclass
class Occupancy:
    blocks_per_sm: int
    percent: float  # resident warps / 64
    limited_by: str  # the limits that set blocks_per_sm; "-" at 100 %


def occupancy(registers, static_smem, block_threads):
    """Resident blocks and warps per SM for one launch configuration."""
    warps = (block_threads + WARP - 1) // WARP
    limits = {"warps": MAX_WARPS_PER_SM // warps, "blocks": MAX_BLOCKS_PER_SM}

    # Registers: each warp gets registers*32 rounded up to the allocation
    # unit, and a warp's registers must fit one sub-partition's quarter of
    # the register file, so the per-SM warp count moves in steps of four.
    # A block must fit the per-block limit with its warps rounded up to the
    # sub-partitions, as the hardware checks it.
    regs_per_warp = _round_up(max(registers, 1) * WARP, REG_ALLOC_UNIT)
    if regs_per_warp * _round_up(warps, SUB_PARTITIONS) > REGS_PER_BLOCK:
        limits["registers"] = 0
    else:
        warps_per_partition = (REGS_PER_SM // SUB_PARTITIONS) // regs_per_warp
        limits["registers"] = warps_per_partition * SUB_PARTITIONS // warps

    # Shared memory: static (+ dynamic, none in danlu) + the reserved 1 KiB.
    if static_smem > SMEM_PER_BLOCK:
        limits["shared memory"] = 0
    else:
        per_block = _round_up(static_smem + SMEM_RESERVED_PER_BLOCK, SMEM_ALLOC_UNIT)
        limits["shared memory"] = SMEM_PER_SM // per_block

    blocks = min(limits.values())
    percent = 100.0 * blocks * warps / MAX_WARPS_PER_SM
    if blocks * warps == MAX_WARPS_PER_SM:
        limited_by = "-"
    else:
        limited_by = ", ".join(name for name, value in limits.items() if value == blocks)
    return Occupancy(blocks, percent, limited_by)
