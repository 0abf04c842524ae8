// Stream capture and graphs in the emulated runtime
// (kernels/emulated/streams.cpp): captured work is recorded, not run, and
// each launch of the graph runs it again in order; a call that would block
// the host, stream-ordered allocation, a pageable host buffer and the legacy
// stream are refused while a capture is under way, as a GPU refuses them.
#include <gtest/gtest.h>

#include <cublas_v2.h>

#include <thread>
#include <vector>

#include "engine/error.h"
#include "kernels/cuda/launch.cuh"
#include "tests/support/cuda_buffer.h"

namespace danlu {
namespace {

using kernels::cuda::launch;
using testing::DeviceBuffer;

// Thread i of the one block adds `step` to x[i].
__global__ void add_step(float* x, float step, int n) {
  if (static_cast<int>(threadIdx.x) < n) x[threadIdx.x] += step;
}

// A stream of its own, capturing in `mode` until end() is called.
struct Capture {
  cudaStream_t stream = nullptr;
  explicit Capture(cudaStreamCaptureMode mode = cudaStreamCaptureModeThreadLocal) {
    EXPECT_EQ(cudaStreamCreate(&stream), cudaSuccess);
    EXPECT_EQ(cudaStreamBeginCapture(stream, mode), cudaSuccess);
  }
  cudaError_t end(cudaGraph_t* graph) { return cudaStreamEndCapture(stream, graph); }
  ~Capture() { cudaStreamDestroy(stream); }
};

TEST(EmulatedCapture, CapturedWorkRunsAtEachLaunchNotBefore) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> x(std::vector<float>{1, 2, 3});
  std::vector<float> host_b(3, 0.0f);
  float* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned), 3 * sizeof(float)), cudaSuccess);
  DeviceBuffer<float> b(std::vector<float>{0, 0, 0});
  cudaGraph_t graph = nullptr;
  {
    Capture c;
    cudaStreamCaptureStatus status;
    ASSERT_EQ(cudaStreamIsCapturing(c.stream, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusActive);
    launch("add_step", add_step, 1, 32, 0, c.stream, x.get(), 0.5f, 3);
    ASSERT_EQ(cudaMemcpyAsync(b.get(), pinned, 3 * sizeof(float), cudaMemcpyHostToDevice,
                              c.stream),
              cudaSuccess);
    // Recorded, not run (read directly: emulated device memory is host
    // memory, and a copy back would be a blocking call).
    EXPECT_EQ(x.get()[0], 1.0f);
    ASSERT_EQ(c.end(&graph), cudaSuccess);
    ASSERT_NE(graph, nullptr);
    ASSERT_EQ(cudaStreamIsCapturing(c.stream, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  }
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);  // the instance keeps its own copy
  for (int launchNo = 1; launchNo <= 2; ++launchNo) {
    // The captured copy reads the pinned buffer as it is at each launch.
    for (int i = 0; i < 3; ++i) pinned[i] = static_cast<float>(10 * launchNo + i);
    ASSERT_EQ(cudaGraphLaunch(exec, nullptr), cudaSuccess);
    EXPECT_EQ(b.to_host(), (std::vector<float>{10.0f * launchNo, 10.0f * launchNo + 1,
                                               10.0f * launchNo + 2}));
  }
  EXPECT_EQ(x.to_host(), (std::vector<float>{2, 3, 4}));  // two launches, two additions
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);
}

TEST(EmulatedCapture, ABlockingCallFailsAndInvalidatesTheCapture) {
  DANLU_REQUIRE_GPU();
  for (int which = 0; which < 3; ++which) {
    Capture c;
    void* p = nullptr;
    const cudaError_t refused = which == 0   ? cudaStreamSynchronize(c.stream)
                                : which == 1 ? cudaMalloc(&p, 16)
                                             : cudaDeviceSynchronize();
    EXPECT_EQ(refused, cudaErrorStreamCaptureUnsupported) << which;
    EXPECT_EQ(cudaGetLastError(), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(p, nullptr);
    cudaStreamCaptureStatus status;
    ASSERT_EQ(cudaStreamIsCapturing(c.stream, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusInvalidated);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(c.end(&graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    cudaGetLastError();
  }
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);  // allowed again once the capture ended
}

TEST(EmulatedCapture, AllocationPageableCopiesAndTheLegacyStreamAreRefused) {
  DANLU_REQUIRE_GPU();
  DeviceBuffer<float> x(std::vector<float>{1, 2, 3});
  std::vector<float> pageable(3, 7.0f);
  for (int which = 0; which < 3; ++which) {
    Capture c;
    void* p = nullptr;
    if (which == 0) {
      EXPECT_EQ(cudaMallocAsync(&p, 16, c.stream), cudaErrorStreamCaptureUnsupported);
    } else if (which == 1) {
      EXPECT_EQ(cudaMemcpyAsync(x.get(), pageable.data(), 3 * sizeof(float),
                                cudaMemcpyHostToDevice, c.stream),
                cudaErrorStreamCaptureUnsupported);
    } else {
      EXPECT_THROW(launch("add_step", add_step, 1, 32, 0, nullptr, x.get(), 1.0f, 3),
                   danlu::Error);
    }
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(c.end(&graph), cudaErrorStreamCaptureInvalidated) << which;
    cudaGetLastError();
  }
  EXPECT_EQ(x.to_host(), (std::vector<float>{1, 2, 3}));  // nothing ran
}

// Thread-local mode leaves other threads free to block (a data loader's
// copies); global mode does not.
TEST(EmulatedCapture, ThreadLocalModeLetsOtherThreadsBlock) {
  DANLU_REQUIRE_GPU();
  for (cudaStreamCaptureMode mode : {cudaStreamCaptureModeThreadLocal, cudaStreamCaptureModeGlobal}) {
    Capture c(mode);
    cudaError_t other = cudaSuccess;
    std::thread([&] { other = cudaDeviceSynchronize(); }).join();
    cudaGraph_t graph = nullptr;
    if (mode == cudaStreamCaptureModeThreadLocal) {
      EXPECT_EQ(other, cudaSuccess);
      EXPECT_EQ(c.end(&graph), cudaSuccess);
      EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    } else {
      EXPECT_EQ(other, cudaErrorStreamCaptureUnsupported);
      EXPECT_EQ(c.end(&graph), cudaErrorStreamCaptureInvalidated);
    }
    cudaGetLastError();
  }
}

TEST(EmulatedCapture, CublasGemmsAreCapturedWithTheirScalars) {
  DANLU_REQUIRE_GPU();
  cublasHandle_t handle = nullptr;
  ASSERT_EQ(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
  DeviceBuffer<float> a(std::vector<float>{1, 2, 3, 4}), b(std::vector<float>{1, 0, 0, 1}),
      out(std::vector<float>{0, 0, 0, 0});
  Capture c;
  ASSERT_EQ(cublasSetStream(handle, c.stream), CUBLAS_STATUS_SUCCESS);
  float alpha = 2.0f, beta = 1.0f;
  ASSERT_EQ(cublasSgemm_64(handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &alpha, a.get(), 2, b.get(),
                           2, &beta, out.get(), 2),
            CUBLAS_STATUS_SUCCESS);
  alpha = 100.0f;  // read at the call, as cuBLAS reads host scalars
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(c.end(&graph), cudaSuccess);
  EXPECT_EQ(out.to_host(), (std::vector<float>{0, 0, 0, 0}));
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, c.stream), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, c.stream), cudaSuccess);
  EXPECT_EQ(out.to_host(), (std::vector<float>{4, 8, 12, 16}));  // out += 2 A, twice
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cublasDestroy(handle);
}

}  // namespace
}  // namespace danlu
