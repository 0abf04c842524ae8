// Every learning-rate schedule in one include: PyTorch's, Paddle's,
// TensorFlow's and Caffe's, composition, step units and JSON specs.
#pragma once

#include "schedulers/caffe.h"
#include "schedulers/composite.h"
#include "schedulers/cosine.h"
#include "schedulers/cyclic.h"
#include "schedulers/from_json.h"
#include "schedulers/interval.h"
#include "schedulers/one_cycle.h"
#include "schedulers/paddle.h"
#include "schedulers/plateau.h"
#include "schedulers/pytorch_basic.h"
#include "schedulers/scheduler.h"
#include "schedulers/tensorflow.h"
