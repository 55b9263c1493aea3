#include "condense/nn/conv_readout.hpp"

#include "condense/core/parallel.hpp"
#include "condense/nn/conv_kernels.hpp"

namespace condense {

namespace {

// Samples per chunk of the backward pass: fixed, so that the order of the gradient sums does not
// depend on the thread count. Each chunk keeps a partial readout gradient of M·L values per
// output, so chunks are larger than the conv layer's.
constexpr int kSamplesPerChunk = 8;

// n rounded up to a whole number of 64-byte lines.
template <class T>
std::size_t padded(std::int64_t n) {
  constexpr std::int64_t line = 64 / sizeof(T);
  return std::size_t((n + line - 1) / line * line);
}

}  // namespace

template <class T>
ConvReadout<T>::ConvReadout(Conv2d<T>& conv, ActivationLayer<T>& activation, Linear<T>& readout)
    : conv_(conv), activation_(activation), readout_(readout) {
  keeps_z_ = !activation.activation().derivative_from_output();
  const ConvGeometry& g = conv_.geometry();
  // Stride 1: the patches are read in place from the zero-padded sample (conv_kernels.hpp),
  // which sits in L1 where a patch matrix would not.
  direct_ = g.stride == 1;
  if (direct_) {
    const int Hp = g.in_height + 2 * g.padding, Wp = g.in_width + 2 * g.padding;
    for (int c = 0; c < g.in_channels; ++c)
      for (int i = 0; i < g.kernel; ++i)
        for (int j = 0; j < g.kernel; ++j) offsets_.push_back((c * Hp + i) * Wp + j);
    positions_ = conv_kernels::DirectPositions::make<T>(g.out_height(), g.out_width(), Wp);
  }
}

template <class T>
void ConvReadout<T>::pad(const T* x, T* xp) const {
  // x: (C, H, W) → xp: (C, H + 2p, W + 2p) with a zero border; every element is written.
  const ConvGeometry& g = conv_.geometry();
  const int H = g.in_height, W = g.in_width, p = g.padding, Hp = H + 2 * p, Wp = W + 2 * p;
  for (int c = 0; c < g.in_channels; ++c) {
    T* channel = xp + std::int64_t(c) * Hp * Wp;
    std::fill(channel, channel + std::int64_t(p) * Wp, T(0));
    for (int y = 0; y < H; ++y) {
      T* row = channel + std::int64_t(y + p) * Wp;
      std::fill(row, row + p, T(0));
      std::copy(x + (std::int64_t(c) * H + y) * W, x + (std::int64_t(c) * H + y + 1) * W, row + p);
      std::fill(row + p + W, row + Wp, T(0));
    }
    std::fill(channel + std::int64_t(H + p) * Wp, channel + std::int64_t(Hp) * Wp, T(0));
  }
}

template <class T>
void ConvReadout<T>::reserve_scratch() {
  // Sized when the thread count grows, outside the parallel regions.
  if (thread_count() <= slots_) return;
  slots_ = thread_count();
  const ConvGeometry& g = conv_.geometry();
  slot_size_ = padded<T>(std::int64_t(g.patch_size()) * g.positions()) +
               2 * padded<T>(std::int64_t(g.out_channels) * g.positions());
  thread_scratch_.assign(std::size_t(slots_) * slot_size_, T(0));
}

template <class T>
void ConvReadout<T>::forward(ParameterStore<T>& store, const T* x, T* z, T* h, T* f, int N,
                             bool same_input) {
  reserve_scratch();
  const ConvGeometry& g = conv_.geometry();
  const int M = g.out_channels, K = g.patch_size(), L = g.positions();
  const int outputs = readout_.output_shape().channels;
  const std::int64_t ML = std::int64_t(M) * L, KL = std::int64_t(K) * L;
  patches_ = direct_ ? nullptr : conv_.batch_patches(x, N, same_input);
  const T* weight = store.value(conv_.weight_id());
  ConstMatrixMap<T> readout(store.value(readout_.weight_id()), outputs, ML);
  const T* bias = conv_.has_bias() ? store.value(conv_.bias_id()) : nullptr;
  const T* readout_bias = readout_.has_bias() ? store.value(readout_.bias_id()) : nullptr;
  const Activation& activation = activation_.activation();
  const int Ho = g.out_height(), Wo = g.out_width(), Wp = g.in_width + 2 * g.padding;
  parallel_for(
      N,
      [&](std::int64_t n) {
        T* scratch = thread_scratch_.data() + std::size_t(thread_index()) * slot_size_;
        // z stays in the thread's scratch unless backward needs it (σ' not a function of h).
        T* zn = keeps_z_ ? z + n * ML : scratch + padded<T>(KL);
        if (direct_) {
          pad(x + n * conv_.input_shape().size(), scratch);
          conv_kernels::multiply_direct<T>(M, K, Ho, Wo, Wp, weight, offsets_.data(), scratch, zn,
                                           bias);
        } else {
          const T* patches = patches_ ? patches_ + n * KL : nullptr;
          if (!patches) {
            im2col(g, x + n * conv_.input_shape().size(), scratch);
            patches = scratch;
          }
          conv_kernels::multiply<T>(M, K, L, weight, K, 1, patches, L, zn, L, bias, false);
        }
        activation_forward(activation, zn, h + n * ML, std::size_t(ML));
        VectorMap<T> out(f + n * outputs, outputs);
        out.noalias() = readout * ConstVectorMap<T>(h + n * ML, ML);
        if (readout_bias) out += ConstVectorMap<T>(readout_bias, outputs);
      },
      std::int64_t(N) * M * K * L);
}

template <class T>
void ConvReadout<T>::backward(ParameterStore<T>& store, const T* x, const T* z, const T* h,
                              const T* df, int N) {
  reserve_scratch();
  const ConvGeometry& g = conv_.geometry();
  const int M = g.out_channels, K = g.patch_size(), L = g.positions();
  const int outputs = readout_.output_shape().channels;
  const std::int64_t ML = std::int64_t(M) * L, KL = std::int64_t(K) * L;
  // One chunk's partial gradients: conv weight, conv bias, readout weight, readout bias.
  const std::int64_t conv_size = std::int64_t(M) * K, readout_size = outputs * ML;
  const std::int64_t chunk_size = conv_size + M + readout_size + outputs;
  const std::int64_t chunks = (N + kSamplesPerChunk - 1) / kSamplesPerChunk;
  if (chunk_grads_.size() < std::size_t(chunks * chunk_size))
    chunk_grads_.resize(std::size_t(chunks * chunk_size));
  ConstMatrixMap<T> readout(store.value(readout_.weight_id()), outputs, ML);
  const Activation& activation = activation_.activation();
  parallel_for(
      chunks,
      [&](std::int64_t c) {
        T* scratch = thread_scratch_.data() + std::size_t(thread_index()) * slot_size_;
        T* dh = scratch + padded<T>(KL);
        T* dz = dh + padded<T>(ML);
        T* partial = chunk_grads_.data() + c * chunk_size;
        MatrixMap<T> dW(partial, M, K);
        VectorMap<T> db(partial + conv_size, M);
        MatrixMap<T> dA(partial + conv_size + M, outputs, ML);
        VectorMap<T> dc(partial + conv_size + M + readout_size, outputs);
        const std::int64_t begin = c * kSamplesPerChunk;
        const std::int64_t end = std::min<std::int64_t>(N, (c + 1) * kSamplesPerChunk);
        // A single output writes its dA partial at the chunk's first sample; only the rest is
        // zeroed.
        const bool single = outputs == 1;
        std::fill(partial, partial + conv_size + M, T(0));
        std::fill(partial + conv_size + M + (single ? readout_size : 0), partial + chunk_size,
                  T(0));
        for (std::int64_t n = begin; n < end; ++n) {
          const T* zn = keeps_z_ ? z + n * ML : nullptr;
          ConstVectorMap<T> dfn(df + n * outputs, outputs);
          if (single) {
            // dH = a·df, dZ = σ'(Z) ⊙ dH and dA += df·H in one sweep over the sample.
            activation_backward_readout(activation, zn, h + n * ML, readout.data(), df[n], dz,
                                        dA.data(), n == begin, std::size_t(ML));
          } else {
            ConstVectorMap<T> hn(h + n * ML, ML);
            VectorMap<T>(dh, ML).noalias() = readout.transpose() * dfn;
            activation_backward(activation, zn, h + n * ML, dh, dz, std::size_t(ML));
            dA.noalias() += dfn * hn.transpose();
          }
          dc += dfn;
          if (direct_) {
            pad(x + n * conv_.input_shape().size(), scratch);
            conv_kernels::multiply_add_transposed_direct<T>(M, K, positions_, L, dz,
                                                            offsets_.data(), scratch, dW.data());
          } else {
            const T* patches = patches_ ? patches_ + n * KL : nullptr;
            if (!patches) {
              im2col(g, x + n * conv_.input_shape().size(), scratch);
              patches = scratch;
            }
            conv_kernels::multiply_add_transposed<T>(M, K, L, dz, L, patches, L, dW.data(), K);
          }
          if (conv_.has_bias())
            for (int m = 0; m < M; ++m) {
              const T* row = dz + std::int64_t(m) * L;
              T sum = 0;
              for (int q = 0; q < L; ++q) sum += row[q];
              db[m] += sum;
            }
        }
      },
      std::int64_t(N) * M * K * L);

  // Sum the chunks in order, each segment into its gradient.
  auto sum_chunks = [&](std::int64_t offset, std::int64_t size, T* grad) {
    parallel_blocks(
        size, 4096,
        [&](std::int64_t begin, std::int64_t stop) {
          for (std::int64_t c = 0; c < chunks; ++c) {
            const T* partial = chunk_grads_.data() + c * chunk_size + offset;
            for (std::int64_t i = begin; i < stop; ++i) grad[i] += partial[i];
          }
        },
        chunks * size);
  };
  sum_chunks(0, conv_size, store.grad(conv_.weight_id()));
  if (conv_.has_bias()) sum_chunks(conv_size, M, store.grad(conv_.bias_id()));
  sum_chunks(conv_size + M, readout_size, store.grad(readout_.weight_id()));
  if (readout_.has_bias())
    sum_chunks(conv_size + M + readout_size, outputs, store.grad(readout_.bias_id()));
}

template class ConvReadout<float>;
template class ConvReadout<double>;

}  // namespace condense
