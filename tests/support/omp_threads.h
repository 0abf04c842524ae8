// Sets the OpenMP thread count for a scope: the CPU kernels plan their work
// (chunk-parallel or sequential) from it, so tests pin it per case.
#pragma once

#include <omp.h>

namespace danlu::testing {

class OmpThreads {
 public:
  explicit OmpThreads(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(saved_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

}  // namespace danlu::testing
