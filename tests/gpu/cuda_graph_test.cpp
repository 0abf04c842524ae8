// CUDA Graphs in the engine (engine/cuda_graph.h): ops captured into a graph
// compute nothing until it is launched, take their memory from the
// capture's arena, and compute the same bits at every launch as running the
// ops again; host effects (BatchNorm's counter, a generator's offset) are
// redone at each launch and undone when a capture is abandoned.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/cuda_graph.h"
#include "engine/device_arena.h"
#include "engine/ops/activation.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/random.h"
#include "layers/batchnorm.h"
#include "tests/support/cuda_buffer.h"

namespace danlu {
namespace {

const Device kGpu = Device::cuda(0);
constexpr size_t kArena = size_t(1) << 20;

Tensor gpu_vector(const std::vector<float>& values) {
  return Tensor::from_vector(values, {static_cast<int64_t>(values.size())},
                             TensorOptions().device(kGpu));
}

std::vector<double> values(const Tensor& t) { return t.to(Device::cpu()).to_vector(); }

TEST(CudaGraph, ALaunchComputesTheCapturedOpsOnTheInputsOfTheDay) {
  DANLU_REQUIRE_GPU();
  Tensor x = gpu_vector({-1, 2, -3, 4});
  std::unique_ptr<CudaGraph> graph;
  Tensor y;
  {
    GraphCapture capture(kGpu, kArena);
    Tensor t = mul(x, 2.0);
    t = add(t, 1.0);  // x * 2 goes back to the arena here...
    y = relu(t);      // ...and relu's output takes its place
    graph = capture.finish();
  }
  EXPECT_EQ(graph->kernels(), 3);
  EXPECT_EQ(graph->arena_peak(), 2 * 256u);
  graph->launch();
  EXPECT_EQ(values(y), (std::vector<double>{0, 5, 0, 9}));
  x.copy_(gpu_vector({1, 1, -1, 10}));
  graph->launch();
  EXPECT_EQ(values(y), (std::vector<double>{3, 3, 0, 21}));
}

TEST(CudaGraph, TheArenaReusesFreedPartsAndJoinsNeighbours) {
  DANLU_REQUIRE_GPU();
  DeviceArena arena(kGpu, 4 * 256);
  void* a = arena.allocate(1);
  void* b = arena.allocate(256);
  void* c = arena.allocate(512);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(arena.allocate(1), nullptr);  // full
  arena.release(b);
  arena.release(a);  // joins b's range
  void* ab = arena.allocate(512);
  EXPECT_EQ(ab, a);
  arena.release(c);
  arena.release(ab);
  EXPECT_EQ(arena.allocate(4 * 256), a);  // one range again
  EXPECT_EQ(arena.peak(), 4 * 256u);
}

TEST(CudaGraph, BatchNormCountsEveryLaunchAndAnAbandonedCaptureNone) {
  DANLU_REQUIRE_GPU();
  nn::BatchNorm2d bn(3);
  bn.to(kGpu);
  const Tensor x = Tensor::randn({2, 3, 2, 2}, TensorOptions().device(kGpu));
  const auto count = [&] { return bn.num_batches_tracked.to(Device::cpu()).data<int64_t>()[0]; };
  {
    GraphCapture capture(kGpu, kArena);
    bn(x);
    EXPECT_EQ(count(), 1);
    // destroyed unfinished: abandoned
  }
  EXPECT_EQ(count(), 0);
  std::unique_ptr<CudaGraph> graph;
  {
    GraphCapture capture(kGpu, kArena);
    bn(x);
    graph = capture.finish();
  }
  EXPECT_EQ(count(), 1);  // the captured step itself, run by the first launch
  graph->launch();
  EXPECT_EQ(count(), 1);
  graph->launch();
  graph->launch();
  EXPECT_EQ(count(), 3);
}

TEST(CudaGraph, MomentumNoneRefusesTheCapture) {
  DANLU_REQUIRE_GPU();
  nn::BatchNorm2d bn(nn::BatchNormOptions(3).momentum(std::nullopt));
  bn.to(kGpu);
  const Tensor x = Tensor::randn({2, 3, 2, 2}, TensorOptions().device(kGpu));
  GraphCapture capture(kGpu, kArena);
  try {
    bn(x);
    FAIL() << "captured";
  } catch (const CaptureRefused& e) {
    EXPECT_FALSE(e.arena_full);
    EXPECT_NE(std::string(e.what()).find("momentum=None"), std::string::npos) << e.what();
  }
}

// Three launches of a captured dropout draw the masks that three calls draw,
// and leave the generator where the three calls leave it.
TEST(CudaGraph, DropoutDrawsAtEachLaunchWhatTheNextCallWouldDraw) {
  DANLU_REQUIRE_GPU();
  const Tensor x = Tensor::ones({1000}, TensorOptions().device(kGpu));
  Generator eager_gen(17), graph_gen(17);
  eager_gen.reserve(3), graph_gen.reserve(3);  // not at offset 0
  std::vector<std::vector<double>> eager;
  for (int i = 0; i < 3; ++i) eager.push_back(values(dropout(x, 0.5, true, &eager_gen)));
  std::unique_ptr<CudaGraph> graph;
  Tensor y;
  {
    GraphCapture capture(kGpu, kArena);
    y = dropout(x, 0.5, true, &graph_gen);
    graph = capture.finish();
  }
  for (int i = 0; i < 3; ++i) {
    graph->launch();
    EXPECT_EQ(values(y), eager[i]) << "launch " << i + 1;
  }
  EXPECT_NE(eager[0], eager[1]);
  EXPECT_EQ(graph_gen.offset(), eager_gen.offset());
  EXPECT_TRUE(graph->replayable());
  graph_gen.manual_seed(3);
  EXPECT_FALSE(graph->replayable());  // reseeded: the graph would draw the old stream
}

// Reading a value back waits for the GPU: the capture refuses it, and the
// engine's error names the call.
TEST(CudaGraph, AReadBackInsideACaptureRefusesIt) {
  DANLU_REQUIRE_GPU();
  const Tensor x = gpu_vector({1, 2});
  GraphCapture capture(kGpu, kArena);
  EXPECT_THROW(add(x, 1.0).to(Device::cpu()), Error);
  EXPECT_THROW(capture.finish(), CaptureRefused);
}

}  // namespace
}  // namespace danlu
