// The transport-free half of data parallelism (train/distributed.h,
// train/gradient_averager.h) against a scripted communicator that plays
// rank 1 of 2: gradient buckets (sizes, order, when each starts, the mean),
// the broadcast of rank 0's model, and the sum of sharded evaluations. The
// MPI transport itself is tested by cli.train_distributed, NCCL's by
// gpu/nccl_communicator_test.cpp.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "train/distributed.h"
#include "train/gradient_averager.h"
#include "train/evaluate.h"

namespace danlu::train {
namespace {

// Rank 1 of 2. The other rank's values are `peer_factor` times this rank's,
// so an all-reduce returns (1 + peer_factor) times them; a broadcast
// delivers `root_bytes` in order. Every call is recorded.
class ScriptedPeer final : public Communicator {
 public:
  double peer_factor = 3;
  std::vector<unsigned char> root_bytes;
  std::vector<int64_t> reduced_sizes;

  int rank() const override { return 1; }
  int size() const override { return 2; }
  int local_rank() const override { return 1; }
  int local_size() const override { return 2; }
  void all_reduce_sum(float* data, int64_t n) override { add_peer(data, n); }
  void all_reduce_sum(double* data, int64_t n) override { add_peer(data, n); }
  void broadcast(void* data, int64_t bytes, int root) override {
    EXPECT_EQ(root, 0);
    ASSERT_LE(sent_ + bytes, static_cast<int64_t>(root_bytes.size()));
    std::memcpy(data, root_bytes.data() + sent_, bytes);
    sent_ += bytes;
  }
  void barrier() override {}
  [[noreturn]] void abort(int) override { std::abort(); }

 private:
  template <class T>
  void add_peer(T* data, int64_t n) {
    reduced_sizes.push_back(n);
    for (int64_t i = 0; i < n; ++i) data[i] += static_cast<T>(peer_factor * data[i]);
  }
  int64_t sent_ = 0;
};

Tensor parameter_with_grad(const std::vector<float>& grad) {
  Tensor p = Tensor::zeros({static_cast<int64_t>(grad.size())});
  p.set_requires_grad();
  p.set_grad(Tensor::from_vector(grad, {static_cast<int64_t>(grad.size())}));
  return p;
}

TEST(Distributed, GradientsAreAveragedInBucketsInParameterOrder) {
  std::vector<Tensor> params{parameter_with_grad({1, 2, 3, 4, 5}), parameter_with_grad({6, 7, 8}),
                             Tensor::zeros({4}),  // no gradient: skipped
                             parameter_with_grad(std::vector<float>(10, 0.5f)),
                             parameter_with_grad({-1, -2})};
  params[2].set_requires_grad();
  ScriptedPeer peer;
  GradientAverager averager(params, peer, /*bucket_elements=*/8);
  averager.finish();  // nothing was reported ready: all join in parameter order
  // 5 + 3 fill a bucket; 10 fills one alone; 2 is the last.
  EXPECT_EQ(peer.reduced_sizes, (std::vector<int64_t>{8, 10, 2}));
  // Ours and the peer's 3x, averaged over 2 ranks: 2x ours.
  EXPECT_EQ(params[0].grad().to_vector(), (std::vector<double>{2, 4, 6, 8, 10}));
  EXPECT_EQ(params[1].grad().to_vector(), (std::vector<double>{12, 14, 16}));
  EXPECT_FALSE(params[2].grad().defined());
  EXPECT_EQ(params[3].grad().to_vector(), std::vector<double>(10, 1.0));
  EXPECT_EQ(params[4].grad().to_vector(), (std::vector<double>{-2, -4}));
}

// The backward reports gradients as they complete; a bucket is reduced as
// soon as it is full, before the backward ends.
TEST(Distributed, BucketsAreReducedAsTheBackwardCompletesThem) {
  // loss = sum(w2 * (w1 * x)) + sum(w0): the backward completes w0, then
  // w2 (the outer product), then w1.
  Tensor w0 = Tensor::ones({3}), w1 = Tensor::full({6}, 2.0), w2 = Tensor::full({6}, 3.0);
  for (Tensor* w : {&w0, &w1, &w2}) w->set_requires_grad();
  const Tensor x = Tensor::full({6}, 0.5);
  const Tensor loss = add(sum(mul(w2, mul(w1, x))), sum(w0));
  ScriptedPeer peer;
  GradientAverager averager({w0, w1, w2}, peer, /*bucket_elements=*/6);
  std::vector<int64_t> reduced_at_each;
  {
    const GradientReadyHook hook([&](const Tensor& p) {
      averager.ready(p);
      reduced_at_each.push_back(static_cast<int64_t>(peer.reduced_sizes.size()));
    });
    loss.backward();
  }
  // w0 (3) waits; with w2 the bucket holds 9 and goes; w1 (6) goes alone.
  EXPECT_EQ(reduced_at_each, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(peer.reduced_sizes, (std::vector<int64_t>{9, 6}));
  averager.finish();
  EXPECT_EQ(peer.reduced_sizes, (std::vector<int64_t>{9, 6}));  // nothing was left
  // d/dw2 = w1 * x = 1, d/dw1 = w2 * x = 1.5, d/dw0 = 1; ours plus 3x, halved.
  EXPECT_EQ(w2.grad().to_vector(), std::vector<double>(6, 2.0));
  EXPECT_EQ(w1.grad().to_vector(), std::vector<double>(6, 3.0));
  EXPECT_EQ(w0.grad().to_vector(), std::vector<double>(3, 2.0));
}

// CPU gradients always go through world(); DANLU_TRANSPORT is checked
// whatever the device, so a misspelt value is never silently ignored.
TEST(Distributed, GradientTransportIsWorldOnTheCpuAndABadNameIsAnError) {
  EXPECT_EQ(&gradient_communicator(Device::cpu()), &world());
  ::setenv("DANLU_TRANSPORT", "mpi", 1);
  EXPECT_EQ(&gradient_communicator(Device::cpu()), &world());
  ::setenv("DANLU_TRANSPORT", "ncl", 1);
  try {
    gradient_communicator(Device::cpu());
    ADD_FAILURE() << "no error for DANLU_TRANSPORT=ncl";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "DANLU_TRANSPORT=ncl: expected auto, mpi or nccl");
  }
  ::unsetenv("DANLU_TRANSPORT");
}

TEST(Distributed, BroadcastGivesEveryTensorRankZerosBytes) {
  const std::vector<float> weights{1.5f, -2.5f, 3.25f};
  const int64_t counter = 42;
  ScriptedPeer peer;
  peer.root_bytes.resize(sizeof(float) * 3 + sizeof counter);
  std::memcpy(peer.root_bytes.data(), weights.data(), sizeof(float) * 3);
  std::memcpy(peer.root_bytes.data() + sizeof(float) * 3, &counter, sizeof counter);
  const Tensor w = Tensor::zeros({3});
  const Tensor n = Tensor::scalar(0, DType::i64);
  broadcast_tensors({w, n}, peer);
  EXPECT_EQ(w.to_vector(), (std::vector<double>{1.5, -2.5, 3.25}));
  EXPECT_EQ(n.item(), 42);
}

TEST(Distributed, ShardedEvaluationsAreSummed) {
  EvalResult shard;
  shard.count = 4, shard.loss = 0.5, shard.accuracy = 0.75;
  shard.confusion = {{2, 1}, {0, 1}};
  ScriptedPeer peer;
  peer.peer_factor = 1;  // the other shard counted the same
  const int64_t classes = 2;
  peer.root_bytes.resize(sizeof classes);
  std::memcpy(peer.root_bytes.data(), &classes, sizeof classes);
  const EvalResult all = sum_over_ranks(shard, peer);
  EXPECT_EQ(all.count, 8);
  EXPECT_EQ(all.confusion, (std::vector<std::vector<int64_t>>{{4, 2}, {0, 2}}));
  EXPECT_DOUBLE_EQ(all.loss, 0.5);
  EXPECT_DOUBLE_EQ(all.accuracy, 0.75);
}

}  // namespace
}  // namespace danlu::train
