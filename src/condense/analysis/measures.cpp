#include "condense/analysis/measures.hpp"

#include <fmt/format.h>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include "condense/core/types.hpp"

namespace condense {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Union-find with path halving; the representative is not used for ids (see components()).
struct DisjointSets {
  std::vector<int> parent;
  explicit DisjointSets(int n) : parent(std::size_t(n)) {
    std::iota(parent.begin(), parent.end(), 0);
  }
  int find(int x) {
    while (parent[std::size_t(x)] != x) {
      parent[std::size_t(x)] = parent[std::size_t(parent[std::size_t(x)])];
      x = parent[std::size_t(x)];
    }
    return x;
  }
  void join(int a, int b) { parent[std::size_t(find(a))] = find(b); }
};

// Connected components of the kernels that are not negligible, linked when `linked(β, γ)`.
// Ids follow size (largest 0), ties by the smallest kernel index, so that they do not depend on
// the order of the union operations. Returns the per-kernel ids (−1 negligible) and the sizes.
template <class Linked>
std::vector<int> components(int M, const std::vector<bool>& negligible, Linked linked,
                            std::vector<int>& sizes) {
  DisjointSets sets(M);
  for (int b = 0; b < M; ++b) {
    if (negligible[std::size_t(b)]) continue;
    for (int c = b + 1; c < M; ++c)
      if (!negligible[std::size_t(c)] && linked(b, c)) sets.join(b, c);
  }
  // Per root: size and smallest member (members are visited in index order).
  std::vector<int> root_size(std::size_t(M), 0), root_first(std::size_t(M), -1);
  for (int b = 0; b < M; ++b) {
    if (negligible[std::size_t(b)]) continue;
    const int r = sets.find(b);
    if (root_first[std::size_t(r)] < 0) root_first[std::size_t(r)] = b;
    ++root_size[std::size_t(r)];
  }
  std::vector<int> roots;
  for (int r = 0; r < M; ++r)
    if (root_size[std::size_t(r)] > 0) roots.push_back(r);
  std::sort(roots.begin(), roots.end(), [&](int a, int b) {
    if (root_size[std::size_t(a)] != root_size[std::size_t(b)])
      return root_size[std::size_t(a)] > root_size[std::size_t(b)];
    return root_first[std::size_t(a)] < root_first[std::size_t(b)];
  });
  std::vector<int> id_of_root(std::size_t(M), -1);
  sizes.clear();
  for (std::size_t i = 0; i < roots.size(); ++i) {
    id_of_root[std::size_t(roots[i])] = int(i);
    sizes.push_back(root_size[std::size_t(roots[i])]);
  }
  std::vector<int> ids(std::size_t(M), -1);
  for (int b = 0; b < M; ++b)
    if (!negligible[std::size_t(b)]) ids[std::size_t(b)] = id_of_root[std::size_t(sets.find(b))];
  return ids;
}

double norm_of(const double* x, std::size_t n) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i] * x[i];
  return std::sqrt(sum);
}

}  // namespace

std::vector<double> cosine_matrix(const double* W, int M, int d) {
  // W: (M, d) → D: (M, M), D(β,γ) = <W_β, W_γ> / (|W_β| |W_γ|) (docs/science.md §1.3).
  const ConstMatrixMap<double> kernels(W, M, d);
  std::vector<double> cosines(std::size_t(M) * std::size_t(M), 0.0);
  if (M == 0) return cosines;
  MatrixMap<double> D(cosines.data(), M, M);
  D.noalias() = kernels * kernels.transpose();
  Vector<double> inverse_norm(M);
  for (int b = 0; b < M; ++b) {
    const double n = std::sqrt(std::max(D(b, b), 0.0));
    inverse_norm(b) = n > 0 ? 1.0 / n : 0.0;  // zero kernels have no direction: cosines 0
  }
  for (int b = 0; b < M; ++b)
    for (int c = 0; c < M; ++c)
      D(b, c) = std::clamp(D(b, c) * inverse_norm(b) * inverse_norm(c), -1.0, 1.0);
  for (int b = 0; b < M; ++b) D(b, b) = inverse_norm(b) > 0 ? 1.0 : 0.0;
  return cosines;
}

std::vector<bool> negligible_kernels(const std::vector<double>& norms, double fraction) {
  const double largest = norms.empty() ? 0.0 : *std::max_element(norms.begin(), norms.end());
  std::vector<bool> negligible(norms.size());
  // A zero kernel has no direction, so it is set aside even when fraction = 0.
  for (std::size_t b = 0; b < norms.size(); ++b)
    negligible[b] = norms[b] == 0.0 || norms[b] < fraction * largest;
  return negligible;
}

Clusters cluster_kernels(const std::vector<double>& cosines, int M,
                         const std::vector<bool>& negligible, double threshold) {
  auto D = [&](int b, int c) { return cosines[std::size_t(b) * std::size_t(M) + std::size_t(c)]; };
  Clusters clusters;
  clusters.orientation = components(
      M, negligible, [&](int b, int c) { return D(b, c) >= threshold; },
      clusters.orientation_sizes);
  clusters.line = components(
      M, negligible, [&](int b, int c) { return std::abs(D(b, c)) >= threshold; },
      clusters.line_sizes);

  // Heatmap order: by (line id, orientation id, index); negligible kernels (id −1) last.
  std::vector<std::int64_t> order{};
  order.resize(std::size_t(M));
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](std::int64_t b) {
    const std::size_t i = std::size_t(b);
    const int line = clusters.line[i] < 0 ? M : clusters.line[i];
    const int orientation = clusters.orientation[i] < 0 ? M : clusters.orientation[i];
    return std::tuple(line, orientation, b);
  };
  std::sort(order.begin(), order.end(),
            [&](std::int64_t a, std::int64_t b) { return key(a) < key(b); });
  clusters.order = std::move(order);
  return clusters;
}

double effective_rank(const double* W, int M, int d) {
  // exp of the entropy of the normalized singular values (docs/science.md §1.5; Roy & Vetterli,
  // EUSIPCO 2007).
  if (M == 0 || d == 0) return kNaN;
  const ConstMatrixMap<double> kernels(W, M, d);
  if (!kernels.allFinite()) return kNaN;  // a diverged run: no SVD of NaNs
  // Singular values of the tall orientation (rows ≥ columns). A much taller matrix is first reduced
  // to its square R factor (same singular values, A = QR): 2–3× faster than bidiagonalizing A.
  Eigen::MatrixXd tall = kernels.cols() > kernels.rows() ? Eigen::MatrixXd(kernels.transpose())
                                                         : Eigen::MatrixXd(kernels);
  if (tall.rows() > 2 * tall.cols()) {
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(tall);
    const Eigen::Index n = tall.cols();
    tall = qr.matrixQR().topRows(n).triangularView<Eigen::Upper>();
  }
  const Eigen::VectorXd s = Eigen::BDCSVD<Eigen::MatrixXd>(tall).singularValues();
  const double total = s.sum();
  if (!(total > 0)) return kNaN;
  double entropy = 0;
  for (int i = 0; i < s.size(); ++i) {
    const double p = s(i) / total;
    if (p > 0) entropy -= p * std::log(p);
  }
  return std::exp(entropy);
}

double relative_distance(const double* now, const double* initial, std::size_t n) {
  double change = 0, start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    change += (now[i] - initial[i]) * (now[i] - initial[i]);
    start += initial[i] * initial[i];
  }
  return start > 0 ? std::sqrt(change / start) : kNaN;
}

KernelMeasures measure_kernels(const double* W, int M, int d, const MeasureOptions& options,
                               const double* direction) {
  KernelMeasures m;
  m.kernels = M;
  m.kernel_size = d;
  m.cosines = cosine_matrix(W, M, d);
  m.norms.resize(std::size_t(M));
  for (int b = 0; b < M; ++b)
    m.norms[std::size_t(b)] = norm_of(W + std::size_t(b) * d, std::size_t(d));
  m.negligible = negligible_kernels(m.norms, options.negligible);
  m.n_negligible = int(std::count(m.negligible.begin(), m.negligible.end(), true));
  m.clusters = cluster_kernels(m.cosines, M, m.negligible, options.threshold);
  m.n_orientations = int(m.clusters.orientation_sizes.size());
  m.n_lines = int(m.clusters.line_sizes.size());

  std::vector<int> kept;
  for (int b = 0; b < M; ++b)
    if (!m.negligible[std::size_t(b)]) kept.push_back(b);
  if (kept.size() >= 2) {
    double sum = 0;
    for (int b : kept)
      for (int c : kept)
        if (b != c) sum += std::abs(m.cosines[std::size_t(b) * std::size_t(M) + std::size_t(c)]);
    m.mean_abs_cos = sum / (double(kept.size()) * double(kept.size() - 1));
  } else {
    m.mean_abs_cos = kNaN;
  }
  m.effective_rank = effective_rank(W, M, d);

  m.align = m.align_min = kNaN;
  if (direction) {
    const double direction_norm = norm_of(direction, std::size_t(d));
    if (direction_norm > 0 && !kept.empty()) {
      double sum = 0, least = std::numeric_limits<double>::infinity();
      for (int b : kept) {
        const double* w = W + std::size_t(b) * d;
        double dot = 0;
        for (int i = 0; i < d; ++i) dot += w[i] * direction[i];
        const double c = std::min(1.0, std::abs(dot) / (m.norms[std::size_t(b)] * direction_norm));
        sum += c;
        least = std::min(least, c);
      }
      m.align = sum / double(kept.size());
      m.align_min = least;
    }
  }
  return m;
}

std::vector<double> kernel_matrix(const LayerWeights& layer, bool with_bias, int* d) {
  const int M = layer.kernels();
  const int weight_size = layer.kernel_size();
  const bool bias = with_bias && !layer.bias.empty();
  *d = weight_size + (bias ? 1 : 0);
  if (!bias) return layer.weight;
  // W: (M, d + 1) = [weight | bias]
  std::vector<double> W(std::size_t(M) * std::size_t(*d));
  for (int b = 0; b < M; ++b) {
    std::copy_n(layer.weight.begin() + std::ptrdiff_t(b) * weight_size, weight_size,
                W.begin() + std::ptrdiff_t(b) * *d);
    W[std::size_t(b) * std::size_t(*d) + std::size_t(weight_size)] = layer.bias[std::size_t(b)];
  }
  return W;
}

LayerMeasures measure_layer(const LayerWeights& now, const LayerWeights* initial,
                            const MeasureOptions& options, const double* direction) {
  LayerMeasures result;
  result.layer = now.layer;
  int d = 0;
  const std::vector<double> W = kernel_matrix(now, options.with_bias, &d);
  result.kernels = measure_kernels(W.data(), now.kernels(), d, options, direction);
  result.has_direction = direction != nullptr;

  // Norm and RD over all of the layer's parameters, weight then bias (Luo et al. 2021).
  std::vector<double> theta = now.weight;
  theta.insert(theta.end(), now.bias.begin(), now.bias.end());
  result.norm = norm_of(theta.data(), theta.size());
  result.rd = kNaN;
  if (initial && initial->weight.size() == now.weight.size() &&
      initial->bias.size() == now.bias.size()) {
    std::vector<double> theta0 = initial->weight;
    theta0.insert(theta0.end(), initial->bias.begin(), initial->bias.end());
    result.rd = relative_distance(theta.data(), theta0.data(), theta.size());
  }
  return result;
}

std::vector<double> direction_for_layer(const PredictedDirection& direction,
                                        const LayerWeights& layer, bool with_bias,
                                        std::string* why) {
  const std::size_t weight_size = std::size_t(layer.kernel_size());
  const bool bias = with_bias && !layer.bias.empty();
  std::string problem;
  if (direction.weight.size() != weight_size)
    problem = fmt::format("the direction has {} weight components, but {}'s kernels have {}",
                          direction.weight.size(), layer.layer, weight_size);
  else if (bias && !direction.bias)
    problem = fmt::format(
        "the bias is analysed with {}'s kernels, but the direction has no bias "
        "component",
        layer.layer);
  if (!problem.empty()) {
    if (why) *why = problem;
    return {};
  }
  std::vector<double> result = direction.weight;
  if (bias) result.push_back(*direction.bias);
  return result;
}

}  // namespace condense
