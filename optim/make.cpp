// make_optimizer: the config's "type" picks the optimizer; every other key is
// one of its options, read and checked with the error path of the config.
#include "optim/make.h"

#include "optim/adadelta.h"
#include "optim/adagrad.h"
#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/rmsprop.h"
#include "optim/sgd.h"
#include "optim/swats.h"

namespace danlu::optim {

using nlohmann::json;

const std::vector<std::string>& optimizer_types() {
  static const std::vector<std::string> types = {"SGD",      "Adam",    "AdamW", "Adagrad",
                                                  "Adadelta", "RMSprop", "SWATS"};
  return types;
}

// Checks the options here, so errors carry `where`, then builds Opt (whose
// own checks then pass).
template <class Opt, class Options>
static std::unique_ptr<Optimizer> build(const json& config, std::vector<ParamGroup> groups,
                                        Options defaults, const std::string& where) {
  const Options options = options_from_json(config, defaults, where);
  options.check(where);
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string at = where + ".param_groups[" + std::to_string(g) + "]";
    options_from_json(groups[g].options, options, at).check(at);
  }
  return std::make_unique<Opt>(std::move(groups), options);
}

std::unique_ptr<Optimizer> make_optimizer(const json& config, std::vector<ParamGroup> groups,
                                          const std::string& where) {
  DANLU_CHECK(config.is_object(), where, ": expected an object such as ",
              R"({"type": "SGD", "lr": 0.1}, got )", config.dump());
  const json type = config.value("type", json());
  json options = config;
  options.erase("type");
  if (type == "SGD") {
    DANLU_CHECK(options.contains("lr"), where, ".lr: required for SGD (a number >= 0)");
    return build<SGD>(options, std::move(groups), SGDOptions(0.0), where);
  }
  if (type == "Adam") return build<Adam>(options, std::move(groups), AdamOptions(), where);
  if (type == "AdamW") return build<AdamW>(options, std::move(groups), AdamWOptions(), where);
  if (type == "Adagrad") return build<Adagrad>(options, std::move(groups), AdagradOptions(), where);
  if (type == "Adadelta")
    return build<Adadelta>(options, std::move(groups), AdadeltaOptions(), where);
  if (type == "RMSprop") return build<RMSprop>(options, std::move(groups), RMSpropOptions(), where);
  if (type == "SWATS") return build<SWATS>(options, std::move(groups), SWATSOptions(), where);
  std::string allowed;
  for (const std::string& t : optimizer_types()) allowed += (allowed.empty() ? "" : ", ") + t;
  DANLU_FAIL(where, ".type: expected one of ", allowed, ", got ",
             type.is_null() ? "nothing" : type.dump());
}

std::unique_ptr<Optimizer> make_optimizer(const json& config, std::vector<Tensor> params,
                                          const std::string& where) {
  return make_optimizer(config, std::vector<ParamGroup>{ParamGroup(std::move(params))}, where);
}

}  // namespace danlu::optim
