// The transport-free half of data parallelism: which communicator this
// process has, and the gradient, state and counter reductions built on it.
#include "train/distributed.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "engine/error.h"
#include "engine/printf_string.h"
#include "layers/batchnorm.h"
#include "train/gradient_averager.h"
#ifdef DANLU_WITH_NCCL
#include "train/nccl_communicator.h"
#endif

namespace danlu::train {

#ifdef DANLU_WITH_MPI
std::unique_ptr<Communicator> make_mpi_communicator();  // train/mpi_communicator.cpp
#endif

namespace {

// A job of one rank: every collective is the identity.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_sum(double*, int64_t) override {}
  void broadcast(void*, int64_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

// The ranks a launcher says it started: Open MPI's mpirun, a PMI launcher
// (MPICH's mpiexec) or Slurm's srun; 0 when none started this process.
int launched_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  return 0;
}

std::unique_ptr<Communicator> make_world() {
  const int ranks = launched_ranks();
  if (ranks <= 1) return std::make_unique<SingleProcess>();
#ifdef DANLU_WITH_MPI
  return make_mpi_communicator();
#else
  DANLU_FAIL("this process was started by an MPI launcher (", ranks,
             " ranks), but danlu was built without MPI; install libopenmpi-dev and reconfigure "
             "(cmake prints \"danlu: MPI ON\"), or run danlu train without mpirun");
#endif
}

// A host copy of `t` to reduce or broadcast; the tensor itself on the CPU.
Tensor on_host(const Tensor& t) { return t.device().is_cpu() ? t : t.to(Device::cpu()); }

void write_back(const Tensor& host, const Tensor& t) {
  if (!t.device().is_cpu()) Tensor(t).copy_(host.to(t.device()));
}

}  // namespace

Communicator& world() {
  static const std::unique_ptr<Communicator> comm = make_world();
  return *comm;
}

Communicator& gradient_communicator(Device device) {
  const char* name = std::getenv("DANLU_TRANSPORT");
  const std::string transport = name ? name : "auto";
  DANLU_CHECK(transport == "auto" || transport == "mpi" || transport == "nccl",
              "DANLU_TRANSPORT=", transport, ": expected auto, mpi or nccl");
  Communicator& host = world();
  if (device.is_cpu()) return host;
  // One rank needs no transport, unless NCCL is asked for (to try it).
  if (transport == "mpi" || (transport == "auto" && host.size() == 1)) return host;
#ifdef DANLU_WITH_NCCL
  static const std::unique_ptr<Communicator> nccl = make_nccl_communicator(host, device);
  DANLU_CHECK(nccl->device() == device, "data-parallel gradients on ", device.str(), " after ",
              nccl->device().str(), ": one GPU per rank");
  return *nccl;
#else
  DANLU_CHECK(transport == "auto", "DANLU_TRANSPORT=nccl: danlu was built without NCCL; install "
              "NCCL (the CUDA toolkit's, or pip's nvidia-nccl-cu13 with NCCL_ROOT set) and "
              "reconfigure (cmake prints \"danlu: NCCL ON\"), or unset DANLU_TRANSPORT");
  return host;
#endif
}

std::string data_parallel_summary(Device device) {
  Communicator& host = world();
  Communicator& gradients = gradient_communicator(device);
  if (host.size() == 1 && &gradients == &host) return "";
  return printf_string("data parallel: %d rank%s, gradients averaged over %s in buckets of %lld MB "
                       "while the backward runs",
                       host.size(), host.size() == 1 ? "" : "s",
                       gradients.device().is_cuda() ? "NCCL" : "MPI",
                       static_cast<long long>(kBucketElements * sizeof(float) >> 20));
}

void share_cores(int local_ranks) {
  if (local_ranks <= 1) return;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string threads = std::to_string(std::max(1, cores / local_ranks));
  if (!std::getenv("OMP_NUM_THREADS")) omp_set_num_threads(std::stoi(threads));
}

int run_as_rank(const std::function<int()>& body) {
  Communicator& comm = world();
  if (comm.size() == 1) return body();
  share_cores(comm.local_size());
  if (comm.rank() > 0 && !std::freopen("/dev/null", "w", stdout))
    DANLU_FAIL("rank ", comm.rank(), ": cannot silence stdout");
  std::string error;
  try {
    return body();
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unexpected failure of an unknown kind";
  }
  std::fprintf(stderr, "danlu: error: %s (rank %d of %d)\n", error.c_str(), comm.rank(),
               comm.size());
  std::fflush(stderr);
  comm.abort(1);
  return 1;  // not reached: abort() ends the process
}

void broadcast_tensors(const std::vector<Tensor>& tensors, Communicator& comm) {
  if (comm.size() == 1) return;
  for (const Tensor& t : tensors) {
    const Tensor host = on_host(t);
    comm.broadcast(host.raw_data(), host.numel() * static_cast<int64_t>(element_size(host.dtype())),
                   /*root=*/0);
    write_back(host, t);
  }
}

void broadcast_model(const nn::Module& model, Communicator& comm) {
  broadcast_tensors(model.parameters(), comm);
  broadcast_tensors(model.buffers(), comm);
}

void synchronise_batch_norm(nn::Module& model, Communicator& comm) {
  if (comm.size() == 1) return;
  model.apply([&comm](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNormBase*>(&m))
      bn->sync_statistics = [&comm](double* values, int64_t n) { comm.all_reduce_sum(values, n); };
  });
}

void all_reduce_sum(std::vector<double>& values, Communicator& comm) {
  comm.all_reduce_sum(values.data(), static_cast<int64_t>(values.size()));
}

bool any_rank(bool flag, Communicator& comm) {
  double v = flag ? 1 : 0;
  comm.all_reduce_sum(&v, 1);
  return v > 0;
}

}  // namespace danlu::train
