// Evaluation over a loader, and the accuracy count shared with training.
#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd.h"
#include "engine/ops/loss.h"
#include "engine/ops/reduce.h"

namespace danlu::train {

namespace {

std::vector<int64_t> host_labels(const Tensor& t) {
  const Tensor cpu = t.device().is_cpu() ? t : t.to(Device::cpu());
  return std::vector<int64_t>(cpu.data<int64_t>(), cpu.data<int64_t>() + cpu.numel());
}

}  // namespace

std::vector<double> EvalResult::per_class_accuracy() const {
  std::vector<double> out;
  for (size_t c = 0; c < confusion.size(); ++c) {
    int64_t total = 0;
    for (int64_t n : confusion[c]) total += n;
    out.push_back(total ? double(confusion[c][c]) / total
                        : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

EvalResult sum_over_ranks(const EvalResult& shard, Communicator& comm) {
  if (comm.size() == 1) return shard;
  // Rank 0's shard holds the first examples, so it has seen the class count
  // whenever any rank has; a later rank's shard may be empty.
  int64_t classes = static_cast<int64_t>(shard.confusion.size());
  comm.broadcast(&classes, sizeof classes, /*root=*/0);
  std::vector<double> sums(2 + classes * classes, 0.0);
  sums[0] = shard.loss * shard.count, sums[1] = static_cast<double>(shard.count);
  for (size_t t = 0; t < shard.confusion.size(); ++t)
    for (size_t p = 0; p < shard.confusion[t].size(); ++p)
      sums[2 + t * classes + p] = static_cast<double>(shard.confusion[t][p]);
  all_reduce_sum(sums, comm);
  EvalResult r;
  r.count = static_cast<int64_t>(sums[1]);
  r.confusion.assign(classes, std::vector<int64_t>(classes, 0));
  int64_t correct = 0;
  for (int64_t t = 0; t < classes; ++t)
    for (int64_t p = 0; p < classes; ++p)
      r.confusion[t][p] = static_cast<int64_t>(sums[2 + t * classes + p]);
  for (int64_t c = 0; c < classes; ++c) correct += r.confusion[c][c];
  r.loss = r.count ? sums[0] / r.count : 0;
  r.accuracy = r.count ? double(correct) / r.count : 0;
  return r;
}

std::vector<std::string> non_finite_tensors(const nn::Module& model) {
  std::vector<std::string> names;
  for (const auto& [name, t] : model.state_dict()) {
    if (t.dtype() == DType::i64) continue;
    const Tensor cpu = t.device().is_cpu() ? t : t.to(Device::cpu());
    const auto finite = [&](const auto* p) {
      return std::all_of(p, p + cpu.numel(), [](double x) { return std::isfinite(x); });
    };
    if (!(cpu.dtype() == DType::f32 ? finite(cpu.data<float>()) : finite(cpu.data<double>())))
      names.push_back(name);
  }
  return names;
}

int64_t count_correct(const Tensor& predicted_classes, const Tensor& labels) {
  const std::vector<int64_t> predicted = host_labels(predicted_classes);
  const std::vector<int64_t> truth = host_labels(labels);
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
  return correct;
}

EvalResult evaluate(nn::Module& model, const io::DataLoader& loader) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  EvalResult r;
  double loss_sum = 0;
  for (io::Batch& batch : loader.epoch(0)) {
    if (batch.labels.numel() == 0) continue;  // a shard's empty slice of the last batch
    const Tensor logits = model(batch.images);
    loss_sum += cross_entropy(logits, batch.labels, CrossEntropyOptions{Reduction::sum, 0.0})
                    .item();
    const int64_t classes = logits.shape()[1];
    if (r.confusion.empty()) r.confusion.assign(classes, std::vector<int64_t>(classes, 0));
    const std::vector<int64_t> predicted = host_labels(argmax(logits, 1));
    const std::vector<int64_t> truth = host_labels(batch.labels);
    for (size_t i = 0; i < truth.size(); ++i) ++r.confusion[truth[i]][predicted[i]];
    r.count += static_cast<int64_t>(truth.size());
  }
  int64_t correct = 0;
  for (size_t c = 0; c < r.confusion.size(); ++c) correct += r.confusion[c][c];
  r.loss = r.count ? loss_sum / r.count : 0;
  r.accuracy = r.count ? double(correct) / r.count : 0;
  model.train(was_training);
  return r;
}

}  // namespace danlu::train
