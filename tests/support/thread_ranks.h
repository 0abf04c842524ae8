// A data-parallel job played by threads of the test process: ThreadJob(n)
// has n ranks, and rank(r) is the Communicator that thread r uses. Its
// collectives meet in a barrier and combine every rank's host values in
// rank order, so all ranks get the same bits.
#pragma once

#include <barrier>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "engine/tensor.h"
#include "train/distributed.h"

namespace danlu::testing {

// Rows [first, first + count) of an (N, ...) tensor as a new f64 CPU leaf:
// one rank's slice of a global batch.
inline Tensor batch_rows(const Tensor& t, int64_t first, int64_t count) {
  const std::vector<double> all = t.to_vector();
  const int64_t row = t.numel() / t.size(0);
  Shape shape = t.shape();
  shape[0] = count;
  return Tensor::from_vector(std::vector<double>(all.begin() + first * row,
                                                 all.begin() + (first + count) * row),
                             shape, DType::f64);
}

class ThreadJob {
 public:
  explicit ThreadJob(int ranks) : meet_(ranks), sources_(ranks) {
    for (int r = 0; r < ranks; ++r) ranks_.push_back(std::make_unique<Rank>(*this, r));
  }

  train::Communicator& rank(int r) { return *ranks_[r]; }
  int size() const { return static_cast<int>(ranks_.size()); }

  // Runs body(rank) on one thread per rank and joins them.
  void run(const std::function<void(int rank)>& body) {
    std::vector<std::thread> threads;
    for (int r = 0; r < size(); ++r) threads.emplace_back(body, r);
    for (std::thread& t : threads) t.join();
  }

 private:
  class Rank final : public train::Communicator {
   public:
    Rank(ThreadJob& job, int rank) : job_(job), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return job_.size(); }
    int local_rank() const override { return rank_; }
    int local_size() const override { return job_.size(); }
    void all_reduce_sum(float* data, int64_t n) override { job_.sum(rank_, data, n); }
    void all_reduce_sum(double* data, int64_t n) override { job_.sum(rank_, data, n); }
    void broadcast(void* data, int64_t bytes, int root) override {
      job_.exchange(rank_, data, [&] {
        if (rank_ != root) std::memcpy(data, job_.sources_[root], bytes);
      });
    }
    void barrier() override { job_.meet_.arrive_and_wait(); }
    [[noreturn]] void abort(int) override { std::abort(); }

   private:
    ThreadJob& job_;
    int rank_;
  };

  // Publishes `data`, waits for every rank, runs `use` (which reads the
  // others' data), and waits again before anyone may change its data.
  template <class F>
  void exchange(int rank, void* data, F&& use) {
    sources_[rank] = data;
    meet_.arrive_and_wait();
    use();
    meet_.arrive_and_wait();
  }

  template <class T>
  void sum(int rank, T* data, int64_t n) {
    std::vector<T> total(n, T(0));
    exchange(rank, data, [&] {
      for (int r = 0; r < size(); ++r)
        for (int64_t i = 0; i < n; ++i) total[i] += static_cast<const T*>(sources_[r])[i];
    });
    std::copy(total.begin(), total.end(), data);
  }

  std::barrier<> meet_;
  std::vector<void*> sources_;
  std::vector<std::unique_ptr<Rank>> ranks_;
};

}  // namespace danlu::testing
