// danlu's public C++ API in one include: tensors, autograd, ops, layers,
// init and I/O.
#pragma once

#include "engine/autograd.h"
#include "engine/cuda_context.h"
#include "engine/cuda_memory.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/ops/activation.h"
#include "engine/ops/attention.h"
#include "engine/ops/conv.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linear.h"
#include "engine/ops/loss.h"
#include "engine/ops/norm.h"
#include "engine/ops/pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape.h"
#include "engine/ops/softmax.h"
#include "engine/profile.h"
#include "engine/random.h"
#include "engine/tensor.h"
