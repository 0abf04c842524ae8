// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_.
// Both act in place on the gradients of `params` that have one (frozen or
// unused parameters without a gradient are skipped).
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace danlu::optim {

// Rescales the gradients so that their joint norm (as if all were one
// vector) is at most max_norm: g *= min(1, max_norm / (total_norm + 1e-6)).
// norm_type is p > 0 or INFINITY (max |g|). Returns the total norm before
// clipping as a 0-d tensor, as PyTorch: the first gradient's dtype and
// device (a CPU f64 zero when no parameter has a gradient). The norm is
// accumulated in double either way.
//
// When every gradient is on one GPU the norm, the scale and the rescale stay
// on the device and the host does not wait for them: reading the result
// (item()) is what waits. Gradients on several devices, and
// error_if_nonfinite, need the norm on the host first.
//
// A non-finite total norm (an inf or NaN gradient): with error_if_nonfinite
// this throws a one-line danlu::Error and leaves the gradients alone; without
// it, PyTorch's behaviour: the gradients are scaled all the same, by 0 for an
// inf norm (finite entries become 0, inf ones NaN) or by NaN for a NaN norm
// (every entry NaN), and the norm is returned. The next step() then writes
// NaN into those parameters, so check the result (std::isfinite) and skip the
// step, as mixed-precision loss scalers do.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value]; NaN stays NaN.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace danlu::optim
