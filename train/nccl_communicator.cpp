#include "train/nccl_communicator.h"

#include <nccl.h>

#include <cstdlib>

#include "engine/cuda_context.h"
#include "engine/error.h"
#include "kernels/cuda/check.h"

namespace danlu::train {

namespace {

void check(ncclResult_t status, const char* call) {
  if (status == ncclSuccess) return;
  DANLU_FAIL(call, " failed: ", ncclGetErrorString(status),
             "; run with NCCL_DEBUG=INFO to see which link or GPU failed");
}

class NcclCommunicator final : public Communicator {
 public:
  // compute_stream() makes `gpu` current, so the events and the stream are
  // created on it.
  NcclCommunicator(Communicator& bootstrap, Device gpu)
      : bootstrap_(bootstrap), gpu_(gpu), compute_(compute_stream(gpu)) {
    ncclUniqueId id{};
    if (bootstrap.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bootstrap.broadcast(&id, sizeof id, /*root=*/0);
    check(ncclCommInitRank(&comm_, bootstrap.size(), id, bootstrap.rank()), "ncclCommInitRank");
    DANLU_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  // Every rank reaches this at a normal exit; a failing rank calls abort().
  ~NcclCommunicator() override {
    const CudaDeviceGuard on(gpu_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  int local_rank() const override { return bootstrap_.local_rank(); }
  int local_size() const override { return bootstrap_.local_size(); }
  Device device() const override { return gpu_; }

  void all_reduce_sum(float* data, int64_t n) override { reduce(data, n, ncclFloat32); }
  void all_reduce_sum(double* data, int64_t n) override { reduce(data, n, ncclFloat64); }

  void wait() override {
    reduced_.record(stream_);
    reduced_.make_wait(compute_);
  }

  void broadcast(void* data, int64_t bytes, int root) override {
    after_compute();
    check(ncclBroadcast(data, data, static_cast<size_t>(bytes), ncclUint8, root, comm_, stream_),
          "ncclBroadcast");
  }

  void barrier() override { bootstrap_.barrier(); }

  [[noreturn]] void abort(int code) override {
    ncclCommAbort(comm_);
    bootstrap_.abort(code);
    std::exit(code);  // not reached
  }

 private:
  // The communicator's stream waits for what the compute stream has so far.
  void after_compute() {
    computed_.record(compute_);
    computed_.make_wait(stream_);
  }

  void reduce(void* data, int64_t n, ncclDataType_t type) {
    after_compute();
    check(ncclAllReduce(data, data, static_cast<size_t>(n), type, ncclSum, comm_, stream_),
          "ncclAllReduce");
  }

  Communicator& bootstrap_;
  Device gpu_;
  kernels::Stream compute_;  // where the tensors are made and used
  CudaEvent computed_, reduced_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;  // where the collectives run
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, Device gpu) {
  DANLU_CHECK(gpu.is_cuda(), "NCCL reduces GPU memory, got device ", gpu.str());
  return std::make_unique<NcclCommunicator>(bootstrap, gpu);
}

}  // namespace danlu::train
