// Reading a run directory's metrics.jsonl in tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace danlu::testing {

// The "loss" of every step record, in order.
inline std::vector<double> step_losses(const std::filesystem::path& run) {
  std::vector<double> out;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json r = nlohmann::json::parse(line);
    if (r["kind"] == "step") out.push_back(r["loss"]);
  }
  return out;
}

}  // namespace danlu::testing
