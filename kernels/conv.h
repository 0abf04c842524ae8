// Convolution kernels: on the CPU the im2col lowering, its adjoint col2im,
// and the conv2d forward/backward built on them; on a GPU the ladder of
// numbered variants (kernels/cuda/conv/) behind one dispatcher. Raw
// pointers, no autograd. Conv2dShape is the one description of a
// convolution that the op and every kernel share.
#pragma once

#include <cstdint>
#include <array>
#include <string>

#include "kernels/stream.h"

namespace danlu::kernels {

// The sizes of one conv2d: x (N, C, H, W), weight (O, C/groups, KH, KW),
// y (N, O, OH, OW).
struct Conv2dShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t o = 0, kh = 0, kw = 0;
  int64_t oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;

  // The lowered input of the batch is one matrix (C*KH*KW, N*OH*OW).
  int64_t col_rows() const { return c * kh * kw; }
  int64_t col_cols() const { return n * oh * ow; }
};

namespace cpu {

// cols (C*KH*KW, N*OH*OW): row (c, i, j), column (n, oy, ox) holds
// x[n, c, oy*stride_h - pad_h + i*dil_h, ox*stride_w - pad_w + j*dil_w],
// or 0 where that falls in the padding. x (N, C, H, W).
template <class T> void im2col(const T* x, T* cols, const Conv2dShape& s);
// The adjoint of im2col: dx (N, C, H, W) = the sum of every cols entry that
// im2col copied from each input element. Overwrites dx.
template <class T> void col2im(const T* cols, T* dx, const Conv2dShape& s);

// How conv2d_forward and conv2d_backward compute, from DANLU_CPU_CONV, read
// at each call so that benchmarks and tests can compare the paths on one
// shape: `auto` (the default) runs the direct convolution
// (kernels/cpu/conv_direct.h) where it measured faster and lowers to GEMM
// elsewhere; `direct` runs it wherever it applies (3x3, stride 1); `lowered`
// never.
enum class CpuConvPath { automatic, direct, lowered };
CpuConvPath cpu_conv_path();
// Whether this shape's forward and dx, and its dweight, run direct under
// cpu_conv_path().
bool conv2d_runs_direct(const Conv2dShape& s);
bool conv2d_runs_direct_weight(const Conv2dShape& s);

// Elements of scratch memory conv2d_forward and conv2d_backward need (it
// depends on omp_get_max_threads(), so ask just before the call).
int64_t conv2d_workspace(const Conv2dShape& s);

// y (N, O, OH, OW) = conv(x (N, C, H, W), weight (O, C/groups, KH, KW))
// + bias (O) (bias may be null). workspace: conv2d_workspace(s).
template <class T>
void conv2d_forward(const T* x, const T* weight, const T* bias, T* y, T* workspace,
                    const Conv2dShape& s);
// Given dy (N, O, OH, OW), writes dx (N, C, H, W), dweight (O, C/groups, KH,
// KW) and dbias (O); a null output pointer skips that gradient (x is only
// read for dweight, weight only for dx). workspace: conv2d_workspace(s).
template <class T>
void conv2d_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias,
                     T* workspace, const Conv2dShape& s);

}  // namespace cpu

namespace cuda {

// The CUDA kernels compute coordinates in 32-bit ints: "" when s fits them,
// otherwise one line naming the size and the fix. engine/ops/conv.cpp checks
// this where a CUDA convolution enters; the kernels trust it.
std::string conv2d_unsupported(const Conv2dShape& s);

// The three passes of a convolution, each run by one variant.
enum class ConvPass { forward, backward_data, backward_weight };
const char* pass_name(ConvPass p);  // "forward", "backward-data", "backward-weight"

// One rung of the convolution ladder (kernels/cuda/conv/N_*.cu): NCHW, f32
// in and out, the CPU functions' contracts for each pass it runs.
struct ConvVariant {
  int number = 0;            // its place in the ladder, 1 = the simplest
  const char* name = "";     // "naive direct", "implicit GEMM", ...
  bool needs_tf32 = false;   // rounds inputs to TF32: runs only where TF32 is allowed
  // "" when this variant runs pass p on s, otherwise why not (one line). A
  // null entry point below is a pass the variant does not have.
  std::string (*unsupported)(const Conv2dShape& s, ConvPass p) = nullptr;
  // y (N, O, OH, OW) = conv(x, weight) + bias (bias may be null).
  void (*forward)(const float* x, const float* weight, const float* bias, float* y,
                  const Conv2dShape& s, Stream stream) = nullptr;
  // dx (N, C, H, W) from weight and dy (N, O, OH, OW); overwrites dx.
  void (*backward_data)(const float* weight, const float* dy, float* dx, const Conv2dShape& s,
                        Stream stream) = nullptr;
  // dweight (O, C/groups, KH, KW) from x and dy, deterministically (no float
  // atomics); workspace holds weight_workspace(s) floats.
  void (*backward_weight)(const float* x, const float* dy, float* dweight, float* workspace,
                          const Conv2dShape& s, Stream stream) = nullptr;
  int64_t (*weight_workspace)(const Conv2dShape& s) = nullptr;  // null: none needed

  // "" when this variant runs pass p on s (with or without TF32 allowed).
  std::string refusal(const Conv2dShape& s, ConvPass p, bool allow_tf32) const;
};

// The numbers of the ladder's rungs, in order. A rung keeps its number, so
// one still being written leaves a gap rather than renumbering the rungs
// above it. Known in every build (with or without CUDA), so that a forced
// variant is checked where the config is read.
constexpr std::array<int, 5> kConvRungs = {1, 2, 3, 4, 5};
constexpr int kConvVariants = int(kConvRungs.size());
constexpr bool conv2d_is_rung(int number) {
  for (int rung : kConvRungs)
    if (rung == number) return true;
  return false;
}
// "1, 2, 3, 5": the numbers a caller may force, for error messages.
inline std::string conv2d_variant_numbers() {
  std::string list;
  for (int rung : kConvRungs) list += (list.empty() ? "" : ", ") + std::to_string(rung);
  return list;
}
// The rungs, in the order of kConvRungs (kernels/cuda/conv/variants.cu), and
// the rung numbered `number` (null when there is none).
const std::array<ConvVariant, kConvVariants>& conv2d_variants();
const ConvVariant* conv2d_variant(int number);

// How the dispatcher chooses: variant 0 lets it decide; a variant number
// forces that variant wherever it runs the pass and shape. allow_tf32 lets it
// (and the forced variant) use TF32.
struct ConvSettings {
  int variant = 0;
  bool allow_tf32 = true;
};

// The variant that runs pass p on s. Automatic: rung 2 (tiled direct) for
// few input channels per group (kDirectMaxChannels: the GEMM's 64x64x8 tiles
// would be mostly empty), otherwise the highest-numbered variant that runs
// the pass on s (later rungs are faster; one that needs TF32 only where it is
// allowed). Rung 1 runs every pass on every shape, so there is always one. A
// forced variant that cannot run (s, p) falls back to the automatic choice;
// `note`, when given, then says so in one line.
const ConvVariant& conv2d_choose(const Conv2dShape& s, ConvPass p, const ConvSettings& settings,
                                 std::string* note = nullptr);
constexpr int64_t kDirectMaxChannels = 4;

// Floats of device scratch conv2d_backward needs for dbias and dweight (the
// bias reduction's strip sums and the chosen backward-weight variant's).
int64_t conv2d_workspace(const Conv2dShape& s, const ConvSettings& settings = {});

// The CPU functions' contracts, in f32 on the device, enqueued on `stream`,
// each pass by the variant conv2d_choose picks. The backward is
// deterministic: no float atomics anywhere.
void conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                    const Conv2dShape& s, Stream stream, const ConvSettings& settings = {});
void conv2d_backward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias, float* workspace, const Conv2dShape& s,
                     Stream stream, const ConvSettings& settings = {});

}  // namespace cuda
}  // namespace danlu::kernels
