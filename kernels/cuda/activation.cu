// Activations on the GPU (f32): the CPU reference's formulas, in the same
// order of operations, as one kernel template per activation so the choice
// costs nothing per element. Memory-bound, so the aligned path moves float4s.
#include "kernels/activation.h"

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// The CPU reference's double constants, rounded to float as it rounds them.
constexpr float kSqrtHalf = static_cast<float>(0.70710678118654752440);    // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = static_cast<float>(0.39894228040143267794);  // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = static_cast<float>(0.79788456080286535588);  // sqrt(2 / pi)
constexpr float kGeluKappa = static_cast<float>(0.044715);
constexpr float kGeluKappa3 = static_cast<float>(3 * 0.044715);

__device__ inline float sigmoid_of(float x) { return 1.0f / (1.0f + expf(-x)); }

template <Activation A>
__device__ inline float act_forward(float x, float alpha) {
  if constexpr (A == Activation::relu) {
    return x < 0.0f ? 0.0f : x;  // `x < 0` so NaN propagates
  } else if constexpr (A == Activation::leaky_relu) {
    return x > 0.0f ? x : x * alpha;
  } else if constexpr (A == Activation::elu) {
    return x > 0.0f ? x : alpha * expm1f(x);
  } else if constexpr (A == Activation::gelu) {
    return x * 0.5f * (1.0f + erff(x * kSqrtHalf));
  } else if constexpr (A == Activation::gelu_tanh) {
    const float inner = kSqrt2OverPi * (x + kGeluKappa * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
  } else if constexpr (A == Activation::silu) {
    return x * sigmoid_of(x);
  } else if constexpr (A == Activation::sigmoid) {
    return sigmoid_of(x);
  } else {
    return tanhf(x);
  }
}

// dy * act'(.) where s is y for relu, sigmoid and tanh and x otherwise
// (kernels::backward_uses_output).
template <Activation A>
__device__ inline float act_backward(float s, float dy, float alpha) {
  if constexpr (A == Activation::relu) {
    return s > 0.0f ? dy : 0.0f;
  } else if constexpr (A == Activation::leaky_relu) {
    return s > 0.0f ? dy : dy * alpha;
  } else if constexpr (A == Activation::elu) {  // x == 0 on the exponential side, as PyTorch
    return s <= 0.0f ? dy * alpha * expf(s) : dy;
  } else if constexpr (A == Activation::gelu) {  // Phi(x) + x phi(x)
    const float cdf = 0.5f * (1.0f + erff(s * kSqrtHalf));
    const float pdf = kInvSqrt2Pi * expf(-0.5f * s * s);
    return dy * (cdf + s * pdf);
  } else if constexpr (A == Activation::gelu_tanh) {  // product rule on 0.5 x (1 + tanh(inner))
    const float inner = kSqrt2OverPi * (s + kGeluKappa * s * s * s);
    const float tanh_inner = tanhf(inner);
    const float left = 0.5f * (1.0f + tanh_inner);
    const float inner_derivative = kSqrt2OverPi * (1.0f + kGeluKappa3 * s * s);
    const float right = 0.5f * s * (1.0f - tanh_inner * tanh_inner) * inner_derivative;
    return dy * (left + right);
  } else if constexpr (A == Activation::silu) {  // s(x) (1 + x (1 - s(x)))
    const float sg = sigmoid_of(s);
    return dy * sg * (1.0f + s * (1.0f - sg));
  } else if constexpr (A == Activation::sigmoid) {
    return dy * s * (1.0f - s);
  } else {
    return dy * (1.0f - s * s);
  }
}

// One thread per element: y[i] = act(x[i]).
template <Activation A>
__global__ void forward_kernel(const float* x, float* y, int64_t n, float alpha) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = act_forward<A>(x[i], alpha);
}

// Aligned pointers: thread i < n / 4 transforms float4 i; thread n / 4 + j
// (j < n % 4) transforms the tail element 4 * (n / 4) + j.
template <Activation A>
__global__ void forward_vec4_kernel(const float* x, float* y, int64_t n, float alpha) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t n4 = n / 4;
  if (i < n4) {
    const float4 v = reinterpret_cast<const float4*>(x)[i];
    reinterpret_cast<float4*>(y)[i] =
        make_float4(act_forward<A>(v.x, alpha), act_forward<A>(v.y, alpha),
                    act_forward<A>(v.z, alpha), act_forward<A>(v.w, alpha));
  } else if (i - n4 < n % 4) {
    const int64_t j = 4 * n4 + (i - n4);
    y[j] = act_forward<A>(x[j], alpha);
  }
}

// One thread per element: dx[i] = dy[i] * act'(saved[i]).
template <Activation A>
__global__ void backward_kernel(const float* saved, const float* dy, float* dx, int64_t n,
                                float alpha) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dx[i] = act_backward<A>(saved[i], dy[i], alpha);
}

// Aligned pointers: float4 i for thread i < n / 4, the tail as in forward_vec4_kernel.
template <Activation A>
__global__ void backward_vec4_kernel(const float* saved, const float* dy, float* dx, int64_t n,
                                     float alpha) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t n4 = n / 4;
  if (i < n4) {
    const float4 s = reinterpret_cast<const float4*>(saved)[i];
    const float4 g = reinterpret_cast<const float4*>(dy)[i];
    reinterpret_cast<float4*>(dx)[i] =
        make_float4(act_backward<A>(s.x, g.x, alpha), act_backward<A>(s.y, g.y, alpha),
                    act_backward<A>(s.z, g.z, alpha), act_backward<A>(s.w, g.w, alpha));
  } else if (i - n4 < n % 4) {
    const int64_t j = 4 * n4 + (i - n4);
    dx[j] = act_backward<A>(saved[j], dy[j], alpha);
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Calls f(std::integral_constant<Activation, act>{}), turning the runtime
// choice into a kernel template argument.
template <class F>
void with_activation(Activation act, F&& f) {
  using A = Activation;
  switch (act) {
    case A::relu: return f(std::integral_constant<A, A::relu>{});
    case A::leaky_relu: return f(std::integral_constant<A, A::leaky_relu>{});
    case A::elu: return f(std::integral_constant<A, A::elu>{});
    case A::gelu: return f(std::integral_constant<A, A::gelu>{});
    case A::gelu_tanh: return f(std::integral_constant<A, A::gelu_tanh>{});
    case A::silu: return f(std::integral_constant<A, A::silu>{});
    case A::sigmoid: return f(std::integral_constant<A, A::sigmoid>{});
    case A::tanh: return f(std::integral_constant<A, A::tanh>{});
  }
}

}  // namespace

void activation_forward(Activation act, const float* x, float* y, int64_t n, float alpha,
                        Stream stream) {
  const bool vec = aligned16(x) && aligned16(y);
  const dim3 grid(vec ? blocks_for(n / 4 + n % 4, kThreads) : blocks_for(n, kThreads));
  with_activation(act, [&](auto tag) {
    constexpr Activation A = decltype(tag)::value;
    if (vec)
      launch("activation_forward_vec4", forward_vec4_kernel<A>, grid, dim3(kThreads), 0, stream,
             x, y, n, alpha);
    else
      launch("activation_forward", forward_kernel<A>, grid, dim3(kThreads), 0, stream, x, y, n,
             alpha);
  });
}

void activation_backward(Activation act, const float* saved, const float* dy, float* dx,
                         int64_t n, float alpha, Stream stream) {
  const bool vec = aligned16(saved) && aligned16(dy) && aligned16(dx);
  const dim3 grid(vec ? blocks_for(n / 4 + n % 4, kThreads) : blocks_for(n, kThreads));
  with_activation(act, [&](auto tag) {
    constexpr Activation A = decltype(tag)::value;
    if (vec)
      launch("activation_backward_vec4", backward_vec4_kernel<A>, grid, dim3(kThreads), 0,
             stream, saved, dy, dx, n, alpha);
    else
      launch("activation_backward", backward_kernel<A>, grid, dim3(kThreads), 0, stream, saved,
             dy, dx, n, alpha);
  });
}

}  // namespace danlu::kernels::cuda
