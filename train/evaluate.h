// Test-set evaluation: mean loss, accuracy, per-class accuracy and the
// confusion matrix, in eval mode without autograd.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/data_loader.h"
#include "layers/module.h"
#include "train/distributed.h"

namespace danlu::train {

struct EvalResult {
  double loss = 0;      // mean cross-entropy (no label smoothing)
  double accuracy = 0;  // fraction correct
  int64_t count = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  std::vector<double> per_class_accuracy() const;  // NaN for a class with no examples
};

// Leaves the model in the mode it was in.
EvalResult evaluate(nn::Module& model, const io::DataLoader& loader);

// The evaluation of every rank's shard as one: counts and loss sums added.
EvalResult sum_over_ranks(const EvalResult& shard, Communicator& comm);

// The names of the model's floating-point tensors (parameters and buffers)
// that hold NaN or inf: weights from a run that diverged.
std::vector<std::string> non_finite_tensors(const nn::Module& model);

// Examples whose predicted class (e.g. argmax(logits, 1)) is the label; reads
// both back to the host.
int64_t count_correct(const Tensor& predicted, const Tensor& labels);

}  // namespace danlu::train
