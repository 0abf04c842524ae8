// Peak arithmetic from the architecture table, and the roofline fraction.
#include "profiler/roofline.h"

#include <algorithm>
#include <array>

namespace danlu::profiler {

namespace {

// Dense FLOPs per SM per clock. FP32: 2 x the FP32 lanes per SM in NVIDIA's
// architecture whitepapers (Volta, Turing, Ampere GA100 and GA102, Ada,
// Hopper, Blackwell). TF32: the dense tensor-core rate from the same
// whitepapers and datasheets, checked as datasheet TFLOP/s = SMs x boost
// clock x this number:
//   sm_80  A100 SXM: 108 x 1.410 GHz x 128 = 19.5 FP32, x 1024 = 156 TF32
//   sm_86  A40: 84 x 1.740 GHz x 256 = 37.4 FP32, x 512 = 74.8 TF32
//          (GeForce GA10x boards run TF32 at half that rate, 256: RTX 3090
//          82 x 1.695 x 256 = 35.6; their fraction of this roofline tops out
//          at 50%)
//   sm_89  L40: 142 x 2.490 GHz x 256 = 90.5 FP32 and TF32; RTX 4090 the same
//          per SM (128 x 2.520 x 256 = 82.6)
//   sm_90  H100 SXM: 132 x 1.98 GHz x 256 = 66.9 FP32; TF32 2048 per SM per
//          clock (twice A100's per SM, clock for clock): 132 x 1.83 x 2048 = 494.7
//   sm_120 RTX 5090: 170 x 2.41 GHz x 256 = 104.8 FP32 and TF32
// sm_70/75 have no TF32; sm_87 (Orin) and sm_100 (B200) TF32 rates could not
// be tied to a datasheet this way, so they print "-" rather than a guess.
constexpr std::array<ArchPeak, 9> kArchPeaks = {{
    {7, 0, 128, 0},
    {7, 5, 128, 0},
    {8, 0, 128, 1024},
    {8, 6, 256, 512},
    {8, 7, 256, 0},
    {8, 9, 256, 256},
    {9, 0, 256, 2048},
    {10, 0, 256, 0},
    {12, 0, 256, 256},
}};

}  // namespace

std::optional<ArchPeak> arch_peak(int major, int minor) {
  const auto it = std::find_if(kArchPeaks.begin(), kArchPeaks.end(), [&](const ArchPeak& a) {
    return a.major == major && a.minor == minor;
  });
  if (it == kArchPeaks.end()) return std::nullopt;
  return *it;
}

double Roofline::peak_fp32() const { return arch ? sm_count * clock_khz * 1e3 * arch->fp32 : 0; }
double Roofline::peak_tf32() const { return arch ? sm_count * clock_khz * 1e3 * arch->tf32 : 0; }

Roofline make_roofline(int major, int minor, int sm_count, double clock_khz, double bandwidth) {
  return {major, minor, sm_count, clock_khz, arch_peak(major, minor), bandwidth};
}

double copy_bandwidth(double bytes, double ms) { return 2 * bytes / (ms * 1e-3); }

std::optional<double> roofline_fraction(const Roofline& r, const Cost& cost, Math math,
                                        bool compute_bound, double ms) {
  if (r.bandwidth <= 0 || ms <= 0) return std::nullopt;
  double bound_s = cost.bytes / r.bandwidth;
  if (compute_bound) {
    const double peak = r.peak_flops(math);
    if (peak <= 0) return std::nullopt;
    bound_s = std::max(bound_s, cost.flops / peak);
  }
  return bound_s / (ms * 1e-3);
}

}  // namespace danlu::profiler
