// One JSON object read key by key, for every reader of user JSON (model
// specs, scheduler specs, optimizer options, the resolved training config):
// typed getters whose one-line errors name the JSON path and what is allowed,
//   "model.layers[2].out_channels: expected an integer >= 1, got 0",
// and finish(), which refuses every key no getter asked for.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace danlu {

// "a, b, c", each name between `quote`s ("\"a\", \"b\"" with quote "\"").
std::string join_names(const std::vector<std::string>& names, const char* quote = "");

class JsonFields {
 public:
  // The lower bound of an integer that may be any int64.
  static constexpr int64_t kAny = std::numeric_limits<int64_t>::min();

  // `path` names the object in errors ("scheduler", "model.layers[2]"; ""
  // for a file's top level, whose keys are named alone); `owner` completes
  // "required by <owner> (...)" and "unknown key for <owner>"; `object` says
  // what a non-object was expected to be.
  JsonFields(const nlohmann::json& j, std::string path, std::string owner,
             const std::string& object = "an object");
  void set_owner(std::string owner) { owner_ = std::move(owner); }
  const std::string& owner() const { return owner_; }
  const std::string& path() const { return path_; }
  std::string path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  // The object at `key` read the same way, its keys named "<path>.<key>.<name>".
  JsonFields object(const std::string& key);

  // The raw value, or nullptr when absent; either way the key counts as known.
  const nlohmann::json* find(const std::string& key);
  // The raw value; absent, "<path>.<key>: required by <owner> (<expected>)".
  const nlohmann::json& require(const std::string& key, const std::string& expected);
  // "<path>.<key>: expected <expected>, got <got>".
  [[noreturn]] void fail(const std::string& key, const std::string& expected,
                         const nlohmann::json& got) const;

  // Getters without a fallback require the key.
  int64_t integer(const std::string& key, int64_t min);
  int64_t integer(const std::string& key, int64_t min, int64_t fallback);
  std::optional<int64_t> optional_integer(const std::string& key, int64_t min);
  double number(const std::string& key);
  // A number satisfying `ok` (described by `expected`), or `fallback` when absent.
  double number(const std::string& key, double fallback, const std::string& expected = "a number",
                const std::function<bool(double)>& ok = {});
  std::optional<double> optional_number(const std::string& key);
  bool boolean(const std::string& key);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key);
  std::string choice(const std::string& key, const std::vector<std::string>& allowed);
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  // A list of integers >= min (non-empty unless allow_empty); a bare integer
  // reads as a one-element list when `single` is true.
  std::vector<int64_t> integers(const std::string& key, int64_t min, bool single,
                                bool allow_empty = false);
  // A list of numbers, possibly empty.
  std::vector<double> numbers(const std::string& key);

  // Throws "<path>.<key>: <unknown>; expected one of <known keys>" for the
  // first key no getter asked for; `unknown` defaults to "unknown key for <owner>".
  void finish(const std::string& unknown = "") const;

 private:
  int64_t int_of(const std::string& key, const nlohmann::json& v, int64_t min) const;
  std::string choice_of(const std::string& key, const nlohmann::json& v,
                        const std::vector<std::string>& allowed) const;

  const nlohmann::json& j_;
  std::string path_;
  std::string owner_;
  std::vector<std::string> known_;  // in the order the getters asked
};

// "an integer", or "an integer >= min".
std::string integer_text(int64_t min);

}  // namespace danlu
