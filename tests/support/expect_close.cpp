// Elementwise comparison with the suite's tolerance model.
#include "tests/support/expect_close.h"

#include <gtest/gtest.h>

#include <cmath>

namespace danlu::testing {

bool expect_close(const std::vector<double>& out, const std::vector<double>& ref, double atol,
                  double rtol, const std::string& what) {
  return expect_close(out, ref, std::vector<double>(ref.size(), atol), rtol, what);
}

bool expect_close(const std::vector<double>& out, const std::vector<double>& ref,
                  const std::vector<double>& atol, double rtol, const std::string& what) {
  if (out.size() != ref.size() || atol.size() != ref.size()) {
    ADD_FAILURE() << what << ": " << out.size() << " values vs " << ref.size() << " expected";
    return false;
  }
  int bad = 0;
  double max_diff = 0.0;
  size_t max_at = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double diff = std::abs(out[i] - ref[i]);
    const bool ok = diff <= atol[i] + rtol * std::abs(ref[i]);  // false for NaN too
    if (diff > max_diff || std::isnan(diff)) { max_diff = diff; max_at = i; }
    if (!ok && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: got " << out[i] << ", expected " << ref[i]
                    << " (atol " << atol[i] << ")";
  }
  if (bad)
    ADD_FAILURE() << what << ": " << bad << " of " << out.size()
                  << " values out of tolerance; largest difference " << max_diff << " at "
                  << max_at << " (atol " << (out.empty() ? 0.0 : atol[max_at]) << ", rtol "
                  << rtol << ")";
  return bad == 0;
}

bool expect_close(const Tensor& out, const Tensor& ref, double atol, double rtol,
                  const std::string& what) {
  if (out.shape() != ref.shape()) {
    ADD_FAILURE() << what << ": shape " << out.shape() << " vs expected " << ref.shape();
    return false;
  }
  return expect_close(out.to_vector(), ref.to_vector(), atol, rtol, what);
}

}  // namespace danlu::testing
