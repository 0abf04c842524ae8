// Pointwise activation kernels, forward and backward, with PyTorch's
// formulas (GELU in both its exact erf form and its tanh approximation).
#pragma once

#include <cstdint>

#include "kernels/stream.h"

namespace danlu::kernels {

enum class Activation { relu, leaky_relu, elu, gelu, gelu_tanh, silu, sigmoid, tanh };

// Whether the backward reads the forward output y (relu, sigmoid, tanh: the
// derivative is a function of y) or the input x (the others).
constexpr bool backward_uses_output(Activation act) {
  return act == Activation::relu || act == Activation::sigmoid || act == Activation::tanh;
}

namespace cpu {

// y = act(x) over n elements. alpha is leaky_relu's negative slope and elu's
// alpha; the other activations ignore it.
template <class T>
void activation_forward(Activation act, const T* x /*(n)*/, T* y /*(n)*/, int64_t n, T alpha);

// dx = dy * act'(.), where `saved` is y when backward_uses_output(act) and x
// otherwise.
template <class T>
void activation_backward(Activation act, const T* saved /*(n)*/, const T* dy /*(n)*/,
                         T* dx /*(n)*/, int64_t n, T alpha);

}  // namespace cpu

// The same kernels on a GPU (f32), enqueued on `stream`. When every pointer
// is 16-byte aligned they move float4s (the n % 4 tail one by one), else one
// float per thread.
namespace cuda {

void activation_forward(Activation act, const float* x, float* y, int64_t n, float alpha,
                        Stream stream);

void activation_backward(Activation act, const float* saved, const float* dy, float* dx,
                         int64_t n, float alpha, Stream stream);

}  // namespace cuda
}  // namespace danlu::kernels
