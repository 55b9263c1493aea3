#pragma once
// 2-D convolution with zero padding, as PyTorch's nn.Conv2d (groups 1, dilation 1):
//   y[n, m, oh, ow] = b[m] + Σ_{c,i,j} W[m, c, i, j] · x[n, c, oh·s − p + i, ow·s − p + j]
// computed as one matrix product per sample on the sample's patch matrix (im2col):
//   Z_n (M × L) = W (M × K) · P_n (K × L),   K = C·k·k, L = Ho·Wo.
// The patch matrices are the x_{i,q} of docs/science.md §2.1; for a first layer trained full-batch
// they are built once and kept.
#include <cstdint>
#include <vector>

#include "condense/nn/activation.hpp"
#include "condense/nn/conv_kernels.hpp"
#include "condense/nn/layer.hpp"

namespace condense {

struct ConvGeometry {
  int in_channels = 0, out_channels = 0, kernel = 0, stride = 1, padding = 0;
  int in_height = 0, in_width = 0;

  int out_height() const { return (in_height + 2 * padding - kernel) / stride + 1; }
  int out_width() const { return (in_width + 2 * padding - kernel) / stride + 1; }
  int patch_size() const { return in_channels * kernel * kernel; }  // K
  int positions() const { return out_height() * out_width(); }      // L
};

// P: (K, L) = the patches of one sample x: (C, H, W), in PyTorch's (c, i, j) order per column.
template <class T>
void im2col(const ConvGeometry& g, const T* x, T* patches);
// dx: (C, H, W) += the patch gradients dP: (K, L) scattered back.
template <class T>
void col2im_add(const ConvGeometry& g, const T* patch_grads, T* dx);

// Direct convolutions (stride 1 with shallow patches, and every deep patch) read their patches in
// place (conv_kernels::multiply_direct) from the sample's phase planes instead of a patch matrix:
// the zero-padded sample with every row split by column phase w mod s,
//   xp: (C, Hp, s, Ws),  Hp = H + 2p, Wp = W + 2p, Ws = ⌈Wp/s⌉,
// padded element (c, h, w) at ((c·Hp + h)·s + w mod s)·Ws + ⌊w/s⌋. Patch entry (c, i, j) of output
// (oh, ow) is then at offsets[(c, i, j)] + oh·row_step + ow: consecutive output columns read
// consecutive elements at any stride. For s = 1 the planes are the padded sample (C, Hp, Wp).
int plane_width(const ConvGeometry& g);          // Ws
std::int64_t plane_size(const ConvGeometry& g);  // C·Hp·s·Ws
int direct_row_step(const ConvGeometry& g);      // s·s·Ws
// xp = the phase planes of x: (C, H, W); every element is written.
template <class T>
void pad_input(const ConvGeometry& g, const T* x, T* xp);
// x: (C, H, W) = the elements of the planes xp that lie inside the unpadded sample.
template <class T>
void unpad_input(const ConvGeometry& g, const T* xp, T* x);
// offsets[d] for d = (c, i, j): where patch row d starts in the phase planes.
std::vector<int> direct_offsets(const ConvGeometry& g);

template <class T>
class Conv2d final : public Layer<T> {
 public:
  Conv2d(std::string name, FeatureShape input, int out_channels, int kernel, int stride,
         int padding, bool bias);

  std::string describe() const override;
  std::string_view kind() const override { return layer_kind::conv2d; }
  const ConvGeometry& geometry() const { return g_; }
  bool has_bias() const { return bias_; }
  int weight_id() const { return weight_id_; }
  int bias_id() const { return bias_id_; }

  void declare(ParameterStore<T>& store) override;
  void reserve(int batch) override;
  std::size_t cache_bytes(int batch) const override;
  // x: (N, C, H, W) → y: (N, M, Ho, Wo)
  void forward(ParameterStore<T>& store, const T* x, T* y, int N, bool same_input) override;
  // dy: (N, M, Ho, Wo) → dW: (M, C, k, k) +=, db: (M) +=, dx: (N, C, H, W) =
  void backward(ParameterStore<T>& store, const T* x, const T* y, const T* dy, T* dx,
                int N) override;

  // Convolution and the activation after it, one sample at a time while its output is in cache:
  // h = σ(conv(x)) without a trip of z through memory. z receives conv(x) when not null (the
  // activation's derivative needs it); else it stays in per-thread scratch. The same bits as
  // forward, then the activation layer's forward.
  void forward_activated(ParameterStore<T>& store, const T* x, T* z, T* h, int N, bool same_input,
                         const Activation& activation);
  // backward from dh, the gradient at the activation's output: each sample's dZ = dh ⊙ σ'(z) is
  // made in per-thread scratch just before it is used. z may be null when the derivative is a
  // function of h. The same bits as the activation layer's backward, then backward.
  void backward_activated(ParameterStore<T>& store, const T* x, const T* z, const T* h, const T* dh,
                          T* dx, int N, const Activation& activation);

  // The patch matrices of the whole batch x: (N, C, H, W) → (N, K, L), built now unless
  // `same_input` lets the kept ones serve; null when the batch is too large to keep them (callers
  // then build each sample's patches with im2col). Valid until the next call with another input.
  const T* batch_patches(const T* x, int N, bool same_input);
  // Whether reserve() keeps a batch's patches at all; the fused two-layer CNN at stride 1 reads
  // its patches in place (conv_readout.hpp) and turns this off.
  void keep_patches(bool keep) { keep_patches_ = keep; }

 private:
  const T* sample_patches(const T* x, int n, T* scratch) const;
  // forward and backward, optionally through an activation (null: none).
  void forward_impl(ParameterStore<T>& store, const T* x, T* z, T* h, int N, bool same_input,
                    const Activation* activation);
  void backward_impl(ParameterStore<T>& store, const T* x, const T* z, const T* h, const T* dy,
                     T* dx, int N, const Activation* activation);
  // Per-thread scratch of one sample's output (M·L): z or dZ of the fused activation.
  void reserve_thread_outputs();
  T* activation_scratch();
  std::size_t input_slot() const;  // per-thread scratch for a sample's patches or phase planes
  std::size_t grad_slot() const;   // per-thread scratch of backward
  int group_channels() const;      // input channels per block of the direct input gradient

  ConvGeometry g_;
  bool bias_;
  int weight_id_ = -1, bias_id_ = -1;
  int capacity_ = 0;
  // Cache: patches of the whole batch, kept between calls while the input is the same.
  std::vector<T> batch_patches_;  // (N, K, L), empty when the batch is too large to keep
  bool batch_patches_valid_ = false;
  bool keep_patches_ = true;
  // Direct: forward, weight and input gradients without a patch matrix.
  bool direct_ = false;
  // Deep patches: the weight gradient as conv_kernels::multiply_add_transposed_in_order.
  bool deep_ = false;
  std::vector<int> offsets_;
  conv_kernels::DirectPositions positions_;
  // Scratch, one slot per thread: the patch matrix (or phase planes) and backward's buffers, for
  // im2col: the patch gradients (K, L); direct: the input gradient's planes, a block of patch
  // gradients (G·k·k, L) and, for deep patches, dZᵀ (L, ldt).
  std::vector<T> thread_patches_;      // (threads, input_slot())
  std::vector<T> thread_patch_grads_;  // (threads, grad_slot())
  std::vector<T> thread_outputs_;      // (threads, M·L), made on the first fused call
  // Per-chunk partial parameter gradients, summed in chunk order (core/parallel.hpp).
  std::vector<T> chunk_grads_;  // (chunks, M·K + M)
};

}  // namespace condense
