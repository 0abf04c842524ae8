// The roofline the profiler measures against: peak memory bandwidth measured
// in the same run (a large device-to-device copy), and peak FP32 and TF32
// arithmetic from the device's SM count and clock and a per-architecture
// table of dense FLOPs per SM per clock. A kernel's bound is the slower of
// its FLOPs at peak arithmetic and its bytes at peak bandwidth.
#pragma once

#include <optional>

#include "profiler/costs.h"

namespace danlu::profiler {

// Dense FLOPs per SM per clock of one compute capability (an FMA is 2);
// tf32 is 0 where the table has no verified number or the arch has no TF32.
struct ArchPeak {
  int major = 0, minor = 0;
  double fp32 = 0, tf32 = 0;
};

// The table entry for compute capability major.minor; nullopt when the
// architecture is not in the table.
std::optional<ArchPeak> arch_peak(int major, int minor);

struct Roofline {
  int major = 0, minor = 0;
  int sm_count = 0;
  double clock_khz = 0;  // the SM clock the device reports (cudaDevAttrClockRate)
  std::optional<ArchPeak> arch;
  double bandwidth = 0;  // bytes per second, measured

  // sm_count * clock * FLOPs per SM per clock, in FLOP/s; 0 when unknown.
  double peak_fp32() const;
  double peak_tf32() const;
  double peak_flops(Math math) const { return math == Math::fp32 ? peak_fp32() : peak_tf32(); }
};

Roofline make_roofline(int major, int minor, int sm_count, double clock_khz, double bandwidth);

// A device-to-device copy of `bytes` reads and writes each byte once.
double copy_bandwidth(double bytes, double ms);

// The roofline's time for `cost` over the measured time: 1 means the kernel
// runs at the roofline. Compute-bound ops are bounded by both arithmetic and
// bandwidth; memory-bound ones by bandwidth alone. nullopt when a peak it
// needs is unknown (an architecture missing from the table, no bandwidth).
std::optional<double> roofline_fraction(const Roofline& r, const Cost& cost, Math math,
                                        bool compute_bound, double ms);

}  // namespace danlu::profiler
