#pragma once
// Condensation measures of one layer (docs/science.md §1): the kernel cosine matrix, the negligible
// kernels, orientation and line clusters, mean |cos|, effective rank, norm, relative distance and
// alignment with a predicted direction. Pure: arrays in, numbers out. docs/analysis.md gives every
// formula and rule.
//
// A layer's kernel matrix W is (M, d): row β is kernel β's weight flattened — a conv weight
// (M, C, k, k) gives d = C·k·k, a linear weight (out, in) gives d = in — optionally with the
// kernel's bias appended as one more column (d + 1).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace condense {

struct MeasureOptions {
  double threshold = 0.95;   // cosine at or above which two kernels are linked (clusters)
  double negligible = 0.01;  // kernels with norm < negligible × the layer's largest are set aside
  bool with_bias = false;    // append each kernel's bias to its vector
};

// Orientation and line clusters of the non-negligible kernels. Clusters are connected components
// of the graph linking β and γ when D(β,γ) ≥ threshold (orientations) or |D(β,γ)| ≥ threshold
// (lines); every orientation cluster lies inside one line cluster.
struct Clusters {
  std::vector<int> orientation;        // (M): cluster id, largest cluster 0; −1 negligible
  std::vector<int> line;               // (M): cluster id, largest cluster 0; −1 negligible
  std::vector<int> orientation_sizes;  // descending
  std::vector<int> line_sizes;         // descending
  // Kernel indices for heatmaps: line clusters largest first; inside a line cluster its
  // orientation clusters largest first (so the + block precedes the − block); inside an
  // orientation cluster by index; negligible kernels last, by index.
  std::vector<std::int64_t> order;  // (M)
};

// The measures of one kernel matrix. NaN marks a value that is not defined (mean |cos| with
// fewer than two non-negligible kernels, effective rank of a zero matrix, alignment without a
// direction); files write NaN as an empty field or null.
struct KernelMeasures {
  int kernels = 0;               // M
  int kernel_size = 0;           // d (with the bias column when included)
  std::vector<double> cosines;   // (M, M) row-major, D(β,γ); 0 for rows with zero norm
  std::vector<double> norms;     // (M) |W_β|
  std::vector<bool> negligible;  // (M)
  int n_negligible = 0;
  Clusters clusters;
  int n_orientations = 0;
  int n_lines = 0;
  double mean_abs_cos = 0;    // over ordered pairs β≠γ of non-negligible kernels
  double effective_rank = 0;  // exp(−Σ p_i ln p_i), p_i = s_i / Σ_j s_j, all M kernels
  double align = 0;           // mean over non-negligible β of |cos(W_β, v)|
  double align_min = 0;       // minimum over non-negligible β of |cos(W_β, v)|
};

// W: (M, d) row-major. direction: (d) or null (alignment is then NaN).
KernelMeasures measure_kernels(const double* W, int M, int d, const MeasureOptions& options,
                               const double* direction = nullptr);

// The pieces, for tests and callers that need one of them.
std::vector<double> cosine_matrix(const double* W, int M, int d);  // (M, M)
std::vector<bool> negligible_kernels(const std::vector<double>& norms, double fraction);
Clusters cluster_kernels(const std::vector<double>& cosines, int M,
                         const std::vector<bool>& negligible, double threshold);
double effective_rank(const double* W, int M, int d);
// |now − initial| / |initial| over n values; NaN when |initial| = 0.
double relative_distance(const double* now, const double* initial, std::size_t n);

// One layer's weights as the analysis sees them, whatever they came from (a parameter store, a
// snapshot directory, a safetensors file).
struct LayerWeights {
  std::string layer;                // "conv1", "fc2"; or a tensor name for foreign weights
  std::vector<std::int64_t> shape;  // the weight's: (M, C, kh, kw) or (out, in)
  std::vector<double> weight;       // row-major, M × d
  std::vector<double> bias;         // (M), or empty when the layer has none

  int kernels() const { return int(shape.at(0)); }
  int kernel_size() const {
    return kernels() == 0 ? 0 : int(weight.size() / std::size_t(kernels()));
  }
  bool is_conv() const { return shape.size() == 4; }
};

// The kernel matrix the measures use: the weight, plus the bias column when asked and present.
std::vector<double> kernel_matrix(const LayerWeights& layer, bool with_bias, int* d);

struct LayerMeasures {
  std::string layer;
  KernelMeasures kernels;
  double norm = 0;  // |θ_layer(t)| over weight and bias
  double rd = 0;  // |θ_layer(t) − θ_layer(0)| / |θ_layer(0)| over weight and bias; NaN unknown
  bool has_direction = false;
};

// Measures one layer. `initial` (the same layer at step 0) may be null: rd is then NaN.
// `direction` may be null; otherwise it has the kernel matrix's d values (direction_for_layer).
LayerMeasures measure_layer(const LayerWeights& now, const LayerWeights* initial,
                            const MeasureOptions& options, const double* direction);

// A predicted direction (v₁ of docs/science.md §2.3; theory/ writes it as RUN/v1.npy and
// RUN/prediction.json): its weight part, one value per kernel entry (C·k·k, or the layer's
// inputs), and its bias component when the prediction was made with a bias.
struct PredictedDirection {
  std::vector<double> weight;
  std::optional<double> bias;
};

// The direction in the coordinates of a layer's kernel matrix: the weight part when the bias is
// left out, the weight part and the bias component when it is appended. When the sizes do not
// fit (or the bias component is missing) returns an empty vector and says why.
std::vector<double> direction_for_layer(const PredictedDirection& direction,
                                        const LayerWeights& layer, bool with_bias,
                                        std::string* why);

}  // namespace condense
