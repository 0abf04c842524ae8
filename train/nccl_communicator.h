// Communicator over NCCL (built when CMake finds NCCL: DANLU_WITH_NCCL): the
// GPU transport of data-parallel training. Its collectives take GPU memory
// and run on a stream of their own, ordered after the compute stream by
// events, so a bucket's all-reduce overlaps the rest of the backward and
// the host never waits (train/gradient_averager.h). The emulated build links
// kernels/emulated/nccl.cpp instead of NCCL, which plays the ranks as
// threads of one process, so tests run this class without a GPU.
#pragma once

#include <memory>

#include "engine/device.h"
#include "train/distributed.h"

namespace danlu::train {

// One rank of an NCCL communicator over `gpu`, with the ranks of
// `bootstrap` (rank 0 makes NCCL's unique id and broadcasts it there, so no
// address or port needs configuring). Every rank of `bootstrap` calls this
// together; rank(), size() and the local ranks are bootstrap's.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, Device gpu);

}  // namespace danlu::train
