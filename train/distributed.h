// Data-parallel training's transport: the ranks of a job launched by mpirun
// (or srun), and the collectives training needs. Everything above this
// interface (gradient buckets, state broadcast, sharded data and
// evaluation, sync BatchNorm) is transport-free, so another transport (NCCL
// on GPUs) only implements Communicator. docs/distributed.md has the design.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/tensor.h"
#include "layers/module.h"

namespace danlu::train {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;        // 0 .. size() - 1
  virtual int size() const = 0;        // ranks in the job
  virtual int local_rank() const = 0;  // among the ranks on this machine
  virtual int local_size() const = 0;
  // Element-wise sum over the ranks, in place, the same on every rank. The
  // reduction order depends only on the job's size and n, so a run repeats
  // bit for bit.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;
  virtual void all_reduce_sum(double* data, int64_t n) = 0;
  // Rank `root`'s bytes to every rank.
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends the whole job at once (every rank), after a rank failed.
  [[noreturn]] virtual void abort(int code) = 0;
};

// This process's communicator: MPI's world when the process was started by
// a launcher (mpirun, srun), else a job of one rank. Created on first use;
// a launched job of several ranks in a build without MPI is an error.
Communicator& world();

// Rank 0 writes the run's files; the other ranks only compute.
inline bool is_writer() { return world().rank() == 0; }

// OpenMP threads (all of danlu's CPU threads, GEMM included) for one of
// `local_ranks` processes sharing this machine: its cores / local_ranks,
// unless OMP_NUM_THREADS says otherwise.
void share_cores(int local_ranks);

// Runs `body` (a command such as danlu train) as this process's part of the
// job: share_cores(), and stdout left to rank 0 so that the job prints one
// report. A failure on one rank of several prints its one-line error with
// the rank and ends every rank, which would otherwise wait for it forever;
// with one rank the exception propagates as usual.
int run_as_rank(const std::function<int()>& body);

// Sums each parameter's gradient over the ranks and divides by the number
// of ranks (the mean over the global batch, as one process would compute
// it), in buckets of at most `bucket_elements`, in parameter order.
// Parameters without a gradient are skipped (the same ones on every rank).
void average_gradients(const std::vector<Tensor>& params, Communicator& comm,
                       int64_t bucket_elements = int64_t{1} << 20);

// Rank 0's tensors copied to every rank, in place.
void broadcast_tensors(const std::vector<Tensor>& tensors, Communicator& comm);
// Rank 0's parameters and buffers to every rank: the same model everywhere.
void broadcast_model(const nn::Module& model, Communicator& comm);

// model.sync_bn: every BatchNorm layer of `model` normalises with the
// statistics of the global batch (layers/batchnorm.h); nothing with one rank.
void synchronise_batch_norm(nn::Module& model, Communicator& comm);

// Sums `values` (host doubles) over the ranks, in place.
void all_reduce_sum(std::vector<double>& values, Communicator& comm);

// True on every rank when `flag` is true on any rank (a stop request).
bool any_rank(bool flag, Communicator& comm);

}  // namespace danlu::train
