// The ladder's table and its dispatcher: which variant runs each pass of a
// convolution, automatic or forced (kernels/conv.h states the heuristic).
#include <array>

#include "engine/error.h"
#include "kernels/conv.h"
#include "kernels/cuda/conv/variants.h"

namespace danlu::kernels::cuda {

const std::array<ConvVariant, kConvVariants>& conv2d_variants() {
  static const std::array<ConvVariant, kConvVariants> table = {
      naive_direct_variant(),
      tiled_direct_variant(),
      implicit_gemm_variant(),
      register_blocked_variant(),
      tf32_tensor_core_variant(),
  };
  return table;
}

const ConvVariant* conv2d_variant(int number) {
  for (const ConvVariant& v : conv2d_variants())
    if (v.number == number) return &v;
  return nullptr;
}

std::string conv2d_unsupported(const Conv2dShape& s) {
  // Sums of two coordinates (a position plus padding or a tap's offset) must
  // still fit an int.
  constexpr int64_t kMax = int64_t(1) << 30;
  const int64_t sizes[] = {s.h,         s.w,         s.oh,          s.ow,         s.kh,
                           s.kw,        s.stride_h,  s.stride_w,    s.pad_h,      s.pad_w,
                           s.dil_h,     s.dil_w,     s.oh * s.ow,   s.h * s.w,    s.dil_h * s.kh,
                           s.dil_w * s.kw, s.groups};
  for (int64_t v : sizes)
    if (v >= kMax)
      return detail::concat("a spatial size, padding, stride, dilation or group count of ", v,
                            " exceeds the CUDA kernels' limit of 2^30; run this convolution on "
                            "the CPU or split its input");
  return "";
}

const char* pass_name(ConvPass p) {
  switch (p) {
    case ConvPass::forward: return "forward";
    case ConvPass::backward_data: return "backward-data";
    default: return "backward-weight";
  }
}

std::string ConvVariant::refusal(const Conv2dShape& s, ConvPass p, bool allow_tf32) const {
  const bool has = p == ConvPass::forward         ? forward != nullptr
                   : p == ConvPass::backward_data ? backward_data != nullptr
                                                  : backward_weight != nullptr;
  if (!has) return detail::concat("it has no ", pass_name(p), " pass");
  if (needs_tf32 && !allow_tf32) return "it needs TF32, which is off (allow_tf32)";
  return unsupported(s, p);
}

namespace {

const ConvVariant& automatic(const Conv2dShape& s, ConvPass p, bool allow_tf32) {
  const auto& all = conv2d_variants();
  const ConvVariant& tiled_direct = all[1];
  if (s.c / s.groups <= kDirectMaxChannels && tiled_direct.refusal(s, p, allow_tf32).empty())
    return tiled_direct;
  for (size_t i = all.size(); i-- > 0;)
    if (all[i].refusal(s, p, allow_tf32).empty()) return all[i];
  DANLU_FAIL("conv2d: no CUDA variant runs this ", pass_name(p), " pass (rung 1 says: ",
             all[0].refusal(s, p, allow_tf32), ")");
}

}  // namespace

const ConvVariant& conv2d_choose(const Conv2dShape& s, ConvPass p, const ConvSettings& settings,
                                 std::string* note) {
  const ConvVariant* wanted = settings.variant > 0 ? conv2d_variant(settings.variant) : nullptr;
  DANLU_CHECK(settings.variant == 0 || wanted, "conv variant ", settings.variant,
              ": expected 0 (automatic) or one of ", conv2d_variant_numbers());
  if (wanted) {
    const ConvVariant& forced = *wanted;
    const std::string why = forced.refusal(s, p, settings.allow_tf32);
    if (why.empty()) return forced;
    const ConvVariant& chosen = automatic(s, p, settings.allow_tf32);
    if (note)
      *note = detail::concat("conv variant ", forced.number, " (", forced.name, ") cannot run the ",
                             pass_name(p), " pass of this convolution: ", why,
                             "; variant ", chosen.number, " (", chosen.name, ") runs it");
    return chosen;
  }
  return automatic(s, p, settings.allow_tf32);
}

int64_t conv2d_workspace(const Conv2dShape& s, const ConvSettings& settings) {
  const ConvVariant& v = conv2d_choose(s, ConvPass::backward_weight, settings);
  return bias_grad_workspace(s) + (v.weight_workspace ? v.weight_workspace(s) : 0);
}

void conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                    const Conv2dShape& s, Stream stream, const ConvSettings& settings) {
  conv2d_choose(s, ConvPass::forward, settings).forward(x, weight, bias, y, s, stream);
}

// The workspace holds the bias strip sums first (doubles, so they stay
// 8-byte aligned), then the backward-weight variant's scratch.
void conv2d_backward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias, float* workspace, const Conv2dShape& s,
                     Stream stream, const ConvSettings& settings) {
  if (dbias) bias_grad(dy, dbias, workspace, s, stream);
  if (dx) conv2d_choose(s, ConvPass::backward_data, settings).backward_data(weight, dy, dx, s, stream);
  if (dweight)
    conv2d_choose(s, ConvPass::backward_weight, settings)
        .backward_weight(x, dy, dweight, workspace + bias_grad_workspace(s), s, stream);
}

}  // namespace danlu::kernels::cuda
