// Communicator over MPI (built when CMake finds MPI: DANLU_WITH_MPI): the
// CPU transport of data-parallel training, and the launcher's view of the
// job (ranks, and the ranks that share this machine).
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>

#include "engine/error.h"
#include "train/distributed.h"

namespace danlu::train {

namespace {

void check(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  DANLU_FAIL(call, " failed: ", std::string(text, length));
}

// MPI counts are ints: larger buffers go in pieces.
template <class F>
void in_pieces(int64_t n, F&& f) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  for (int64_t at = 0; at < n; at += kMax) f(at, static_cast<int>(std::min(kMax, n - at)));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    check(MPI_Init(nullptr, nullptr), "MPI_Init");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local_),
          "MPI_Comm_split_type");
    MPI_Comm_rank(local_, &local_rank_);
    MPI_Comm_size(local_, &local_size_);
  }
  // Every rank reaches this at a normal exit; a failing rank calls abort()
  // instead, so no rank waits here for one that will not come.
  ~MpiCommunicator() override {
    MPI_Comm_free(&local_);
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }

  void all_reduce_sum(float* data, int64_t n) override { reduce(data, n, MPI_FLOAT); }
  void all_reduce_sum(double* data, int64_t n) override { reduce(data, n, MPI_DOUBLE); }

  void broadcast(void* data, int64_t bytes, int root) override {
    in_pieces(bytes, [&](int64_t at, int count) {
      check(MPI_Bcast(static_cast<char*>(data) + at, count, MPI_BYTE, root, MPI_COMM_WORLD),
            "MPI_Bcast");
    });
  }

  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }

 private:
  template <class T>
  void reduce(T* data, int64_t n, MPI_Datatype type) {
    in_pieces(n, [&](int64_t at, int count) {
      check(MPI_Allreduce(MPI_IN_PLACE, data + at, count, type, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    });
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm local_ = MPI_COMM_NULL;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() {
  return std::make_unique<MpiCommunicator>();
}

}  // namespace danlu::train
