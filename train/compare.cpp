// Optimizer presets, the trials of a comparison and its leaderboard.
#include "train/compare.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "engine/error.h"
#include "engine/printf_string.h"
#include "train/diagnose.h"
#include "train/lr_scaling.h"
#include "train/report.h"

namespace danlu::train {

using nlohmann::json;

const std::vector<OptimizerPreset>& optimizer_presets() {
  // PyTorch's defaults where it has one, except RMSprop (PyTorch's 0.01 is
  // known to be too high for most networks; Keras's 0.001), and the rates
  // the SGD family is usually started from.
  static const std::vector<OptimizerPreset> presets = {
      {"sgd", {{"type", "SGD"}, {"lr", 0.1}}},
      {"momentum", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}}},
      {"nesterov", {{"type", "SGD"}, {"lr", 0.01}, {"momentum", 0.9}, {"nesterov", true}}},
      {"adam", {{"type", "Adam"}, {"lr", 0.001}}},
      {"adamw", {{"type", "AdamW"}, {"lr", 0.001}}},
      {"rmsprop", {{"type", "RMSprop"}, {"lr", 0.001}}},
      {"adagrad", {{"type", "Adagrad"}, {"lr", 0.01}}},
      {"adadelta", {{"type", "Adadelta"}, {"lr", 1.0}}},
      {"swats", {{"type", "SWATS"}, {"lr", 0.001}}},
  };
  return presets;
}

namespace {

const OptimizerPreset* find_preset(const std::string& name) {
  for (const OptimizerPreset& p : optimizer_presets())
    if (p.name == name) return &p;
  return nullptr;
}

std::string preset_names() {
  std::string names;
  for (const OptimizerPreset& p : optimizer_presets()) names += (names.empty() ? "" : ", ") + p.name;
  return names;
}

// "0.001", "1e-05": a rate as it appears in trial names and tables.
std::string rate_text(double lr) { return printf_string("%g", lr); }

}  // namespace

OptimizerChoice parse_optimizer_choice(const std::string& text) {
  const size_t at = text.find('@');
  OptimizerChoice c;
  c.name = text.substr(0, at);
  const OptimizerPreset* preset = find_preset(c.name);
  DANLU_CHECK(preset, "--optimizers: unknown optimizer \"", c.name, "\"; expected one of ",
              preset_names(), " (optionally with @lr, e.g. adam@0.003)");
  c.lr = preset->section.at("lr").get<double>();
  if (at == std::string::npos) return c;
  const std::string rate = text.substr(at + 1);
  const char* end = rate.data() + rate.size();
  const auto [ptr, ec] = std::from_chars(rate.data(), end, c.lr);
  DANLU_CHECK(ec == std::errc() && ptr == end && c.lr > 0, "--optimizers: \"", text,
              "\": expected a learning rate > 0 after '@', e.g. ", c.name, "@0.003");
  return c;
}

std::vector<Trial> compare_trials(const TrainConfig& config, const CompareOptions& options) {
  const json& own = config.json.at("optimizer");
  const std::string absolute = absolute_lr_path(config.json.at("scheduler"), "scheduler");
  DANLU_CHECK(absolute.empty(), absolute, ": the schedule sets learning rates of its own, so "
              "every trial would train at the same rates; compare with a schedule relative to ",
              "the optimizer's lr (e.g. --set 'scheduler={\"type\":\"CosineAnnealingLR\",",
              "\"T_max\":1000}')");
  // (name, optimizer section) before the rates are applied.
  std::vector<std::pair<std::string, json>> bases;
  if (options.optimizers.empty()) bases.emplace_back("config", own);
  for (const OptimizerChoice& c : options.optimizers) {
    json section = find_preset(c.name)->section;
    section["lr"] = c.lr;
    for (const char* carried : {"weight_decay", "lr_scaling"})
      if (own.contains(carried)) section[carried] = own[carried];
    bases.emplace_back(c.name, section);
  }
  std::vector<Trial> trials;
  for (const auto& [name, section] : bases) {
    std::vector<double> lrs = options.lrs;
    if (lrs.empty()) lrs.push_back(section.value("lr", 0.0));
    for (const double lr : lrs) {
      DANLU_CHECK(lr > 0, "--lrs: expected learning rates > 0, got ", lr);
      json j = config.json;
      j["optimizer"] = section;
      j["optimizer"]["lr"] = lr;
      if (options.epochs > 0) j["epochs"] = options.epochs;
      Trial t{name + "-lr" + rate_text(lr), parse_config(j)};
      for (const Trial& other : trials)
        DANLU_CHECK(other.name != t.name, "compare: the trial ", t.name,
                    " appears twice; give each optimizer and rate once");
      trials.push_back(std::move(t));
    }
  }
  return trials;
}

CompareRow compare_row(const Trial& trial, TrialResult result) {
  CompareRow row;
  const json& o = trial.config.json.at("optimizer");
  row.optimizer = o.value("type", "?");
  if (o.value("momentum", 0.0) != 0.0) row.optimizer += printf_string(" momentum %g", o.value("momentum", 0.0));
  if (o.value("nesterov", false)) row.optimizer += " Nesterov";
  row.lr = o.value("lr", 0.0);
  row.result = std::move(result);
  if (row.result.state == TrialState::failed) return row;
  try {
    const Diagnosis d = diagnose(read_history(row.result.dir));
    row.verdict = verdict_name(d.verdict);
    row.diagnosis = to_text(d);
  } catch (const Error& e) {
    row.verdict = "unread";
    row.diagnosis = e.what();
  }
  return row;
}

double default_target(const std::vector<CompareRow>& rows) {
  double best = 0;
  for (const CompareRow& r : rows)
    if (r.result.state != TrialState::failed) best = std::max(best, r.result.best_accuracy);
  return best > 0.01 ? best - 0.01 : 0;
}

namespace {

std::vector<const CompareRow*> ranked(const std::vector<CompareRow>& rows) {
  std::vector<const CompareRow*> order;
  for (const CompareRow& r : rows) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](const CompareRow* a, const CompareRow* b) {
    const bool a_failed = a->result.state == TrialState::failed;
    const bool b_failed = b->result.state == TrialState::failed;
    if (a_failed != b_failed) return b_failed;
    return a->result.best_accuracy > b->result.best_accuracy;
  });
  return order;
}

std::string reached(const TrialResult& r, double target) {
  const int64_t epoch = epoch_reaching(r, target);
  return epoch > 0 ? std::to_string(epoch) : "-";
}

}  // namespace

std::string compare_markdown(const std::vector<CompareRow>& rows, double target) {
  std::ostringstream out;
  out << printf_string("| trial | optimizer | lr | final acc. | best acc. (epoch) | "
                       "epoch to %.1f%% | time | images/s | verdict |\n",
                       100 * target)
      << "|-------|-----------|---:|-----------:|------------------:|------:|-----:|-----:|---------|\n";
  for (const CompareRow* row : ranked(rows)) {
    const TrialResult& r = row->result;
    out << "| " << r.name << " | " << row->optimizer << " | " << rate_text(row->lr) << " | ";
    if (r.state == TrialState::failed) {
      out << "- | - | - | - | - | failed: " << r.error << " |\n";
      continue;
    }
    out << printf_string("%.2f%% | %.2f%% (%lld) | %s | %s | %.0f | %s |\n",
                         100 * r.final_accuracy, 100 * r.best_accuracy,
                         static_cast<long long>(r.best_epoch), reached(r, target).c_str(),
                         format_duration(r.seconds).c_str(), r.images_per_s,
                         row->verdict.c_str());
  }
  out << "\n";
  for (const CompareRow* row : ranked(rows))
    if (!row->diagnosis.empty()) out << "- **" << row->result.name << "**: " << row->diagnosis << "\n";
  return out.str();
}

std::string compare_csv(const std::vector<CompareRow>& rows, double target) {
  std::ostringstream out;
  out << "trial,optimizer,lr,state,final_accuracy,best_accuracy,best_epoch,epoch_to_target,"
         "target,seconds,images_per_s,verdict,error\n";
  // Text fields are quoted, with their quotes doubled (RFC 4180).
  const auto quoted = [](const std::string& s) {
    std::string q = "\"";
    for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (const CompareRow* row : ranked(rows)) {
    const TrialResult& r = row->result;
    out << r.name << "," << quoted(row->optimizer) << "," << rate_text(row->lr) << ","
        << quoted(trial_state_name(r.state))
        << printf_string(",%.6f,%.6f,%lld,%lld,%.6f,%.3f,%.2f,", r.final_accuracy,
                         r.best_accuracy, static_cast<long long>(r.best_epoch),
                         static_cast<long long>(epoch_reaching(r, target)), target, r.seconds,
                         r.images_per_s)
        << quoted(row->verdict) << "," << quoted(r.error) << "\n";
  }
  return out.str();
}

}  // namespace danlu::train
