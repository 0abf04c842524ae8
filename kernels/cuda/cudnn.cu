// The cuDNN comparison backend (kernels/cudnn.h): a cuDNN handle per thread
// and device, and per conv shape a cached plan (descriptors plus, for each
// direction, the algorithm cuDNN's heuristics rank first among the
// deterministic ones of the plan's math mode). Every cuDNN call is checked.
#include "kernels/cudnn.h"

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <array>
#include <climits>
#include <map>
#include <memory>
#include <string>

#include "engine/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/scratch.h"

// Throws danlu::Error naming the call, file:line, cuDNN's own explanation
// and what to do when a cuDNN call fails.
#define DANLU_CUDNN_CHECK(call) \
  ::danlu::kernels::cudnn::check_cudnn((call), #call, __FILE__, __LINE__)

namespace danlu::kernels::cudnn {

namespace {

void check_cudnn(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  if (status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    throw OutOfMemory(detail::concat(call, " failed at ", file, ":", line, ": the GPU is out of memory"));
  char detail[512] = "";
  cudnnGetLastErrorString(detail, sizeof detail);
  const int category = CUDNN_STATUS_CATEGORY(status);
  const char* advice =
      category == CUDNN_STATUS_NOT_SUPPORTED
          ? "cuDNN does not support this case: use --conv-backend ours"
      : category == CUDNN_STATUS_CATEGORY(CUDNN_STATUS_NOT_INITIALIZED)
          ? "cuDNN could not start: check that libcudnn matches the CUDA runtime and driver"
      : category == CUDNN_STATUS_BAD_PARAM
          ? "danlu passed cuDNN a bad argument: please report it with the shapes"
          : "run under compute-sanitizer to find the fault";
  DANLU_FAIL(call, " failed at ", file, ":", line, ": ", cudnnGetErrorString(status),
             detail[0] ? " (" : "", detail, detail[0] ? ")" : "", " (", advice, ")");
}

int to_int(int64_t v, const char* what) {
  DANLU_CHECK(v <= INT_MAX, "cuDNN backend: ", what, " ", v, " does not fit cuDNN's int sizes");
  return static_cast<int>(v);
}

// The handle of the calling thread on the current device, bound to
// `stream`. Handles are never destroyed: destroying them while the process
// exits can run after the CUDA runtime is gone (PyTorch leaks them too).
cudnnHandle_t handle(Stream stream) {
  thread_local std::map<int, cudnnHandle_t> handles;
  int device = 0;
  DANLU_CUDA_CHECK(cudaGetDevice(&device));
  cudnnHandle_t& h = handles[device];
  if (!h) DANLU_CUDNN_CHECK(cudnnCreate(&h));
  DANLU_CUDNN_CHECK(cudnnSetStream(h, stream));
  return h;
}

// An owned cuDNN descriptor.
template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { DANLU_CUDNN_CHECK(Create(&desc_)); }
  ~Descriptor() { Destroy(desc_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  operator T() const { return desc_; }  // NOLINT: pass straight to cuDNN calls

 private:
  T desc_ = nullptr;
};
using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor,
                              cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor,
                              cudnnDestroyFilterDescriptor>;
using ConvDesc = Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                            cudnnDestroyConvolutionDescriptor>;

void set_nchw(cudnnTensorDescriptor_t desc, int64_t n, int64_t c, int64_t h, int64_t w) {
  DANLU_CUDNN_CHECK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                               to_int(n, "batch"), to_int(c, "channels"),
                                               to_int(h, "height"), to_int(w, "width")));
}

// The best-ranked deterministic algorithm that never converts to FP16, and
// uses tensor cores (TF32) only when allowed.
template <class Perf>
Perf pick(const Perf* perf, int count, const char* direction, bool allow_tf32) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC &&
        (allow_tf32 || perf[i].mathType != CUDNN_TENSOR_OP_MATH) &&
        perf[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
      return perf[i];
  }
  DANLU_FAIL("cuDNN has no deterministic ", allow_tf32 ? "TF32" : "FP32", " ", direction,
             " algorithm for this convolution: use --conv-backend ours");
}

struct ConvPlan {
  TensorDesc x, y, bias;
  FilterDesc w;
  ConvDesc conv;
  cudnnConvolutionFwdAlgoPerf_t forward;
  cudnnConvolutionBwdDataAlgoPerf_t backward_data;
  cudnnConvolutionBwdFilterAlgoPerf_t backward_filter;

  ConvPlan(cudnnHandle_t h, const Conv2dShape& s, bool allow_tf32) {
    set_nchw(x, s.n, s.c, s.h, s.w);
    set_nchw(y, s.n, s.o, s.oh, s.ow);
    set_nchw(bias, 1, s.o, 1, 1);
    DANLU_CUDNN_CHECK(cudnnSetFilter4dDescriptor(
        w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(s.o, "output channels"),
        to_int(s.c / s.groups, "channels per group"), to_int(s.kh, "kernel height"),
        to_int(s.kw, "kernel width")));
    DANLU_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
        conv, to_int(s.pad_h, "padding"), to_int(s.pad_w, "padding"), to_int(s.stride_h, "stride"),
        to_int(s.stride_w, "stride"), to_int(s.dil_h, "dilation"), to_int(s.dil_w, "dilation"),
        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DANLU_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, to_int(s.groups, "groups")));
    // CUDNN_FMA_MATH is strict FP32; CUDNN_DEFAULT_MATH lets Ampere and
    // later GPUs run TF32 tensor cores, as PyTorch sets it for allow_tf32.
    DANLU_CUDNN_CHECK(
        cudnnSetConvolutionMathType(conv, allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));

    int count = 0;
    cudnnConvolutionFwdAlgoPerf_t fwd[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    DANLU_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
        h, x, w, conv, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, fwd));
    forward = pick(fwd, count, "forward", allow_tf32);
    cudnnConvolutionBwdDataAlgoPerf_t data[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    DANLU_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        h, w, y, conv, x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, data));
    backward_data = pick(data, count, "backward-data", allow_tf32);
    cudnnConvolutionBwdFilterAlgoPerf_t filter[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    DANLU_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        h, x, y, conv, w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, filter));
    backward_filter = pick(filter, count, "backward-filter", allow_tf32);
  }
};

// The plan for shape s on the current device, built on first use. Plans are
// per thread, like handles, so the cache needs no lock.
const ConvPlan& plan(cudnnHandle_t h, const Conv2dShape& s, bool allow_tf32) {
  using Key = std::array<int64_t, 16>;
  thread_local std::map<Key, std::unique_ptr<ConvPlan>> plans;
  int device = 0;
  DANLU_CUDA_CHECK(cudaGetDevice(&device));
  const Key key{device,     s.n,        s.c,     s.h,     s.w,     s.o,     s.kh,  s.kw,
                s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w, s.groups,
                allow_tf32};
  std::unique_ptr<ConvPlan>& p = plans[key];
  if (!p) p = std::make_unique<ConvPlan>(h, s, allow_tf32);
  return *p;
}

const float kOne = 1.f, kZero = 0.f;

}  // namespace

std::string version() {
  // cudnnGetVersion() is major * 10000 + minor * 100 + patch in cuDNN 9.
  const size_t v = cudnnGetVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

void conv2d_forward(const float* x, const float* weight, const float* bias, float* y,
                    const Conv2dShape& s, Stream stream, bool allow_tf32) {
  if (s.n == 0) return;  // cuDNN rejects empty tensors; there is nothing to compute
  const cudnnHandle_t h = handle(stream);
  const ConvPlan& p = plan(h, s, allow_tf32);
  const cuda::Scratch scratch(p.forward.memory);
  DANLU_CUDNN_CHECK(cudnnConvolutionForward(h, &kOne, p.x, x, p.w, weight, p.conv,
                                            p.forward.algo, scratch.data(), p.forward.memory,
                                            &kZero, p.y, y));
  if (bias) DANLU_CUDNN_CHECK(cudnnAddTensor(h, &kOne, p.bias, bias, &kOne, p.y, y));
}

void conv2d_backward(const float* x, const float* weight, const float* dy, float* dx,
                     float* dweight, float* dbias, const Conv2dShape& s, Stream stream,
                     bool allow_tf32) {
  if (s.n == 0) {  // empty sums
    const int64_t weights = s.o * s.c / s.groups * s.kh * s.kw;
    if (dweight) DANLU_CUDA_CHECK(cudaMemsetAsync(dweight, 0, weights * sizeof(float), stream));
    if (dbias) DANLU_CUDA_CHECK(cudaMemsetAsync(dbias, 0, s.o * sizeof(float), stream));
    return;
  }
  const cudnnHandle_t h = handle(stream);
  const ConvPlan& p = plan(h, s, allow_tf32);
  if (dx) {
    const cuda::Scratch scratch(p.backward_data.memory);
    DANLU_CUDNN_CHECK(cudnnConvolutionBackwardData(
        h, &kOne, p.w, weight, p.y, dy, p.conv, p.backward_data.algo, scratch.data(),
        p.backward_data.memory, &kZero, p.x, dx));
  }
  if (dweight) {
    const cuda::Scratch scratch(p.backward_filter.memory);
    DANLU_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        h, &kOne, p.x, x, p.y, dy, p.conv, p.backward_filter.algo, scratch.data(),
        p.backward_filter.memory, &kZero, p.w, dweight));
  }
  if (dbias)
    DANLU_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, &kOne, p.y, dy, &kZero, p.bias, dbias));
}

void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, int64_t N, int64_t C, int64_t S,
                             double momentum, double eps, Stream stream) {
  DANLU_CHECK(weight && bias, "cuDNN batch norm needs weight and bias (affine=true)");
  DANLU_CHECK(!running_mean == !running_var,
              "cuDNN batch norm updates both running statistics or neither");
  const cudnnHandle_t h = handle(stream);
  TensorDesc xd, stats;
  set_nchw(xd, N, C, S, 1);
  DANLU_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(stats, xd, CUDNN_BATCHNORM_SPATIAL));
  DANLU_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      h, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, xd, x, xd, y, stats, weight, bias, momentum,
      running_mean, running_var, eps, save_mean, save_invstd));
}

void batchnorm_backward_train(const float* dy, const float* x, const float* weight,
                              const float* save_mean, const float* save_invstd, float* dx,
                              float* dweight, float* dbias, int64_t N, int64_t C, int64_t S,
                              double eps, Stream stream) {
  DANLU_CHECK(weight && dx && dweight && dbias,
              "cuDNN batch norm backward needs weight and writes dx, dweight and dbias");
  const cudnnHandle_t h = handle(stream);
  TensorDesc xd, stats;
  set_nchw(xd, N, C, S, 1);
  DANLU_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(stats, xd, CUDNN_BATCHNORM_SPATIAL));
  DANLU_CUDNN_CHECK(cudnnBatchNormalizationBackward(
      h, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, &kOne, &kZero, xd, x, xd, dy, xd, dx, stats,
      weight, dweight, dbias, eps, save_mean, save_invstd));
}

}  // namespace danlu::kernels::cudnn
