// The emulated NCCL (include/nccl.h): the ranks of a communicator are host
// threads of this process, which meet in a std::barrier. A collective
// publishes each rank's buffer, waits for all, computes its own result into
// scratch (every rank sums the ranks in rank order, so all get the same
// bits), waits again so that no rank overwrites a buffer another still
// reads, then writes the result.
#include <atomic>
#include <barrier>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/emulated/include/nccl.h"

struct Clique {
  explicit Clique(int n) : ranks(n), meet(n), sources(n) {}
  int ranks;
  std::barrier<> meet;
  std::vector<const void*> sources;  // each rank's send buffer, during a collective
};

struct ncclComm {
  std::shared_ptr<Clique> clique;
  int rank;
};

namespace {

std::mutex cliques_mutex;
std::map<std::string, std::weak_ptr<Clique>>& cliques() {
  static std::map<std::string, std::weak_ptr<Clique>> all;
  return all;
}

size_t element_size(ncclDataType_t type) {
  switch (type) {
    case ncclInt8: case ncclUint8: return 1;
    case ncclFloat32: return 4;
    case ncclFloat64: return 8;
  }
  return 0;
}

template <class T>
void sum_ranks(const Clique& c, size_t count, std::vector<unsigned char>& out) {
  out.assign(count * sizeof(T), 0);
  T* sum = reinterpret_cast<T*>(out.data());
  for (int r = 0; r < c.ranks; ++r) {
    const T* from = static_cast<const T*>(c.sources[r]);
    for (size_t i = 0; i < count; ++i) sum[i] = r == 0 ? from[i] : sum[i] + from[i];
  }
}

}  // namespace

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  static std::atomic<uint64_t> next{1};
  if (!id) return ncclInvalidArgument;
  std::memset(id->internal, 0, sizeof id->internal);
  const std::string name = "emulated-clique-" + std::to_string(next++);
  std::memcpy(id->internal, name.data(), name.size());
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  if (!comm || nranks < 1 || rank < 0 || rank >= nranks) return ncclInvalidArgument;
  std::shared_ptr<Clique> clique;
  {
    std::lock_guard lock(cliques_mutex);
    std::weak_ptr<Clique>& slot = cliques()[std::string(id.internal, sizeof id.internal)];
    clique = slot.lock();
    if (!clique) slot = clique = std::make_shared<Clique>(nranks);
  }
  if (clique->ranks != nranks) return ncclInvalidUsage;
  *comm = new ncclComm{clique, rank};
  clique->meet.arrive_and_wait();
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    default: return "unhandled error";
  }
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t) {
  if (!comm || op != ncclSum || (datatype != ncclFloat32 && datatype != ncclFloat64))
    return ncclInvalidArgument;
  Clique& c = *comm->clique;
  c.sources[comm->rank] = sendbuff;
  c.meet.arrive_and_wait();
  std::vector<unsigned char> sum;
  if (datatype == ncclFloat32) sum_ranks<float>(c, count, sum);
  else sum_ranks<double>(c, count, sum);
  c.meet.arrive_and_wait();
  std::memcpy(recvbuff, sum.data(), sum.size());
  c.meet.arrive_and_wait();  // sources[] is free for the next collective
  return ncclSuccess;
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t) {
  if (!comm || root < 0 || root >= comm->clique->ranks || element_size(datatype) == 0)
    return ncclInvalidArgument;
  Clique& c = *comm->clique;
  c.sources[comm->rank] = sendbuff;
  c.meet.arrive_and_wait();
  const size_t bytes = count * element_size(datatype);
  std::vector<unsigned char> copy(static_cast<const unsigned char*>(c.sources[root]),
                                  static_cast<const unsigned char*>(c.sources[root]) + bytes);
  c.meet.arrive_and_wait();
  std::memcpy(recvbuff, copy.data(), bytes);
  c.meet.arrive_and_wait();
  return ncclSuccess;
}
