// The CUDA runtime under every kernel: tensors moved to a GPU and back bit
// for bit (every dtype, NaN/inf/denormals, sizes across the staging chunks),
// factories and in-place writes on a GPU, the pool's usage counters and peak
// reset, the out-of-memory message, a Module moved there and back (and
// loading f64 host state into it), batches prefetched by the DataLoader;
// and, on a machine without a GPU, that every entry point says so in one
// line instead of crashing or printing.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/io/data_loader.h"
#include "layers/linear.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/error_of.h"

namespace danlu {
namespace {

const Device gpu = Device::cuda(0);

// The raw bytes of a host tensor.
std::vector<unsigned char> bytes_of(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  const auto* p = static_cast<const unsigned char*>(host.raw_data());
  return std::vector<unsigned char>(p, p + host.numel() * element_size(host.dtype()));
}

void synchronize() { DANLU_CUDA_CHECK(cudaDeviceSynchronize()); }

TEST(CudaRuntime, WithoutAGpuEveryEntryPointFailsInOneLine) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present; this checks the GPU-less path";
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(cuda_available());
  EXPECT_EQ(cuda_device_count(), 0);
  EXPECT_FALSE(cuda_unavailable_reason().empty());
  const std::string zeros = testing::error_of([] { Tensor::zeros({2, 3}, TensorOptions().device(gpu)); });
  const std::string moved = testing::error_of([] { Tensor::ones({4}).to(gpu); });
  const std::string stats = testing::error_of([] { cuda_memory_stats(gpu); });
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  for (const std::string& e : {zeros, moved, stats}) {
    EXPECT_NE(e.find("cuda:0"), std::string::npos) << e;
    EXPECT_NE(e.find("--device cpu"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(CudaRuntime, RoundTripsAreBitExact) {
  DANLU_REQUIRE_GPU();
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float denormal = std::numeric_limits<float>::denorm_min();
  Tensor special = Tensor::from_vector(std::vector<float>{0.0f, -0.0f, inf, -inf, nan, denormal,
                                                          3.4e38f, -1.5f},
                                       {2, 4});
  // 3,000,017 floats span three 4 MiB staging chunks and end mid-chunk.
  Tensor large = Tensor::randn({3000017});
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{-1, 0, 7, int64_t{1} << 40}, {4});
  Tensor doubles = Tensor::randn({5, 3}, DType::f64);
  Tensor empty = Tensor::empty({0, 3});
  for (const Tensor& host : {special, large, labels, doubles, empty}) {
    const Tensor on_gpu = host.to(gpu);
    EXPECT_EQ(on_gpu.device(), gpu);
    EXPECT_EQ(on_gpu.shape(), host.shape());
    EXPECT_EQ(on_gpu.dtype(), host.dtype());
    EXPECT_EQ(bytes_of(on_gpu), bytes_of(host)) << host.str();
    EXPECT_EQ(bytes_of(on_gpu.clone()), bytes_of(host)) << "clone of " << host.str();
    EXPECT_TRUE(on_gpu.to(gpu).same(on_gpu));  // same device: the same handle
  }
}

TEST(CudaRuntime, FactoriesAndInPlaceWritesOnTheGpu) {
  DANLU_REQUIRE_GPU();
  const TensorOptions on_gpu = TensorOptions().device(gpu);
  EXPECT_EQ(Tensor::zeros({3, 5}, on_gpu).to_vector(), std::vector<double>(15, 0.0));
  EXPECT_EQ(Tensor::ones({1000003}, on_gpu).to_vector(), std::vector<double>(1000003, 1.0));
  EXPECT_EQ(Tensor::full({7}, -2.5, on_gpu).to_vector(), std::vector<double>(7, -2.5));
  EXPECT_EQ(Tensor::full({3}, 1e300, TensorOptions(DType::f64).device(gpu)).to_vector(),
            std::vector<double>(3, 1e300));
  EXPECT_EQ(Tensor::full({3}, -9, TensorOptions(DType::i64).device(gpu)).to_vector(),
            std::vector<double>(3, -9.0));
  EXPECT_EQ(Tensor::scalar(4.25, on_gpu).item(), 4.25);

  // Random factories draw on the host, so the GPU gets the CPU's exact values.
  manual_seed(11);
  const Tensor cpu_normal = Tensor::randn({33, 17});
  const Tensor cpu_uniform = Tensor::rand({9});
  manual_seed(11);
  EXPECT_EQ(bytes_of(Tensor::randn({33, 17}, on_gpu)), bytes_of(cpu_normal));
  EXPECT_EQ(bytes_of(Tensor::rand({9}, on_gpu)), bytes_of(cpu_uniform));

  Tensor t = Tensor::randn({4, 6}).to(gpu);
  Tensor copy = t.clone();
  t.fill_(0.5);
  EXPECT_EQ(t.to_vector(), std::vector<double>(24, 0.5));
  EXPECT_NE(copy.to_vector(), t.to_vector()) << "a clone shares no memory with its source";
  const Tensor source = Tensor::randn({4, 6});
  t.copy_(source);  // CPU -> GPU
  EXPECT_EQ(bytes_of(t), bytes_of(source));
  Tensor back = Tensor::empty({4, 6});
  back.copy_(t);  // GPU -> CPU
  EXPECT_EQ(bytes_of(back), bytes_of(source));
  copy.copy_(t);  // GPU -> GPU
  EXPECT_EQ(bytes_of(copy), bytes_of(source));
}

TEST(CudaRuntime, DtypeConversionsOnTheGpuAreF32) {
  DANLU_REQUIRE_GPU();
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{3, -2, 5}, {3}).to(gpu);
  const Tensor as_float = labels.to(DType::f32);
  EXPECT_EQ(as_float.device(), gpu);
  EXPECT_EQ(as_float.to_vector(), (std::vector<double>{3, -2, 5}));
  const std::string e = testing::error_of([&] { as_float.to(DType::f64); });
  EXPECT_NE(e.find("to(f64)"), std::string::npos) << e;
  EXPECT_NE(e.find("f32"), std::string::npos) << e;
}

TEST(CudaRuntime, StreamsAreCreatedOncePerDevice) {
  DANLU_REQUIRE_GPU();
  EXPECT_NE(compute_stream(gpu), nullptr);
  EXPECT_EQ(compute_stream(gpu), compute_stream(gpu));
  EXPECT_NE(copy_stream(gpu), compute_stream(gpu));
  EXPECT_EQ(copy_stream(gpu), copy_stream(gpu));
}

TEST(CudaRuntime, MemoryStatsFollowAllocationsAndThePeakResets) {
  DANLU_REQUIRE_GPU();
  synchronize();
  const CudaMemoryStats before = cuda_memory_stats(gpu);
  const uint64_t bytes = uint64_t{64} << 20;
  {
    const Tensor big = Tensor::empty({static_cast<int64_t>(bytes / 4)}, TensorOptions().device(gpu));
    synchronize();
    const CudaMemoryStats during = cuda_memory_stats(gpu);
    EXPECT_GE(during.in_use, before.in_use + bytes);
    EXPECT_GE(during.peak, during.in_use);
  }
  synchronize();  // the free is stream-ordered: let it happen
  const CudaMemoryStats after = cuda_memory_stats(gpu);
  EXPECT_LE(after.in_use, before.in_use);
  EXPECT_GE(after.peak, before.in_use + bytes);
  reset_peak_memory(gpu);
  const CudaMemoryStats reset = cuda_memory_stats(gpu);
  EXPECT_LT(reset.peak, before.in_use + bytes);
  EXPECT_GE(reset.peak, reset.in_use);
}

TEST(CudaRuntime, OutOfMemoryNamesTheRequestAndTheBytesInUse) {
  DANLU_REQUIRE_GPU();
  const int64_t elements = int64_t{1} << 48;  // 1 PiB of f32
  const std::string e =
      testing::error_of([&] { Tensor::empty({elements}, TensorOptions().device(gpu)); });
  EXPECT_NE(e.find("out of GPU memory on cuda:0"), std::string::npos) << e;
  EXPECT_NE(e.find(std::to_string(elements * 4) + " bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("in use"), std::string::npos) << e;
  // The type the training loop catches to add what the model takes.
  EXPECT_THROW(Tensor::empty({elements}, TensorOptions().device(gpu)), OutOfMemory);
  // The failure leaves no sticky error behind.
  EXPECT_EQ(Tensor::ones({5}, TensorOptions().device(gpu)).to_vector(),
            std::vector<double>(5, 1.0));
}

TEST(CudaRuntime, AModuleMovesToTheGpuAndBack) {
  DANLU_REQUIRE_GPU();
  manual_seed(3);
  nn::Linear layer(7, 5);
  std::vector<std::vector<unsigned char>> original;
  for (const Tensor& p : layer.parameters()) original.push_back(bytes_of(p));
  layer.to(gpu);
  for (const Tensor& p : layer.parameters()) EXPECT_EQ(p.device(), gpu);
  layer.to(Device::cpu());
  const std::vector<Tensor> params = layer.parameters();
  ASSERT_EQ(params.size(), original.size());
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(params[i].device().is_cpu());
    EXPECT_EQ(bytes_of(params[i]), original[i]) << "parameter " << i;
  }

  // f64 state from the host loads into f32 parameters on the GPU.
  nn::Linear on_gpu(7, 5);
  on_gpu.to(gpu);
  nn::Linear f64_source(7, 5);
  f64_source.to(DType::f64);
  on_gpu.load_state_dict(f64_source.state_dict());
  const std::vector<Tensor> loaded = on_gpu.parameters(), source = f64_source.parameters();
  for (size_t i = 0; i < loaded.size(); ++i) {
    EXPECT_EQ(loaded[i].device(), gpu);
    EXPECT_EQ(loaded[i].dtype(), DType::f32);
    EXPECT_EQ(bytes_of(loaded[i]), bytes_of(source[i].to(DType::f32))) << "parameter " << i;
  }
}

TEST(CudaRuntime, DataLoaderBatchesOnTheGpuMatchTheHostBatches) {
  DANLU_REQUIRE_GPU();
  io::ImageDataset data{Tensor::randn({23, 1, 4, 3}),
                        Tensor::from_vector(std::vector<int64_t>(23, 0), {23})};
  for (int64_t i = 0; i < 23; ++i) data.labels.data<int64_t>()[i] = i % 10;
  for (int workers : {0, 2}) {
    const auto options = io::DataLoaderOptions(5).shuffle(true).seed(9).num_workers(workers);
    io::DataLoader host(data, options);
    // Copied from the host (pinned memory, copy stream), not gathered from a
    // GPU-resident copy (tests/gpu/device_data_test.cpp).
    io::DataLoader device(data, io::DataLoaderOptions(options).device(gpu).on_device(false));
    io::Epoch a = host.epoch(1), b = device.epoch(1);
    int64_t count = 0;
    while (std::optional<io::Batch> hb = a.next()) {
      std::optional<io::Batch> db = b.next();
      ASSERT_TRUE(db.has_value()) << "batch " << count;
      EXPECT_EQ(db->images.device(), gpu);
      EXPECT_EQ(db->labels.device(), gpu);
      EXPECT_EQ(bytes_of(db->images), bytes_of(hb->images)) << "batch " << count;
      EXPECT_EQ(bytes_of(db->labels), bytes_of(hb->labels)) << "batch " << count;
      ++count;
    }
    EXPECT_FALSE(b.next().has_value());
    EXPECT_EQ(count, 5) << "23 examples in batches of 5, the last one partial";
  }
}

}  // namespace
}  // namespace danlu
