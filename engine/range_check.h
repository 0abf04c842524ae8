// The one range check for a number already read, whether it came from a JSON
// field (config, model or scheduler spec, optimizer options) or a C++ options
// struct: "<owner>.<field>: expected <what is allowed>, got <value>".
//
// A refusal is a FieldError, which keeps the owner and the field apart. The
// C++ API names the class that refused ("StepLR.gamma: expected a number > 0,
// got -1"); a reader that built that class from JSON catches the FieldError
// and names the JSON path instead ("scheduler.gamma: ...").
#pragma once

#include <string>

#include "engine/error.h"

namespace danlu {

class FieldError : public Error {
 public:
  // `owner` may be empty (a file's top-level key): the message then starts with `field`.
  FieldError(const std::string& owner, std::string field, std::string detail)
      : Error((owner.empty() ? "" : owner + ".") + field + ": " + detail),
        field_(std::move(field)),
        detail_(std::move(detail)) {}
  const std::string& field() const { return field_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string field_;
  std::string detail_;
};

// The shortest text that reads back as the same double ("0.1", "-1", "1e-05").
std::string format_number(double x);

// Throws FieldError(owner, field, "expected <expected>, got <got>") unless `ok`.
void check_range(bool ok, const std::string& owner, const std::string& field,
                 const std::string& expected, double got);
void check_range(bool ok, const std::string& owner, const std::string& field,
                 const std::string& expected, const std::string& got);

}  // namespace danlu
