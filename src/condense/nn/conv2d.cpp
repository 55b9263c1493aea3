#include "condense/nn/conv2d.hpp"

#include <cstring>

#include "condense/core/error.hpp"
#include "condense/core/parallel.hpp"
#include "condense/nn/conv_kernels.hpp"

namespace condense {

namespace {

// Samples per block of the backward pass: fixed, so that the order of the gradient sums does not
// depend on the thread count.
constexpr int kSamplesPerChunk = 4;
// Largest patch cache a layer keeps for a whole batch, in bytes.
constexpr std::size_t kPatchCacheBytes = std::size_t{1} << 30;
// Patch sizes K up to this use conv_kernels for the weight gradient (measured on AVX2).
constexpr int kShallowPatch = 64;
// Rows of patch gradients per block of the direct input gradient: a block (rows × L) stays in L1.
constexpr int kGradientBlockRows = 24;

// Output columns ow whose input column ow·s − p + j lies in [0, W): ow in [begin, end), with
// begin = ⌈(p − j)/s⌉ (at least 0) and end = ⌈(W + p − j)/s⌉ (at most Wo).
int valid_begin(int offset, int s) { return offset <= 0 ? 0 : (offset + s - 1) / s; }
int valid_end(int limit, int s, int Wo) {
  return limit <= 0 ? 0 : std::min(Wo, (limit + s - 1) / s);
}

}  // namespace

template <class T>
void im2col(const ConvGeometry& g, const T* x, T* patches) {
  const int k = g.kernel, s = g.stride, p = g.padding;
  const int H = g.in_height, W = g.in_width, Ho = g.out_height(), Wo = g.out_width();
  for (int c = 0; c < g.in_channels; ++c) {
    const T* channel = x + std::size_t(c) * H * W;
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) {
        T* row = patches + (std::size_t(c * k + i) * k + j) * Ho * Wo;
        const int begin = valid_begin(p - j, s), end = valid_end(W + p - j, s, Wo);
        for (int oh = 0; oh < Ho; ++oh) {
          const int ih = oh * s - p + i;
          T* out = row + std::size_t(oh) * Wo;
          if (ih < 0 || ih >= H) {
            std::fill(out, out + Wo, T(0));
            continue;
          }
          const T* in = channel + std::size_t(ih) * W + (j - p);
          std::fill(out, out + begin, T(0));
          if (s == 1) {
            std::copy(in + begin, in + end, out + begin);
          } else {
            for (int ow = begin; ow < end; ++ow) out[ow] = in[ow * s];
          }
          std::fill(out + end, out + Wo, T(0));
        }
      }
    }
  }
}

template <class T>
void col2im_add(const ConvGeometry& g, const T* patch_grads, T* dx) {
  const int k = g.kernel, s = g.stride, p = g.padding;
  const int H = g.in_height, W = g.in_width, Ho = g.out_height(), Wo = g.out_width();
  for (int c = 0; c < g.in_channels; ++c) {
    T* channel = dx + std::size_t(c) * H * W;
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) {
        const T* row = patch_grads + (std::size_t(c * k + i) * k + j) * Ho * Wo;
        const int begin = valid_begin(p - j, s), end = valid_end(W + p - j, s, Wo);
        for (int oh = 0; oh < Ho; ++oh) {
          const int ih = oh * s - p + i;
          if (ih < 0 || ih >= H) continue;
          const T* in = row + std::size_t(oh) * Wo;
          T* out = channel + std::size_t(ih) * W + (j - p);
          for (int ow = begin; ow < end; ++ow) out[ow * s] += in[ow];
        }
      }
    }
  }
}

template <class T>
Conv2d<T>::Conv2d(std::string name, FeatureShape input, int out_channels, int kernel, int stride,
                  int padding, bool bias)
    : Layer<T>(std::move(name), input, {}), bias_(bias) {
  const std::string& n = this->name_;
  if (out_channels <= 0) fail_input("{}: channels must be at least 1, got {}", n, out_channels);
  if (kernel <= 0) fail_input("{}: kernel must be at least 1, got {}", n, kernel);
  if (stride <= 0) fail_input("{}: stride must be at least 1, got {}", n, stride);
  if (padding < 0) fail_input("{}: padding must be 0 or more, got {}", n, padding);
  if (input.channels <= 0) fail_input("{}: input has {} channels", n, input.channels);
  if (kernel > input.height + 2 * padding || kernel > input.width + 2 * padding)
    fail_input("{}: kernel {} is larger than the padded input {}x{} (input {}x{}, padding {})", n,
               kernel, input.height + 2 * padding, input.width + 2 * padding, input.height,
               input.width, padding);
  g_ = {input.channels, out_channels, kernel, stride, padding, input.height, input.width};
  this->output_ = {out_channels, g_.out_height(), g_.out_width()};
  // Shallow stride-1 layers (first layers) read their patches in place from the padded sample,
  // which sits in L1, where a patch matrix streamed 27 rows 4 KB apart from memory. Deep layers
  // read theirs from the phase planes (L2) too, where a kept patch matrix was k·k times the
  // input's size, written in forward and read back from memory in backward.
  deep_ = g_.patch_size() > kShallowPatch;
  direct_ = deep_ || stride == 1;
  if (direct_) {
    offsets_ = direct_offsets(g_);
    positions_ = conv_kernels::DirectPositions::make<T>(g_.out_height(), g_.out_width(),
                                                        direct_row_step(g_));
    keep_patches_ = false;
  }
}

int plane_width(const ConvGeometry& g) {
  return (g.in_width + 2 * g.padding + g.stride - 1) / g.stride;
}

std::int64_t plane_size(const ConvGeometry& g) {
  return std::int64_t(g.in_channels) * (g.in_height + 2 * g.padding) * g.stride * plane_width(g);
}

int direct_row_step(const ConvGeometry& g) { return g.stride * g.stride * plane_width(g); }

template <class T>
void pad_input(const ConvGeometry& g, const T* x, T* xp) {
  const int H = g.in_height, W = g.in_width, p = g.padding, s = g.stride, Hp = H + 2 * p;
  const int Ws = plane_width(g);
  const std::int64_t row = std::int64_t(s) * Ws;  // one padded row: its s phases
  for (int c = 0; c < g.in_channels; ++c) {
    T* channel = xp + std::int64_t(c) * Hp * row;
    std::fill(channel, channel + p * row, T(0));
    for (int y = 0; y < H; ++y) {
      const T* in = x + (std::int64_t(c) * H + y) * W;
      T* out = channel + (y + p) * row;
      if (s == 1) {
        std::fill(out, out + p, T(0));
        std::copy(in, in + W, out + p);
        std::fill(out + p + W, out + Ws, T(0));
        continue;
      }
      if (s == 2) {
        // Input column w is padded column w + p: phase (w + p) mod 2, index ⌊(w + p)/2⌋. One
        // loop over column pairs, which the compiler turns into vector de-interleaving.
        std::fill(out, out + row, T(0));
        T* even = out + (p & 1) * Ws + p / 2;
        T* odd = out + ((p + 1) & 1) * Ws + (p + 1) / 2;
        for (int v = 0; v < W / 2; ++v) {
          even[v] = in[2 * v];
          odd[v] = in[2 * v + 1];
        }
        if (W & 1) even[W / 2] = in[W - 1];
        continue;
      }
      // Phase f holds padded columns f, f + s, …, i.e. input columns u·s + f − p; those outside
      // [0, W) are zero.
      for (int f = 0; f < s; ++f) {
        T* phase = out + std::int64_t(f) * Ws;
        const int begin = valid_begin(p - f, s), end = valid_end(W + p - f, s, Ws);
        const T* column = in + (f - p);
        std::fill(phase, phase + begin, T(0));
        for (int u = begin; u < end; ++u) phase[u] = column[u * s];
        std::fill(phase + std::max(begin, end), phase + Ws, T(0));
      }
    }
    std::fill(channel + (H + p) * row, channel + Hp * row, T(0));
  }
}

template <class T>
void unpad_input(const ConvGeometry& g, const T* xp, T* x) {
  const int H = g.in_height, W = g.in_width, p = g.padding, s = g.stride, Hp = H + 2 * p;
  const int Ws = plane_width(g);
  const std::int64_t row = std::int64_t(s) * Ws;
  for (int c = 0; c < g.in_channels; ++c)
    for (int y = 0; y < H; ++y) {
      const T* in = xp + (std::int64_t(c) * Hp + y + p) * row;
      T* out = x + (std::int64_t(c) * H + y) * W;
      if (s == 1) {
        std::copy(in + p, in + p + W, out);
        continue;
      }
      if (s == 2) {  // as in pad_input
        const T* even = in + (p & 1) * Ws + p / 2;
        const T* odd = in + ((p + 1) & 1) * Ws + (p + 1) / 2;
        for (int v = 0; v < W / 2; ++v) {
          out[2 * v] = even[v];
          out[2 * v + 1] = odd[v];
        }
        if (W & 1) out[W - 1] = even[W / 2];
        continue;
      }
      for (int f = 0; f < s; ++f) {
        const T* phase = in + std::int64_t(f) * Ws;
        T* column = out + (f - p);
        const int end = valid_end(W + p - f, s, Ws);
        for (int u = valid_begin(p - f, s); u < end; ++u) column[u * s] = phase[u];
      }
    }
}

std::vector<int> direct_offsets(const ConvGeometry& g) {
  const int Hp = g.in_height + 2 * g.padding, s = g.stride, Ws = plane_width(g);
  std::vector<int> offsets;
  for (int c = 0; c < g.in_channels; ++c)
    for (int i = 0; i < g.kernel; ++i)
      for (int j = 0; j < g.kernel; ++j) offsets.push_back(((c * Hp + i) * s + j % s) * Ws + j / s);
  return offsets;
}

template <class T>
std::string Conv2d<T>::describe() const {
  return fmt::format("{}: Conv2d({} -> {}, kernel {}, stride {}, padding {}, bias {}) {} -> {}",
                     this->name_, g_.in_channels, g_.out_channels, g_.kernel, g_.stride,
                     g_.padding, bias_ ? "yes" : "no", to_string(this->input_),
                     to_string(this->output_));
}

template <class T>
void Conv2d<T>::declare(ParameterStore<T>& store) {
  const int k2 = g_.kernel * g_.kernel;
  weight_id_ = store.add(this->name_, false, {g_.out_channels, g_.in_channels, g_.kernel, g_.kernel},
                         g_.in_channels * k2, g_.out_channels * k2);
  if (bias_)
    bias_id_ = store.add(this->name_, true, {g_.out_channels}, g_.in_channels * k2,
                         g_.out_channels * k2);
}

template <class T>
int Conv2d<T>::group_channels() const {
  return std::max(1, kGradientBlockRows / (g_.kernel * g_.kernel));
}

template <class T>
std::size_t Conv2d<T>::input_slot() const {
  const std::size_t KL = std::size_t(g_.patch_size()) * g_.positions();
  return direct_ ? std::size_t(plane_size(g_)) : KL;
}

template <class T>
std::size_t Conv2d<T>::grad_slot() const {
  const std::size_t L = std::size_t(g_.positions());
  if (!direct_) return std::size_t(g_.patch_size()) * L;
  const std::size_t block = std::size_t(group_channels()) * g_.kernel * g_.kernel * L;
  const std::size_t transposed =
      deep_ ? L * std::size_t(conv_kernels::transposed_stride<T>(g_.out_channels)) : 0;
  return std::size_t(plane_size(g_)) + block + transposed;
}

template <class T>
std::size_t Conv2d<T>::cache_bytes(int batch) const {
  const std::size_t KL = std::size_t(g_.patch_size()) * g_.positions();
  const std::size_t threads = std::size_t(thread_count());
  const std::size_t chunks = std::size_t((batch + kSamplesPerChunk - 1) / kSamplesPerChunk);
  std::size_t values = threads * (input_slot() + grad_slot() + std::size_t(this->output_.size())) +
                       chunks * std::size_t(g_.out_channels) * (g_.patch_size() + 1);
  if (keep_patches_ && std::size_t(batch) * KL * sizeof(T) <= kPatchCacheBytes)
    values += std::size_t(batch) * KL;
  return values * sizeof(T);
}

template <class T>
void Conv2d<T>::reserve(int batch) {
  const std::size_t KL = std::size_t(g_.patch_size()) * g_.positions();
  const std::size_t threads = std::size_t(thread_count());
  capacity_ = batch;
  if (keep_patches_ && std::size_t(batch) * KL * sizeof(T) <= kPatchCacheBytes) {
    batch_patches_.assign(std::size_t(batch) * KL, T(0));
  } else {
    batch_patches_.clear();
  }
  batch_patches_valid_ = false;
  thread_patches_.assign(threads * input_slot(), T(0));
  thread_patch_grads_.assign(threads * grad_slot(), T(0));
  const std::size_t chunks = std::size_t((batch + kSamplesPerChunk - 1) / kSamplesPerChunk);
  chunk_grads_.assign(chunks * std::size_t(g_.out_channels) * (g_.patch_size() + 1), T(0));
}

template <class T>
const T* Conv2d<T>::sample_patches(const T* x, int n, T* scratch) const {
  const std::size_t KL = std::size_t(g_.patch_size()) * g_.positions();
  if (!batch_patches_.empty()) return batch_patches_.data() + std::size_t(n) * KL;
  im2col(g_, x + std::size_t(n) * this->input_.size(), scratch);
  return scratch;
}

template <class T>
const T* Conv2d<T>::batch_patches(const T* x, int N, bool same_input) {
  if (N > capacity_) reserve(N);
  if (batch_patches_.empty()) return nullptr;
  if (!(same_input && batch_patches_valid_)) {
    const std::size_t KL = std::size_t(g_.patch_size()) * g_.positions();
    parallel_for(N, [&](std::int64_t n) {
      im2col(g_, x + std::size_t(n) * this->input_.size(), batch_patches_.data() + n * KL);
    }, std::int64_t(N) * KL);
    batch_patches_valid_ = true;
  }
  return batch_patches_.data();
}

template <class T>
void Conv2d<T>::forward(ParameterStore<T>& store, const T* x, T* y, int N, bool same_input) {
  forward_impl(store, x, y, nullptr, N, same_input, nullptr);
}

template <class T>
void Conv2d<T>::forward_activated(ParameterStore<T>& store, const T* x, T* z, T* h, int N,
                                  bool same_input, const Activation& activation) {
  reserve_thread_outputs();
  forward_impl(store, x, z, h, N, same_input, &activation);
}

template <class T>
void Conv2d<T>::reserve_thread_outputs() {
  // Made on the first fused call, and again only if the thread count grew.
  const std::size_t slots = std::size_t(thread_count()) * this->output_.size();
  if (thread_outputs_.size() < slots) thread_outputs_.assign(slots, T(0));
}

template <class T>
T* Conv2d<T>::activation_scratch() {
  return thread_outputs_.data() + std::size_t(thread_index()) * this->output_.size();
}

template <class T>
void Conv2d<T>::forward_impl(ParameterStore<T>& store, const T* x, T* z, T* h, int N,
                             bool same_input, const Activation* activation) {
  // reserve() sized the per-thread scratch for the thread count of its time, which may have grown.
  const std::size_t thread_slots = std::size_t(thread_count()) * grad_slot();
  if (N > capacity_ || thread_patch_grads_.size() < thread_slots) reserve(std::max(N, capacity_));
  const int M = g_.out_channels, K = g_.patch_size(), L = g_.positions();
  const std::size_t KL = std::size_t(K) * L, ML = std::size_t(M) * L;
  const bool reuse = same_input && batch_patches_valid_ && !batch_patches_.empty();
  const T* weight = store.value(weight_id_);
  const T* bias = bias_ ? store.value(bias_id_) : nullptr;
  parallel_for(N, [&](std::int64_t n) {
    T* zn = z ? z + std::size_t(n) * ML : activation_scratch();
    if (direct_) {
      T* planes = thread_patches_.data() + std::size_t(thread_index()) * input_slot();
      pad_input(g_, x + std::size_t(n) * this->input_.size(), planes);
      conv_kernels::multiply_direct<T>(M, K, positions_, weight, offsets_.data(), planes, zn, L,
                                       bias);
    } else {
      T* scratch = thread_patches_.data() + std::size_t(thread_index()) * input_slot();
      const T* patches;
      if (batch_patches_.empty()) {
        im2col(g_, x + std::size_t(n) * this->input_.size(), scratch);
        patches = scratch;
      } else {
        T* kept = batch_patches_.data() + std::size_t(n) * KL;
        if (!reuse) im2col(g_, x + std::size_t(n) * this->input_.size(), kept);
        patches = kept;
      }
      conv_kernels::multiply<T>(M, K, L, weight, K, 1, patches, L, zn, L, bias, false);
    }
    if (activation) activation_forward(*activation, zn, h + std::size_t(n) * ML, ML);
  }, std::int64_t(N) * M * K * L);
  batch_patches_valid_ = !batch_patches_.empty();
}

template <class T>
void Conv2d<T>::backward(ParameterStore<T>& store, const T* x, const T* y, const T* dy, T* dx,
                         int N) {
  backward_impl(store, x, nullptr, nullptr, dy, dx, N, nullptr);
}

template <class T>
void Conv2d<T>::backward_activated(ParameterStore<T>& store, const T* x, const T* z, const T* h,
                                   const T* dh, T* dx, int N, const Activation& activation) {
  reserve_thread_outputs();
  backward_impl(store, x, z, h, dh, dx, N, &activation);
}

template <class T>
void Conv2d<T>::backward_impl(ParameterStore<T>& store, const T* x, const T* z, const T* h,
                              const T* dy, T* dx, int N, const Activation* activation) {
  const int M = g_.out_channels, K = g_.patch_size(), L = g_.positions();
  const std::size_t chunk_size = std::size_t(M) * (K + 1);
  const std::int64_t chunks = (N + kSamplesPerChunk - 1) / kSamplesPerChunk;
  const T* weight = store.value(weight_id_);
  const int Ho = g_.out_height(), Wo = g_.out_width(), row_step = direct_row_step(g_);
  const std::int64_t ldt = conv_kernels::transposed_stride<T>(M);
  parallel_for(chunks, [&](std::int64_t c) {
    const int t = thread_index();
    T* scratch = thread_patches_.data() + std::size_t(t) * input_slot();
    T* grad_scratch = thread_patch_grads_.data() + std::size_t(t) * grad_slot();
    MatrixMap<T> dW(chunk_grads_.data() + std::size_t(c) * chunk_size, M, K);
    VectorMap<T> db(chunk_grads_.data() + std::size_t(c) * chunk_size + std::size_t(M) * K, M);
    dW.setZero();
    db.setZero();
    const int end = std::min<int>(N, int(c + 1) * kSamplesPerChunk);
    for (int n = int(c) * kSamplesPerChunk; n < end; ++n) {
      const std::size_t ML = std::size_t(M) * L, at = std::size_t(n) * ML;
      const T* dZ = dy + at;
      if (activation) {
        T* made = activation_scratch();
        activation_backward(*activation, z ? z + at : nullptr, h + at, dy + at, made, ML);
        dZ = made;
      }
      if (direct_) pad_input(g_, x + std::size_t(n) * this->input_.size(), scratch);
      if (deep_) {
        // Deep patches: lanes over output channels, each weight's sum in position order (as
        // Eigen's packed product summed it before), without a patch matrix to pack.
        T* dZt = grad_scratch + plane_size(g_) + group_channels() * g_.kernel * g_.kernel * L;
        conv_kernels::transpose_padded<T>(M, L, dZ, dZt, ldt);
        conv_kernels::multiply_add_transposed_in_order<T>(M, K, positions_, dZt, ldt,
                                                          offsets_.data(), scratch, dW.data());

      } else if (direct_) {
        conv_kernels::multiply_add_transposed_direct<T>(M, K, positions_, L, dZ, offsets_.data(),
                                                        scratch, dW.data());
      } else {
        conv_kernels::multiply_add_transposed<T>(M, K, L, dZ, L, sample_patches(x, n, scratch), L,
                                                 dW.data(), K);
      }
      // Plain sums over positions in order, not dZ.rowwise().sum(): Eigen starts that sum's
      // vector part at the first aligned element, so its rounding would depend on where dy sits
      // in memory. Eight channels at a time: eight independent chains instead of one.
      if (bias_) {
        int m = 0;
        for (; m + 8 <= M; m += 8) {
          T sums[8] = {};
          for (int q = 0; q < L; ++q)
            for (int j = 0; j < 8; ++j) sums[j] += dZ[std::size_t(m + j) * L + q];
          for (int j = 0; j < 8; ++j) db[m + j] += sums[j];
        }
        for (; m < M; ++m) {
          T sum = 0;
          for (int q = 0; q < L; ++q) sum += dZ[std::size_t(m) * L + q];
          db[m] += sum;
        }
      }
      if (!dx) continue;
      T* dxn = dx + std::size_t(n) * this->input_.size();
      if (!direct_) {
        // dP (K × L) = Wᵀ dZ, Wᵀ read in place.
        T* dP = grad_scratch;
        conv_kernels::multiply<T>(K, M, L, weight, 1, K, dZ, L, dP, L, nullptr, false);
        std::fill(dxn, dxn + this->input_.size(), T(0));
        col2im_add(g_, dP, dxn);
        continue;
      }
      // The same sums as col2im_add on dP = Wᵀ dZ: each dx element adds its dP entries in (i, j)
      // order from 0. dP is made a block of input channels at a time (in L1) and added into
      // phase planes, where a patch row is contiguous at any stride; contributions that fall on
      // the padding are dropped with it.
      T* dxp = grad_scratch;
      T* dP = grad_scratch + plane_size(g_);
      std::fill(dxp, dxp + plane_size(g_), T(0));
      const int k2 = g_.kernel * g_.kernel, G = group_channels();
      for (int c0 = 0; c0 < g_.in_channels; c0 += G) {
        const int rows = std::min(G, g_.in_channels - c0) * k2, d0 = c0 * k2;
        conv_kernels::multiply<T>(rows, M, L, weight + d0, 1, K, dZ, L, dP, L, nullptr, false);
        for (int r = 0; r < rows; ++r) {
          const T* grads = dP + std::size_t(r) * L;
          T* plane = dxp + offsets_[d0 + r];
          for (int oh = 0; oh < Ho; ++oh) {
            T* out = plane + std::int64_t(oh) * row_step;
            const T* in = grads + std::int64_t(oh) * Wo;
            for (int ow = 0; ow < Wo; ++ow) out[ow] += in[ow];
          }
        }
      }
      unpad_input(g_, dxp, dxn);
    }
  }, std::int64_t(N) * M * K * L * (dx ? 2 : 1));
  // Sum the chunks in order.
  T* dW = store.grad(weight_id_);
  T* db = bias_ ? store.grad(bias_id_) : nullptr;
  parallel_blocks(std::int64_t(M) * (K + 1), 256, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = 0; c < chunks; ++c) {
      const T* partial = chunk_grads_.data() + std::size_t(c) * chunk_size;
      for (std::int64_t i = begin; i < end; ++i) {
        if (i < std::int64_t(M) * K) dW[i] += partial[i];
        else if (db) db[i - std::int64_t(M) * K] += partial[i];
      }
    }
  }, chunks * M * (K + 1));
}

template class Conv2d<float>;
template class Conv2d<double>;
template void pad_input<float>(const ConvGeometry&, const float*, float*);
template void pad_input<double>(const ConvGeometry&, const double*, double*);
template void unpad_input<float>(const ConvGeometry&, const float*, float*);
template void unpad_input<double>(const ConvGeometry&, const double*, double*);
template void im2col<float>(const ConvGeometry&, const float*, float*);
template void im2col<double>(const ConvGeometry&, const double*, double*);
template void col2im_add<float>(const ConvGeometry&, const float*, float*);
template void col2im_add<double>(const ConvGeometry&, const double*, double*);

}  // namespace condense
