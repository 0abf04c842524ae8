// sync_batch_norm: two threads play two data-parallel ranks, each with half
// of a batch, and a shared-memory all-reduce between them
// (tests/support/thread_ranks.h). Together they must reproduce batch_norm
// on the whole batch: the output, the running statistics, dx, and (summed
// over the ranks) dweight and dbias.
#include <gtest/gtest.h>

#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/norm.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"
#include "tests/support/thread_ranks.h"

namespace danlu {
namespace {

struct Result {
  Tensor y, dx, dw, db, running_mean, running_var;
};

// batch_norm (all == nullptr) or sync_batch_norm of x, then the backward of
// sum(y * r), a random projection of the output.
Result run(const Tensor& x_in, const Tensor& r, const AllReduceSum* all_reduce) {
  Tensor x = x_in.detach();
  x.set_requires_grad();
  const int64_t c = x.size(1);
  Tensor w = Tensor::from_vector(std::vector<double>{0.5, 1.5, -2.0}, {c}, DType::f64);
  Tensor b = Tensor::from_vector(std::vector<double>{0.1, -0.3, 0.2}, {c}, DType::f64);
  w.set_requires_grad(), b.set_requires_grad();
  Result out{Tensor(), Tensor(), Tensor(), Tensor(), Tensor::zeros({c}, DType::f64),
             Tensor::ones({c}, DType::f64)};
  out.y = all_reduce ? sync_batch_norm(x, out.running_mean, out.running_var, w, b, 0.1, 1e-5,
                                       *all_reduce)
                     : batch_norm(x, out.running_mean, out.running_var, w, b, true, 0.1, 1e-5);
  sum(mul(out.y, r)).backward();
  out.dx = x.grad(), out.dw = w.grad(), out.db = b.grad();
  return out;
}

// f64 throughout: the two computations differ only in summation order, so
// they agree to a few ulps of the values' scale (all O(1) here).
void expect_close(const Tensor& got, const std::vector<double>& want, const char* what) {
  const std::vector<double> g = got.to_vector();
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-12) << what << "[" << i << "]";
}

std::vector<double> slice(const Tensor& t, int64_t first, int64_t count) {
  return testing::batch_rows(t, first, count).to_vector();
}

TEST(SyncBatchNorm, TwoRanksMatchOneBatch) {
  Generator gen(3);
  const Tensor x = Tensor::randn({6, 3, 4, 5}, DType::f64, &gen) * 2.0 + 0.5;
  const Tensor r = Tensor::randn({6, 3, 4, 5}, DType::f64, &gen);
  const Result whole = run(x, r, nullptr);

  testing::ThreadJob job(2);
  std::vector<Result> ranks(2);
  job.run([&](int rank) {
    const AllReduceSum reduce = [&job, rank](double* v, int64_t n) {
      job.rank(rank).all_reduce_sum(v, n);
    };
    ranks[rank] = run(testing::batch_rows(x, rank * 3, 3), testing::batch_rows(r, rank * 3, 3),
                      &reduce);
  });

  std::vector<double> dw(3, 0.0), db(3, 0.0);
  for (int rank = 0; rank < 2; ++rank) {
    const Result& mine = ranks[rank];
    expect_close(mine.y, slice(whole.y, rank * 3, 3), "y");
    expect_close(mine.dx, slice(whole.dx, rank * 3, 3), "dx");
    expect_close(mine.running_mean, whole.running_mean.to_vector(), "running_mean");
    expect_close(mine.running_var, whole.running_var.to_vector(), "running_var");
    for (int64_t c = 0; c < 3; ++c)
      dw[c] += mine.dw.to_vector()[c], db[c] += mine.db.to_vector()[c];
  }
  expect_close(Tensor::from_vector(dw, {3}, DType::f64), whole.dw.to_vector(), "dweight summed");
  expect_close(Tensor::from_vector(db, {3}, DType::f64), whole.db.to_vector(), "dbias summed");
}

TEST(SyncBatchNorm, OneRankIsBatchNorm) {
  Generator gen(4);
  const Tensor x = Tensor::randn({4, 3, 2, 2}, DType::f64, &gen);
  const Tensor r = Tensor::randn({4, 3, 2, 2}, DType::f64, &gen);
  const AllReduceSum alone = [](double*, int64_t) {};
  const Result whole = run(x, r, nullptr), synced = run(x, r, &alone);
  expect_close(synced.y, whole.y.to_vector(), "y");
  expect_close(synced.dx, whole.dx.to_vector(), "dx");
  expect_close(synced.dw, whole.dw.to_vector(), "dweight");
}

}  // namespace
}  // namespace danlu
