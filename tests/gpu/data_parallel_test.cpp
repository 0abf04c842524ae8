// Data parallelism on GPUs, with threads of this process as the ranks
// (tests/support/thread_ranks.h): sync BatchNorm on GPU tensors against
// batch_norm of the whole batch on the CPU, and the NCCL communicator
// (train/nccl_communicator.h) averaging GPU gradients in buckets and
// broadcasting GPU memory. The emulated build runs two ranks on its one
// device over the emulated NCCL; a real build runs one rank per GPU, up to 2
// (NCCL allows one rank per GPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "danlu.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/expect_close.h"
#include "tests/support/thread_ranks.h"
#include "train/gradient_averager.h"
#ifdef DANLU_WITH_NCCL
#include "train/nccl_communicator.h"
#endif

namespace danlu {
namespace {

int gpu_ranks() {
#ifdef DANLU_EMULATED
  return 2;
#else
  return std::min(2, cuda_device_count());
#endif
}

Device gpu_of(int rank) { return Device::cuda(rank % cuda_device_count()); }

struct BnResult {
  Tensor y, dx, dw, db, running_mean, running_var;  // on the CPU, f64
};

// batch_norm (all_reduce == nullptr) or sync_batch_norm of x on `device` in
// `dtype`, then the backward of sum(y * r).
BnResult run_bn(const Tensor& x64, const Tensor& r64, Device device, DType dtype,
                const AllReduceSum* all_reduce) {
  const TensorOptions on = TensorOptions(dtype).device(device);
  Tensor x = x64.to(dtype).to(device);
  x.set_requires_grad();
  Tensor w = Tensor::from_vector(std::vector<double>{0.5, 1.5, -2.0, 1.0}, {4}, on);
  Tensor b = Tensor::from_vector(std::vector<double>{0.1, -0.3, 0.2, 0.0}, {4}, on);
  w.set_requires_grad(), b.set_requires_grad();
  const Tensor rm = Tensor::zeros({4}, on), rv = Tensor::ones({4}, on);
  const Tensor y = all_reduce ? sync_batch_norm(x, rm, rv, w, b, 0.1, 1e-5, *all_reduce)
                              : batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
  sum(mul(y, r64.to(dtype).to(device))).backward();
  const auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
  return {host(y), host(x.grad()), host(w.grad()), host(b.grad()), host(rm), host(rv)};
}

// Each rank's slice of a batch of 8 (per rank) on its GPU in f32, against
// the whole batch on the CPU in f64: f32 rounding of O(1) values.
TEST(DataParallel, SyncBatchNormOnGpusMatchesOneBatch) {
  DANLU_REQUIRE_GPU();
  const int ranks = gpu_ranks();
  Generator gen(5);
  const int64_t per_rank = 8;
  const Tensor x = Tensor::randn({per_rank * ranks, 4, 3, 5}, DType::f64, &gen) * 2.0 + 0.5;
  const Tensor r = Tensor::randn({per_rank * ranks, 4, 3, 5}, DType::f64, &gen);
  const BnResult whole = run_bn(x, r, Device::cpu(), DType::f64, nullptr);

  testing::ThreadJob job(ranks);
  std::vector<BnResult> mine(ranks);
  job.run([&](int rank) {
    const AllReduceSum reduce = [&job, rank](double* v, int64_t n) {
      job.rank(rank).all_reduce_sum(v, n);
    };
    const int64_t first = rank * per_rank;
    mine[rank] = run_bn(testing::batch_rows(x, first, per_rank),
                        testing::batch_rows(r, first, per_rank), gpu_of(rank), DType::f32, &reduce);
  });
  const double atol = 2e-5, rtol = 2e-5;
  std::vector<double> dw(4, 0.0), db(4, 0.0);
  for (int rank = 0; rank < ranks; ++rank) {
    const BnResult& m = mine[rank];
    const Tensor y = testing::batch_rows(whole.y, rank * per_rank, per_rank);
    const Tensor dx = testing::batch_rows(whole.dx, rank * per_rank, per_rank);
    testing::expect_close(m.y, y, atol, rtol, "y");
    testing::expect_close(m.dx, dx, atol, rtol, "dx");
    testing::expect_close(m.running_mean, whole.running_mean, atol, rtol, "running_mean");
    testing::expect_close(m.running_var, whole.running_var, atol, rtol, "running_var");
    for (int64_t c = 0; c < 4; ++c)
      dw[c] += m.dw.to_vector()[c], db[c] += m.db.to_vector()[c];
  }
  testing::expect_close(dw, whole.dw.to_vector(), 1e-4, rtol, "dweight summed");
  testing::expect_close(db, whole.db.to_vector(), 1e-4, rtol, "dbias summed");
}

#ifdef DANLU_WITH_NCCL

// Rank r's gradients are (r + 1) times the base values, so their mean over
// R ranks is (R + 1) / 2 times them; the buckets (of at most 8 values) are
// GPU memory reduced on the communicator's stream.
TEST(DataParallel, NcclAveragesGpuGradientsInBuckets) {
  DANLU_REQUIRE_GPU();
  const int ranks = gpu_ranks();
  const std::vector<std::vector<float>> base{{1, 2, 3, 4, 5}, {6, 7, 8}, std::vector<float>(10, 0.5f),
                                             {-1, -2}};
  testing::ThreadJob job(ranks);
  std::vector<std::vector<std::vector<double>>> averaged(ranks);
  job.run([&](int rank) {
    const Device gpu = gpu_of(rank);
    const std::unique_ptr<train::Communicator> nccl =
        train::make_nccl_communicator(job.rank(rank), gpu);
    EXPECT_EQ(nccl->device(), gpu);
    std::vector<Tensor> params;
    for (const std::vector<float>& g : base) {
      std::vector<float> mine(g);
      for (float& v : mine) v *= static_cast<float>(rank + 1);
      const int64_t n = static_cast<int64_t>(g.size());
      Tensor p = Tensor::zeros({n}, TensorOptions().device(gpu));
      p.set_requires_grad();
      p.set_grad(Tensor::from_vector(mine, {n}).to(gpu));
      params.push_back(p);
    }
    train::GradientAverager averager(params, *nccl, /*bucket_elements=*/8);
    averager.ready(params[2]);  // 10 values: reduced at once, alone
    averager.finish();          // the others in parameter order: 5 + 3, then 2
    for (const Tensor& p : params) averaged[rank].push_back(p.grad().to_vector());
  });
  const double factor = (ranks + 1) / 2.0;
  for (int rank = 0; rank < ranks; ++rank)
    for (size_t i = 0; i < base.size(); ++i) {
      std::vector<double> want;
      for (float v : base[i]) want.push_back(v * factor);
      EXPECT_EQ(averaged[rank][i], want) << "rank " << rank << ", parameter " << i;
    }
}

// Rank 0's GPU bytes reach every rank's GPU buffer.
TEST(DataParallel, NcclBroadcastsGpuMemory) {
  DANLU_REQUIRE_GPU();
  const int ranks = gpu_ranks();
  testing::ThreadJob job(ranks);
  std::vector<std::vector<double>> got(ranks);
  job.run([&](int rank) {
    const Device gpu = gpu_of(rank);
    const std::unique_ptr<train::Communicator> nccl =
        train::make_nccl_communicator(job.rank(rank), gpu);
    const Tensor t = Tensor::full({5}, rank == 0 ? 2.5 : -1.0, TensorOptions().device(gpu));
    nccl->broadcast(t.raw_data(), 5 * sizeof(float), /*root=*/0);
    nccl->wait();
    got[rank] = t.to_vector();
  });
  for (int rank = 0; rank < ranks; ++rank)
    EXPECT_EQ(got[rank], std::vector<double>(5, 2.5)) << "rank " << rank;
}

#endif  // DANLU_WITH_NCCL

}  // namespace
}  // namespace danlu
