// Data-parallel training's transport: the ranks of a job launched by mpirun
// (or srun), and the collectives training needs. Everything above this
// interface (gradient buckets, state broadcast, sharded data and
// evaluation, sync BatchNorm) is transport-free: MPI (host memory) and NCCL
// (GPU memory, train/nccl_communicator.h) each only implement Communicator.
// docs/distributed.md has the design.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
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
  // Where the data of the collectives below lives: host memory (MPI) or a
  // GPU's (NCCL).
  virtual Device device() const { return Device::cpu(); }
  // Element-wise sum over the ranks, in place, the same on every rank. The
  // reduction order depends only on the job's size and n, so a run repeats
  // bit for bit. On the host it is done when the call returns. On a GPU it
  // is enqueued after the work already on device()'s compute stream, and
  // runs alongside what is enqueued there later: `data` is the sum once
  // wait() has made the compute stream wait for it.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;
  virtual void all_reduce_sum(double* data, int64_t n) = 0;
  // Orders the compute stream after every reduction enqueued so far (GPU
  // communicators; the host never waits). Nothing to do on the host.
  virtual void wait() {}
  // Rank `root`'s bytes to every rank (like all_reduce_sum for ordering).
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

// The communicator for gradients on `device`: NCCL's over the job's GPUs
// when `device` is a GPU, the job has several ranks and danlu was built
// with NCCL (cmake prints "danlu: NCCL ON"); world() otherwise, which
// stages GPU gradients through the host. DANLU_TRANSPORT=mpi chooses MPI
// for GPU gradients too. Created on first use, over world().
Communicator& gradient_communicator(Device device);

// The run header's line for a data-parallel run on `device`, e.g. "data
// parallel: 2 ranks, gradients averaged over NCCL in buckets of 4 MB while
// the backward runs"; empty when there is nothing to reduce (one rank, no
// transport asked for).
std::string data_parallel_summary(Device device);

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
