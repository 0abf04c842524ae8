// The batch gather of the GPU-resident loader (kernels/gather.h).
#include "kernels/gather.h"

#include "kernels/cuda/launch.cuh"

namespace danlu::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// Block (i, c) writes channel c of image i of the launch; its threads stride
// over the H x W pixels. Output pixel (y, x) is the flipped column
// x' = W - 1 - x (or x), which the crop takes from source pixel
// (y + top - padding, x' + left - padding), zero outside the image; then
// (v - mean) * inv_std, and the erase value inside the box. Thread 0 of
// channel 0 also copies the label.
__global__ void gather_kernel(GatherSource source, GatherBatch batch, float* out,
                              int64_t* out_labels) {
  const GatherImage im = batch.images[blockIdx.x];
  const int c = blockIdx.y;
  const int h = source.height, w = source.width;
  const int64_t plane = static_cast<int64_t>(h) * w;
  const uint8_t* src = source.images + (static_cast<int64_t>(im.index) * source.channels + c) * plane;
  float* dst = out + (static_cast<int64_t>(batch.first + blockIdx.x) * source.channels + c) * plane;
  const float mean = source.mean[c < kGatherChannels ? c : 0];
  const float inv = source.inv_std[c < kGatherChannels ? c : 0];
  for (int64_t p = threadIdx.x; p < plane; p += blockDim.x) {
    const int y = static_cast<int>(p / w), x = static_cast<int>(p % w);
    const int xf = im.flip ? w - 1 - x : x;
    const int sy = y + im.top - source.padding, sx = xf + im.left - source.padding;
    float v = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sy * w + sx] / 255.0f : 0.0f;
    if (source.normalize) v = (v - mean) * inv;
    if (y >= im.erase_top && y < im.erase_top + im.erase_height && x >= im.erase_left &&
        x < im.erase_left + im.erase_width)
      v = source.erase_value;
    dst[p] = v;
  }
  if (c == 0 && threadIdx.x == 0) out_labels[batch.first + blockIdx.x] = source.labels[im.index];
}

}  // namespace

void gather_batch(const GatherSource& source, const GatherBatch& batch, float* out,
                  int64_t* out_labels, Stream stream) {
  launch("gather_batch", gather_kernel,
         dim3(static_cast<unsigned>(batch.count), static_cast<unsigned>(source.channels)),
         dim3(kThreads), 0, stream, source, batch, out, out_labels);
}

}  // namespace danlu::kernels::cuda
