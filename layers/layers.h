// Every layer, the Module base and init in one include (namespace danlu::nn).
#pragma once

#include "layers/activation.h"
#include "layers/attention.h"
#include "layers/basic_block.h"
#include "layers/batchnorm.h"
#include "layers/batchnorm_relu.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/init.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/pool.h"
#include "layers/sequential.h"
#include "layers/transformer.h"
#include "layers/vit.h"
