// CUDA elementwise kernels against the CPU reference: binary ops on sizes
// that are and are not multiples of 4 through aligned pointers (float4 path
// and tail) and pointers one float off (scalar path), broadcasting on odd
// shapes, scale-shift, broadcast copies, permutations and the concat slabs;
// then the ops on CUDA tensors, backward included.
//
// Every output is one IEEE operation on its inputs (or a copy), rounded the
// same way on both sides (CUDA's / is correctly rounded, scale-shift rounds
// its product and sum separately as the CPU loop does), so the GPU must
// reproduce the CPU bit for bit.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "danlu.h"
#include "kernels/elementwise.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/gpu_parity.h"

namespace danlu {
namespace {

using kernels::BinaryOp;
using kernels::BroadcastIndex;
using testing::bitwise_equal;
using testing::DeviceBuffer;
using testing::padded;
using testing::tail;
using testing::uniform_floats;

kernels::Stream stream() { return compute_stream(Device::cuda()); }

const BinaryOp kOps[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div};
const char* kOpNames[] = {"add", "sub", "mul", "div"};
// 1 and 3 are all tail, 4 and 1024 all float4s, the rest both.
const int64_t kSizes[] = {1, 3, 4, 33, 1024, 1025, 65539};

// Divisors stay away from 0 so that quotients are ordinary numbers.
std::vector<float> operand_b(int64_t n, uint64_t seed, float scale) {
  std::vector<float> b = uniform_floats(n, seed, 0.5f * scale, 3.0f * scale);
  for (size_t i = 0; i < b.size(); i += 2) b[i] = -b[i];
  return b;
}

TEST(GpuElementwise, BinarySameShapeMatchesCpuBitForBit) {
  DANLU_REQUIRE_GPU();
  for (float scale : {1.0f, 1e18f})  // 1e18: products overflow to inf on both sides alike
    for (int k = 0; k < 4; ++k)
      for (int64_t n : kSizes)
        for (int offset : {0, 1}) {
          const std::vector<float> a = uniform_floats(n, 1 + n, -3.0f * scale, 3.0f * scale);
          const std::vector<float> b = operand_b(n, 2 + n, scale);
          std::vector<float> ref(n);
          kernels::cpu::binary(kOps[k], a.data(), b.data(), ref.data(), n);
          DeviceBuffer<float> da(padded(a, offset)), db(padded(b, offset)), dout(n + offset);
          kernels::cuda::binary(kOps[k], da.get() + offset, db.get() + offset,
                                dout.get() + offset, n, stream());
          EXPECT_TRUE(bitwise_equal(tail(dout.to_host(), offset), ref))
              << kOpNames[k] << " n=" << n << " offset=" << offset << " scale=" << scale;
        }
}

// More elements than the grid has threads (8192 blocks of 256), so threads
// loop, through both the float4 and the scalar path.
TEST(GpuElementwise, GridStrideLoopsMatchCpu) {
  DANLU_REQUIRE_GPU();
  const int64_t n = 4 * 8192 * 256 + 7;
  const std::vector<float> a = uniform_floats(n, 8, -3.0f, 3.0f);
  const std::vector<float> b = operand_b(n, 9, 1.0f);
  std::vector<float> ref(n);
  kernels::cpu::binary(BinaryOp::mul, a.data(), b.data(), ref.data(), n);
  for (int offset : {0, 1}) {
    DeviceBuffer<float> da(padded(a, offset)), db(padded(b, offset)), dout(n + offset);
    kernels::cuda::binary(BinaryOp::mul, da.get() + offset, db.get() + offset,
                          dout.get() + offset, n, stream());
    EXPECT_TRUE(bitwise_equal(tail(dout.to_host(), offset), ref)) << "offset " << offset;
  }
}

// The index binary_forward builds: the output's sizes and each operand's
// element strides in the output's frame (0 along broadcast dimensions).
BroadcastIndex broadcast_index(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                               const std::vector<int64_t>& out) {
  BroadcastIndex index;
  index.ndim = static_cast<int>(out.size());
  auto strides = [&](const std::vector<int64_t>& in, int64_t* s) {
    int64_t stride = 1;
    for (int d = index.ndim - 1; d >= 0; --d) {
      const int k = static_cast<int>(in.size()) - index.ndim + d;
      const int64_t size = k >= 0 ? in[k] : 1;
      s[d] = size == 1 ? 0 : stride;
      stride *= size;
    }
  };
  for (int d = 0; d < index.ndim; ++d) index.sizes[d] = out[d];
  strides(a, index.a_strides);
  strides(b, index.b_strides);
  return index;
}

int64_t product(const std::vector<int64_t>& s) {
  return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<int64_t>());
}

struct BroadcastCase {
  std::vector<int64_t> a, b, out;
};

const BroadcastCase kBroadcasts[] = {
    {{5, 1, 7}, {1, 3, 1}, {5, 3, 7}},                 // both operands broadcast
    {{2, 3, 4, 5}, {3, 1, 1}, {2, 3, 4, 5}},           // per-channel bias
    {{7}, {4, 7}, {4, 7}},                             // fewer dimensions
    {{1}, {6, 5}, {6, 5}},                             // a scalar
    {{3, 1, 129, 1}, {1, 5, 1, 3}, {3, 5, 129, 3}},    // odd sizes everywhere
    {{1, 33, 1}, {257, 1, 31}, {257, 33, 31}},         // 262,911 outputs
};

TEST(GpuElementwise, BinaryBroadcastMatchesCpuBitForBit) {
  DANLU_REQUIRE_GPU();
  for (const BroadcastCase& c : kBroadcasts)
    for (int k = 0; k < 4; ++k) {
      const int64_t n = product(c.out);
      const std::vector<float> a = uniform_floats(product(c.a), 3, -3.0f, 3.0f);
      const std::vector<float> b = operand_b(product(c.b), 4, 1.0f);
      const BroadcastIndex index = broadcast_index(c.a, c.b, c.out);
      std::vector<float> ref(n);
      kernels::cpu::binary_broadcast(kOps[k], a.data(), b.data(), ref.data(), n, index);
      DeviceBuffer<float> da(a), db(b), dout(n);
      kernels::cuda::binary_broadcast(kOps[k], da.get(), db.get(), dout.get(), n, index,
                                      stream());
      EXPECT_TRUE(bitwise_equal(dout.to_host(), ref)) << kOpNames[k] << " case out numel " << n;

      // broadcast_copy reads operand a the same way.
      std::vector<float> copy_ref(n);
      kernels::cpu::broadcast_copy(a.data(), copy_ref.data(), n, index);
      DeviceBuffer<float> dcopy(n);
      kernels::cuda::broadcast_copy(da.get(), dcopy.get(), n, index, stream());
      EXPECT_TRUE(bitwise_equal(dcopy.to_host(), copy_ref)) << "broadcast_copy numel " << n;
    }
}

TEST(GpuElementwise, ScaleShiftMatchesCpuBitForBit) {
  DANLU_REQUIRE_GPU();
  for (int64_t n : kSizes)
    for (float magnitude : {1.0f, 1e30f}) {
      const std::vector<float> x = uniform_floats(n, 5 + n, -magnitude, magnitude);
      std::vector<float> ref(n);
      kernels::cpu::scale_shift(x.data(), ref.data(), n, -0.37f, 1.5f);
      DeviceBuffer<float> dx(x), dy(n);
      kernels::cuda::scale_shift(dx.get(), dy.get(), n, -0.37f, 1.5f, stream());
      EXPECT_TRUE(bitwise_equal(dy.to_host(), ref)) << "n=" << n << " magnitude " << magnitude;
    }
}

struct PermuteCase {
  std::vector<int64_t> sizes;
  std::vector<int> perm;
};

const PermuteCase kPermutes[] = {
    {{2, 3, 4, 5}, {0, 1, 2, 3}},    // identity: collapses to one copy
    {{2, 3, 4, 5}, {3, 2, 1, 0}},    // reversal
    {{2, 3, 4, 5}, {0, 2, 3, 1}},    // NCHW -> NHWC
    {{7, 1, 33, 5}, {2, 0, 3, 1}},   // odd sizes with a size-1 dimension
    {{1}, {0}},                      // a single element
    {{64, 129, 65}, {0, 2, 1}},      // a batched transpose of odd matrices
    {{3, 2, 1, 2, 3, 2, 1, 5}, {7, 6, 5, 4, 3, 2, 1, 0}},  // eight dimensions
};

TEST(GpuElementwise, PermuteMatchesCpu) {
  DANLU_REQUIRE_GPU();
  for (const PermuteCase& c : kPermutes) {
    const int64_t n = product(c.sizes);
    const int ndim = static_cast<int>(c.sizes.size());
    const std::vector<float> x = uniform_floats(n, 6, -1.0f, 1.0f);
    std::vector<float> ref(n);
    kernels::cpu::permute(x.data(), ref.data(), ndim, c.sizes.data(), c.perm.data());
    DeviceBuffer<float> dx(x), dy(n);
    kernels::cuda::permute(dx.get(), dy.get(), ndim, c.sizes.data(), c.perm.data(), stream());
    EXPECT_TRUE(bitwise_equal(dy.to_host(), ref)) << "permute of " << n << " elements";
  }
}

TEST(GpuElementwise, SlabInsertAndExtractMatchCpu) {
  DANLU_REQUIRE_GPU();
  // (outer, rows_k, inner) parts concatenated along rows, outer 1 and 37.
  for (int64_t outer : {1, 37})
    for (int64_t inner : {1, 5, 1031}) {
      const std::vector<int64_t> rows = {3, 1, 8};
      const int64_t total = 12;
      std::vector<float> whole_ref(outer * total * inner, 0.0f);
      DeviceBuffer<float> dwhole(whole_ref.size());
      int64_t start = 0;
      for (size_t k = 0; k < rows.size(); ++k) {
        const std::vector<float> part = uniform_floats(outer * rows[k] * inner, 7 + k, -1, 1);
        kernels::cpu::slab_insert(part.data(), whole_ref.data(), outer, rows[k], inner, total,
                                  start);
        DeviceBuffer<float> dpart(part);
        kernels::cuda::slab_insert(dpart.get(), dwhole.get(), outer, rows[k], inner, total,
                                   start, stream());
        start += rows[k];
      }
      EXPECT_TRUE(bitwise_equal(dwhole.to_host(), whole_ref)) << "insert inner " << inner;
      start = 0;
      for (int64_t r : rows) {
        std::vector<float> part_ref(outer * r * inner);
        kernels::cpu::slab_extract(whole_ref.data(), part_ref.data(), outer, r, inner, total,
                                   start);
        DeviceBuffer<float> dpart(part_ref.size());
        kernels::cuda::slab_extract(dwhole.get(), dpart.get(), outer, r, inner, total, start,
                                    stream());
        EXPECT_TRUE(bitwise_equal(dpart.to_host(), part_ref)) << "extract inner " << inner;
        start += r;
      }
    }
}

// ---- ops on CUDA tensors ------------------------------------------------------------

std::vector<float> floats(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  return {v.begin(), v.end()};
}

Tensor leaf(const Shape& shape, uint64_t seed, Device device) {
  const std::vector<float> v = uniform_floats(shape.numel(), seed, 0.5f, 2.0f);
  return Tensor::from_vector(v, shape, TensorOptions().device(device).requires_grad());
}

// The same broadcast arithmetic on both devices, forward and backward. The
// elementwise steps agree bit for bit; the sums (the loss, and b's gradient
// summed over two broadcast dimensions in two passes) accumulate in double
// in different orders and round to float once per pass, so they differ by
// about one float rounding of each pass: rtol 2^-23 of the result, plus for
// b's gradient the rounding of a first-pass partial sum (|partial| < 20:
// 20 * 2^-24 ~ 1.2e-6, as atol 2e-6) that cancellation can leave behind.
TEST(GpuElementwiseOps, BroadcastArithmeticForwardAndBackwardMatchCpu) {
  DANLU_REQUIRE_GPU();
  Tensor a_cpu = leaf(Shape{4, 3, 5}, 11, Device::cpu());
  Tensor b_cpu = leaf(Shape{3, 1}, 12, Device::cpu());
  Tensor a_gpu = leaf(Shape{4, 3, 5}, 11, Device::cuda());
  Tensor b_gpu = leaf(Shape{3, 1}, 12, Device::cuda());
  auto f = [](const Tensor& a, const Tensor& b) {
    return sum((a + b) * (a - b) / b * 0.5 - a + 2.0);
  };
  Tensor y_cpu = f(a_cpu, b_cpu), y_gpu = f(a_gpu, b_gpu);
  EXPECT_TRUE(y_gpu.device().is_cuda());
  y_cpu.backward();
  y_gpu.backward();
  testing::expect_close_floats(floats(y_gpu), floats(y_cpu), 1e-7, 1.2e-7, "forward");
  testing::expect_close_floats(floats(a_gpu.grad()), floats(a_cpu.grad()), 1e-7, 1.2e-7, "da");
  testing::expect_close_floats(floats(b_gpu.grad()), floats(b_cpu.grad()), 2e-6, 1.2e-7, "db");
}

TEST(GpuElementwiseOps, PermuteAndConcatForwardAndBackwardMatchCpu) {
  DANLU_REQUIRE_GPU();
  Tensor x_cpu = leaf(Shape{2, 3, 5}, 21, Device::cpu());
  Tensor z_cpu = leaf(Shape{2, 4, 5}, 22, Device::cpu());
  Tensor x_gpu = leaf(Shape{2, 3, 5}, 21, Device::cuda());
  Tensor z_gpu = leaf(Shape{2, 4, 5}, 22, Device::cuda());
  Tensor w = Tensor::from_vector(uniform_floats(5 * 7 * 2, 23, -1.0f, 1.0f), Shape{5, 7, 2});
  auto f = [&](const Tensor& x, const Tensor& z) {
    Tensor c = concat({x, z}, 1).permute({2, 1, 0});  // (5, 7, 2)
    return c * w.to(x.device());
  };
  Tensor y_cpu = f(x_cpu, z_cpu), y_gpu = f(x_gpu, z_gpu);
  EXPECT_TRUE(bitwise_equal(floats(y_gpu), floats(y_cpu)));
  const Tensor g = Tensor::from_vector(uniform_floats(70, 24, -1.0f, 1.0f), Shape{5, 7, 2});
  y_cpu.backward(g);
  y_gpu.backward(g.to(Device::cuda()));
  EXPECT_TRUE(bitwise_equal(floats(x_gpu.grad()), floats(x_cpu.grad())));
  EXPECT_TRUE(bitwise_equal(floats(z_gpu.grad()), floats(z_cpu.grad())));
}

TEST(GpuElementwiseOps, F64OnCudaIsRejectedWithTheOpName) {
  DANLU_REQUIRE_GPU();
  Tensor a = Tensor::ones(Shape{2}, TensorOptions(DType::f64).device(Device::cuda()));
  try {
    (void)(a + a);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add: CUDA ops are f32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace danlu
