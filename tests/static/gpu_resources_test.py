"""Unit tests of scripts/gpu-resources.py's parts that need no nvcc: the
occupancy rule (values from CUDA's own cuda_occupancy.h for an H100), the
ptxas report reader, the launch-site block sizes and the staleness check."""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from gpu_resources import launches, ptxas, report, sass, targets  # noqa: E402
from gpu_resources.occupancy import occupancy  # noqa: E402


class OccupancyTest(unittest.TestCase):
    def test_matches_cuda_occupancy_calculator(self):
        # (registers, static smem, block threads) -> blocks per SM, as
        # cudaOccMaxActiveBlocksPerMultiprocessor computes for sm_90.
        cases = {(32, 0, 256): 8, (34, 384, 256): 6, (75, 8704, 256): 3, (95, 8704, 256): 2,
                 (43, 0, 512): 2, (255, 0, 256): 1, (10, 0, 32): 32, (16, 100000, 128): 2,
                 (14, 128, 1024): 2, (48, 8192, 256): 5}
        for (regs, smem, block), blocks in cases.items():
            with self.subTest(regs=regs, smem=smem, block=block):
                self.assertEqual(occupancy(regs, smem, block).blocks_per_sm, blocks)

    def test_names_the_limit(self):
        self.assertEqual(occupancy(32, 0, 256).limited_by, "-")
        self.assertEqual(occupancy(95, 8704, 256).limited_by, "registers")
        self.assertEqual(occupancy(16, 100000, 128).limited_by, "shared memory")
        self.assertEqual(occupancy(10, 0, 32).limited_by, "blocks")
        self.assertAlmostEqual(occupancy(75, 8704, 256).percent, 37.5)


class PtxasTest(unittest.TestCase):
    LOG = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z6kernelPf' for 'sm_90'
ptxas info    : Function properties for _Z6kernelPf
    24 bytes stack frame, 20 bytes spill stores, 16 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 2048 bytes smem
ptxas info    : Function properties for __internal_accurate_pow
    8 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
"""

    def test_reads_each_function(self):
        kernel, called = ptxas.parse(self.LOG)
        self.assertEqual((kernel.mangled, kernel.entry, kernel.registers, kernel.smem),
                         ("_Z6kernelPf", True, 255, 2048))
        self.assertEqual((kernel.stack, kernel.spill_stores, kernel.spill_loads), (24, 20, 16))
        self.assertEqual((called.mangled, called.entry, called.stack), ("__internal_accurate_pow",
                                                                        False, 8))

    def test_short_names(self):
        enums = {"Activation": ["relu", "leaky_relu"]}
        self.assertEqual(ptxas.short_name(
            "void danlu::kernels::cuda::igemm::implicit_gemm<danlu::kernels::cuda::(anonymous "
            "namespace)::InputPatches, danlu::kernels::cuda::(anonymous namespace)::FilterRows>"
            "(danlu::kernels::cuda::(anonymous namespace)::InputPatches, long)"),
            "implicit_gemm<InputPatches, FilterRows>")
        self.assertEqual(ptxas.short_name("void danlu::kernels::cuda::(anonymous namespace)::"
                                          "forward_kernel<(danlu::kernels::Activation)1>(float*)",
                                          enums), "forward_kernel<leaky_relu>")
        self.assertEqual(ptxas.base_name("implicit_gemm<InputPatches, FilterRows>"),
                         "implicit_gemm")


class LaunchTest(unittest.TestCase):
    def test_block_sizes_of_the_sources(self):
        sizes = launches.block_sizes(ROOT / "kernels" / "cuda")
        self.assertEqual(launches.block_of("conv/3_implicit_gemm.cu", "implicit_gemm", sizes),
                         (256, "launch"))
        # The ladder's files are named by their path under kernels/cuda.
        self.assertEqual(launches.block_of("conv/2_tiled_direct.cu", "tiled_forward", sizes),
                         (256, "launch"))
        self.assertEqual(launches.block_of("optim.cu", "multi_tensor_kernel", sizes)[0], 512)
        # A header's launch, with the header's own kThreads over an included one's.
        self.assertEqual(launches.block_of("conv/5_tf32_tensor_core.cu", "tf32_gemm", sizes),
                         (128, "launch"))
        self.assertEqual(launches.block_of("x.cu", "unknown_kernel", sizes), (256, "assumed"))
        # kChunkThreads comes from multi_tensor.cuh through multi_tensor_reduce.cuh.
        self.assertEqual(launches.block_of("clip_grad.cu", "norm_part_kernel", sizes),
                         (512, "launch"))
        self.assertEqual(launches.block_of("optim.cu", "swats_adam_kernel", sizes), (512, "launch"))
        # Rung 4's block follows its tile width, a template argument.
        for width, threads in ((16, 64), (32, 128), (64, 128), (128, 256)):
            self.assertEqual(launches.block_of(
                "conv/4_register_blocked.cu", "register_blocked_gemm", sizes,
                f"register_blocked_gemm<Tile<{width}>, Patches, FilterTaps, PlaneOut>"),
                (threads, "table"))


class SassTest(unittest.TestCase):
    def test_categories(self):
        self.assertEqual(sass.category("FFMA"), "FFMA")
        # One mma.sync m16n8k8 TF32 on sm_90, and cp.async's copy.
        self.assertEqual(sass.category("HMMA.1688.F32.TF32"), "HMMA")
        self.assertEqual(sass.category("LDGSTS.E.LTC128B"), "LDG")
        self.assertEqual(sass.category("LDS.128"), "LDS")
        self.assertEqual(sass.category("HFMA2.MMA"), "other")

    def test_multiply_adds_per_shared_load(self):
        mix = sass.LoopMix(0, 16, {"FFMA": 8, "HMMA": 2, "LDS": 4})
        self.assertEqual(mix.fma_per_lds, (8 + 2 * 32) / 4)
        self.assertIsNone(sass.LoopMix(0, 16, {"FFMA": 8}).fma_per_lds)


class TargetTest(unittest.TestCase):
    def test_rung_4_main_loops_are_at_least_60_percent_ffma(self):
        file = "conv/4_register_blocked.cu"
        rich = sass.LoopMix(0, 16, {"FFMA": 6, "LDS": 4}, 10)
        poor = sass.LoopMix(0, 16, {"FFMA": 5, "LDS": 5}, 10)
        self.assertEqual(targets.missed([(file, "k<1>", rich)]), [])
        self.assertEqual(targets.missed([(file, "k<2>", poor), (file, "k<3>", None)]), [
            f"{file}: k<2>: misses its target (its main loop is at least 0.60 FFMA): 0.50 FFMA",
            f"{file}: k<3>: misses its target (its main loop is at least 0.60 FFMA): "
            "no main loop found"])

    def test_rung_5_must_issue_hmma(self):
        name = "tf32_gemm<InputPatches, FilterRows<4>, ForwardOut>"
        file = "conv/5_tf32_tensor_core.cu"
        good = sass.LoopMix(0, 16, {"HMMA": 16, "LDS": 32}, 48)
        self.assertEqual(targets.missed([(file, name, good)]), [])
        lost = sass.LoopMix(0, 16, {"FFMA": 16, "LDS": 32}, 48)
        self.assertEqual(targets.missed([(file, name, lost)]),
                         [f"{file}: {name}: misses its target (its main loop issues HMMA "
                          "(TF32 tensor cores)): no HMMA"])
        # Other kernels carry no target.
        self.assertEqual(targets.missed([("conv/3_implicit_gemm.cu", "implicit_gemm<A>", lost)]),
                         [])


class StaleTest(unittest.TestCase):
    def setUp(self):
        self.doc = (ROOT / "docs" / "gpu-resources.md").read_text()

    def test_up_to_date(self):
        self.assertEqual(report.stale(self.doc, self.doc), [])

    def test_a_changed_register_count_is_stale(self):
        row = next(line for line in self.doc.splitlines() if "`implicit_gemm<" in line)
        changed = self.doc.replace(row, row.replace(" | 0 / 0 |", " | 8 / 8 |", 1), 1)
        self.assertIn("resources or text differ", report.stale(self.doc, changed)[0])

    def test_a_new_kernel_is_stale_under_any_nvcc(self):
        row = next(line for line in self.doc.splitlines() if "`sum_splits`" in line)
        added = self.doc.replace(row, row + "\n" + row.replace("sum_splits", "sum_more"), 1)
        other = added.replace("nvcc (release", "nvcc (release 99.9, V0) (was", 1)
        self.assertIn("new: conv/split_sum.cu `sum_more`", report.stale(self.doc, other)[0])


if __name__ == "__main__":
    unittest.main()
