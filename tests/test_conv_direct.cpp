// The direct convolution path (patches read in place from the phase planes, nn/conv2d.hpp) against
// the im2col path it replaces: the same bits for y, dx and dW, on odd shapes, at every stride.
//
// The im2col reference builds each sample's patch matrix P (K, L) and computes
//   y  = conv_kernels::multiply(W, P) + b,
//   dx = col2im_add(conv_kernels::multiply(Wᵀ, dZ)) into zeros,
//   dW = Σ over chunks of 4 samples, in order, of Σ over the chunk's samples of dZ·Pᵀ, where each
//        element of dZ·Pᵀ is one multiply-add chain over positions in order (deep patches only;
//        shallow stride-1 layers keep their own lane order).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "condense/core/rng.hpp"
#include "condense/core/types.hpp"
#include "condense/nn/activation.hpp"
#include "condense/nn/conv2d.hpp"
#include "condense/nn/conv_kernels.hpp"
#include "condense/nn/parameters.hpp"

namespace condense {
namespace {

template <class T>
std::vector<T> normal_values(std::size_t n, std::uint64_t seed) {
  Rng rng = Rng::stream(seed, 0);
  std::vector<T> values(n);
  for (T& v : values) v = T(rng.normal());
  return values;
}

// stride, padding, kernel, in channels, out channels, height, width
using Shape = std::tuple<int, int, int, int, int, int, int>;

ConvGeometry geometry_of(const Shape& shape) {
  const auto [stride, padding, kernel, channels, out_channels, height, width] = shape;
  return {channels, out_channels, kernel, stride, padding, height, width};
}

std::string shape_name(const ::testing::TestParamInfo<Shape>& info) {
  const auto [stride, padding, kernel, channels, out_channels, height, width] = info.param;
  return fmt::format("s{}_p{}_k{}_c{}_m{}_{}x{}", stride, padding, kernel, channels, out_channels,
                     height, width);
}

// ---- Phase planes -----------------------------------------------------------------------------

class PhasePlanes : public ::testing::TestWithParam<Shape> {};

TEST_P(PhasePlanes, AddressEveryPatchEntryAsIm2colLaysItOut) {
  const ConvGeometry g = geometry_of(GetParam());
  const int K = g.patch_size(), L = g.positions(), Wo = g.out_width();
  const auto x = normal_values<double>(std::size_t(g.in_channels) * g.in_height * g.in_width, 1);
  std::vector<double> planes(std::size_t(plane_size(g)), std::numeric_limits<double>::quiet_NaN());
  pad_input(g, x.data(), planes.data());
  for (double v : planes) ASSERT_FALSE(std::isnan(v)) << "an element of the planes was not written";
  std::vector<double> patches(std::size_t(K) * L);
  im2col(g, x.data(), patches.data());
  const std::vector<int> offsets = direct_offsets(g);
  ASSERT_EQ(int(offsets.size()), K);
  const int row_step = direct_row_step(g);
  for (int d = 0; d < K; ++d)
    for (int q = 0; q < L; ++q) {
      const std::int64_t at = offsets[std::size_t(d)] + std::int64_t(q / Wo) * row_step + q % Wo;
      ASSERT_GE(at, 0);
      ASSERT_LT(at, plane_size(g));
      ASSERT_EQ(planes[std::size_t(at)], patches[std::size_t(d) * L + q])
          << "d " << d << " q " << q;
    }
  std::vector<double> back(x.size(), -1.0);
  unpad_input(g, planes.data(), back.data());
  EXPECT_EQ(back, x);
}

INSTANTIATE_TEST_SUITE_P(OddShapes, PhasePlanes,
                         ::testing::Values(Shape{1, 0, 3, 2, 1, 5, 7}, Shape{1, 2, 5, 1, 1, 6, 9},
                                           Shape{2, 0, 3, 3, 1, 9, 11}, Shape{2, 1, 3, 2, 1, 8, 8},
                                           Shape{2, 2, 5, 2, 1, 7, 13}, Shape{3, 1, 3, 2, 1, 10, 8},
                                           Shape{3, 2, 5, 1, 1, 11, 14}, Shape{2, 1, 1, 3, 1, 6, 7},
                                           Shape{2, 1, 3, 32, 1, 32, 32}),
                         shape_name);

// ---- Conv2d: direct path against the im2col reference -----------------------------------------

template <class T>
struct Reference {
  std::vector<T> y, dx, dW, db;
};

template <class T>
Reference<T> im2col_reference(const ConvGeometry& g, const T* weight, const T* bias, const T* x,
                              const T* dy, int N) {
  constexpr int kChunk = 4;  // samples per chunk of Conv2d::backward
  const int M = g.out_channels, K = g.patch_size(), L = g.positions();
  const std::size_t in = std::size_t(g.in_channels) * g.in_height * g.in_width;
  Reference<T> ref;
  ref.y.resize(std::size_t(N) * M * L);
  ref.dx.assign(std::size_t(N) * in, T(0));
  ref.dW.assign(std::size_t(M) * K, T(0));
  ref.db.assign(std::size_t(M), T(0));
  std::vector<T> patches(std::size_t(K) * L), dP(std::size_t(K) * L);
  std::vector<T> chunk_dW(ref.dW.size()), chunk_db(ref.db.size());
  for (int n = 0; n < N; ++n) {
    if (n % kChunk == 0) {
      std::fill(chunk_dW.begin(), chunk_dW.end(), T(0));
      std::fill(chunk_db.begin(), chunk_db.end(), T(0));
    }
    const T* dZ = dy + std::size_t(n) * M * L;
    im2col(g, x + std::size_t(n) * in, patches.data());
    conv_kernels::multiply<T>(M, K, L, weight, K, 1, patches.data(), L,
                              ref.y.data() + std::size_t(n) * M * L, L, bias, false);
    conv_kernels::multiply<T>(K, M, L, weight, 1, K, dZ, L, dP.data(), L, nullptr, false);
    col2im_add(g, dP.data(), ref.dx.data() + std::size_t(n) * in);
    for (int m = 0; m < M; ++m) {
      for (int d = 0; d < K; ++d) {
        T sum = 0;
        for (int q = 0; q < L; ++q)
          sum = conv_kernels::detail::madd(patches[std::size_t(d) * L + q],
                                           dZ[std::size_t(m) * L + q], sum);
        chunk_dW[std::size_t(m) * K + d] += sum;
      }
      T sum = 0;
      for (int q = 0; q < L; ++q) sum += dZ[std::size_t(m) * L + q];
      chunk_db[std::size_t(m)] += sum;
    }
    if (n % kChunk == kChunk - 1 || n == N - 1) {
      for (std::size_t i = 0; i < ref.dW.size(); ++i) ref.dW[i] += chunk_dW[i];
      for (std::size_t i = 0; i < ref.db.size(); ++i) ref.db[i] += chunk_db[i];
    }
  }
  return ref;
}

template <class T>
void expect_direct_path_matches_im2col(const ConvGeometry& g) {
  // Six samples: two chunks of the backward pass, the second one short.
  const int N = 6;
  Conv2d<T> layer("conv1", {g.in_channels, g.in_height, g.in_width}, g.out_channels, g.kernel,
                  g.stride, g.padding, true);
  ParameterStore<T> store;
  layer.declare(store);
  store.allocate();
  const auto values = normal_values<T>(store.size(), 2);
  std::copy(values.begin(), values.end(), store.values().data());
  store.zero_grad();
  const std::size_t in = std::size_t(g.in_channels) * g.in_height * g.in_width;
  const std::size_t out = std::size_t(g.out_channels) * g.positions();
  const auto x = normal_values<T>(N * in, 3);
  const auto dy = normal_values<T>(N * out, 4);
  std::vector<T> y(N * out), dx(N * in, std::numeric_limits<T>::quiet_NaN());
  layer.reserve(N);
  layer.forward(store, x.data(), y.data(), N, false);
  layer.backward(store, x.data(), y.data(), dy.data(), dx.data(), N);

  const Reference<T> ref = im2col_reference<T>(
      g, store.value(layer.weight_id()), store.value(layer.bias_id()), x.data(), dy.data(), N);
  EXPECT_EQ(y, ref.y);
  EXPECT_EQ(dx, ref.dx);
  const T* db = store.grad(layer.bias_id());
  EXPECT_EQ(std::vector<T>(db, db + g.out_channels), ref.db);
  if (g.patch_size() > 64) {  // deep: the in-order weight gradient
    const T* dW = store.grad(layer.weight_id());
    EXPECT_EQ(std::vector<T>(dW, dW + ref.dW.size()), ref.dW);
  }
}

class DirectConv : public ::testing::TestWithParam<Shape> {};

TEST_P(DirectConv, GivesTheBitsOfTheIm2colPathInFloat) {
  expect_direct_path_matches_im2col<float>(geometry_of(GetParam()));
}

TEST_P(DirectConv, GivesTheBitsOfTheIm2colPathInDouble) {
  expect_direct_path_matches_im2col<double>(geometry_of(GetParam()));
}

// Deep patches (K = C·k² > 64) at every stride and padding, odd widths, channel counts that are not
// multiples of the kernels' blocks (6 weight rows, 2 vector packets of output channels), and the
// shallow stride-1 path (K ≤ 64) for its forward and input gradient.
INSTANTIATE_TEST_SUITE_P(
    OddShapes, DirectConv,
    ::testing::Values(Shape{2, 1, 3, 8, 32, 16, 16}, Shape{2, 1, 3, 8, 7, 9, 11},
                      Shape{2, 0, 3, 9, 13, 10, 7}, Shape{2, 2, 5, 3, 19, 11, 9},
                      Shape{2, 1, 5, 5, 5, 13, 13}, Shape{3, 2, 3, 11, 17, 10, 12},
                      Shape{3, 0, 5, 3, 3, 12, 11}, Shape{1, 1, 3, 9, 11, 7, 13},
                      Shape{1, 2, 5, 3, 21, 6, 9}, Shape{1, 0, 3, 8, 33, 9, 9},
                      Shape{1, 1, 3, 3, 7, 9, 11}, Shape{1, 2, 5, 2, 5, 7, 6},
                      Shape{2, 1, 1, 70, 9, 7, 9}, Shape{2, 1, 3, 32, 32, 32, 32}),
    shape_name);

// W2's deep layers (workloads.cpp): there the in-order weight gradient is the sum Eigen's packed
// product dW += dZ·Pᵀ gave before, its 3-packet × 4 kernel running over all 64 positions at once.
TEST(InOrderWeightGradient, EqualsEigensPackedProductOnW2sLastConvLayer) {
  const ConvGeometry g{32, 32, 3, 2, 1, 16, 16};
  const int M = g.out_channels, K = g.patch_size(), L = g.positions();
  const auto x = normal_values<float>(std::size_t(g.in_channels) * g.in_height * g.in_width, 5);
  const auto dz = normal_values<float>(std::size_t(M) * L, 6);
  std::vector<float> patches(std::size_t(K) * L);
  im2col(g, x.data(), patches.data());
  Matrix<float> eigen = Matrix<float>::Constant(M, K, 0.25f);
  eigen.noalias() += ConstMatrixMap<float>(dz.data(), M, L) *
                     ConstMatrixMap<float>(patches.data(), K, L).transpose();

  std::vector<float> planes(std::size_t(plane_size(g)));
  pad_input(g, x.data(), planes.data());
  const std::int64_t ldt = conv_kernels::transposed_stride<float>(M);
  std::vector<float> dzt(std::size_t(L * ldt));
  conv_kernels::transpose_padded<float>(M, L, dz.data(), dzt.data(), ldt);
  Matrix<float> direct = Matrix<float>::Constant(M, K, 0.25f);
  const std::vector<int> offsets = direct_offsets(g);
  const auto positions =
      conv_kernels::DirectPositions::make<float>(g.out_height(), g.out_width(), direct_row_step(g));
  conv_kernels::multiply_add_transposed_in_order<float>(
      M, K, positions, dzt.data(), ldt, offsets.data(), planes.data(), direct.data());
  EXPECT_EQ(direct, eigen);
}

// The shallow stride-1 weight gradient sums each element in vector lanes over the output rows'
// packets, then across the lanes, then adds the positions left over at the rows' ends (each
// product rounded, then added): an order that belongs to the element, so the kernel's blocks of
// dZ rows × patch rows (2 × 5, and smaller ones at the edges) must not change the bits. Every
// block shape against one element at a time, with and without leftover positions.
template <class T>
void expect_weight_gradient_independent_of_blocking(const ConvGeometry& g) {
  const int M = g.out_channels, K = g.patch_size(), L = g.positions();
  const auto x = normal_values<T>(std::size_t(g.in_channels) * g.in_height * g.in_width, 7);
  const auto dz = normal_values<T>(std::size_t(M) * L, 8);
  std::vector<T> planes(std::size_t(plane_size(g)));
  pad_input(g, x.data(), planes.data());
  const std::vector<int> offsets = direct_offsets(g);
  const auto positions = conv_kernels::DirectPositions::make<T>(g.out_height(), g.out_width(),
                                                                direct_row_step(g));
  std::vector<T> blocked(std::size_t(M) * K, T(0.5)), single(std::size_t(M) * K, T(0.5));
  conv_kernels::multiply_add_transposed_direct<T>(M, K, positions, L, dz.data(), offsets.data(),
                                                  planes.data(), blocked.data());
  for (int m = 0; m < M; ++m)
    for (int d = 0; d < K; ++d)
      conv_kernels::detail::direct_nt_block<T, 1, 1>(positions, dz.data() + std::size_t(m) * L, L,
                                                     offsets.data() + d, planes.data(),
                                                     single.data() + std::size_t(m) * K + d, K);
  EXPECT_EQ(blocked, single);
}

TEST(ShallowWeightGradient, DoesNotDependOnTheBlocking) {
  // Channel counts and patch sizes that are not multiples of the blocks (M odd, K = 9, 18, 25,
  // 27, 50, 200), output widths of whole packets (8, 16, 24, 32) and with leftovers (7, 9, 11,
  // 27, 28).
  for (const Shape& shape :
       {Shape{1, 1, 3, 3, 32, 32, 32}, Shape{1, 1, 3, 3, 7, 9, 16}, Shape{1, 2, 5, 2, 5, 7, 8},
        Shape{1, 0, 3, 1, 3, 10, 18}, Shape{1, 1, 3, 2, 9, 8, 24}, Shape{1, 1, 3, 3, 7, 9, 11},
        Shape{1, 2, 5, 1, 10, 27, 27}, Shape{1, 1, 3, 1, 16, 28, 28}, Shape{1, 2, 5, 8, 10, 9, 9},
        Shape{1, 0, 3, 3, 7, 9, 9}}) {
    SCOPED_TRACE(shape_name({shape, 0}));
    expect_weight_gradient_independent_of_blocking<float>(geometry_of(shape));
    expect_weight_gradient_independent_of_blocking<double>(geometry_of(shape));
  }
}

// A conv layer with its activation inside (Conv2d::forward_activated, backward_activated) against
// the layer and the activation one after the other: the same bits for h, z, dx, dW and db. The
// im2col path (shallow, stride 2), the shallow stride-1 path and the deep path; activations whose
// derivative needs only h (z not kept) and ones that need z.
template <class T>
void expect_fused_activation_matches_separate(const ConvGeometry& g, const std::string& name) {
  const Activation activation = parse_activation(name);
  const int N = 6;
  auto make = [&] {
    auto layer = std::make_unique<Conv2d<T>>("conv1", FeatureShape{g.in_channels, g.in_height,
                                             g.in_width}, g.out_channels, g.kernel, g.stride,
                                             g.padding, true);
    return layer;
  };
  auto separate = make(), fused = make();
  ParameterStore<T> store_a, store_b;
  separate->declare(store_a);
  fused->declare(store_b);
  store_a.allocate();
  store_b.allocate();
  const auto values = normal_values<T>(store_a.size(), 2);
  std::copy(values.begin(), values.end(), store_a.values().data());
  std::copy(values.begin(), values.end(), store_b.values().data());
  store_a.zero_grad();
  store_b.zero_grad();
  const std::size_t in = std::size_t(g.in_channels) * g.in_height * g.in_width;
  const std::size_t out = std::size_t(g.out_channels) * g.positions();
  const auto x = normal_values<T>(N * in, 3);
  const auto dh = normal_values<T>(N * out, 4);

  std::vector<T> z(N * out), h(N * out), dz(N * out), dx(N * in);
  separate->reserve(N);
  separate->forward(store_a, x.data(), z.data(), N, false);
  activation_forward(activation, z.data(), h.data(), z.size());
  activation_backward(activation, z.data(), h.data(), dh.data(), dz.data(), z.size());
  separate->backward(store_a, x.data(), z.data(), dz.data(), dx.data(), N);

  const bool keep_z = !activation.derivative_from_output();
  std::vector<T> fz(keep_z ? N * out : 0), fh(N * out), fdx(N * in);
  fused->reserve(N);
  fused->forward_activated(store_b, x.data(), keep_z ? fz.data() : nullptr, fh.data(), N, false,
                           activation);
  fused->backward_activated(store_b, x.data(), keep_z ? fz.data() : nullptr, fh.data(), dh.data(),
                            fdx.data(), N, activation);
  EXPECT_EQ(fh, h) << name;
  if (keep_z) {
    EXPECT_EQ(fz, z) << name;
  }
  EXPECT_EQ(fdx, dx) << name;
  EXPECT_EQ(std::vector<T>(store_b.grads().data(), store_b.grads().data() + store_b.size()),
            std::vector<T>(store_a.grads().data(), store_a.grads().data() + store_a.size()))
      << name;
}

TEST(FusedActivation, GivesTheBitsOfTheLayerThenTheActivation) {
  for (const Shape& shape : {Shape{2, 1, 3, 3, 16, 12, 12}, Shape{1, 1, 3, 3, 7, 9, 11},
                             Shape{2, 1, 3, 8, 13, 9, 11}})
    for (const std::string name : {"tanh", "relu", "gelu"}) {
      expect_fused_activation_matches_separate<float>(geometry_of(shape), name);
      expect_fused_activation_matches_separate<double>(geometry_of(shape), name);
    }
}

}  // namespace
}  // namespace condense
