#include "condense/config/config.hpp"

namespace condense {

// Every configuration key: its default (as TOML) and what it means. Keep in step with the
// conversion in config.cpp; docs/config.md is this table.
const std::vector<KeyDoc>& config_keys() {
  static const std::vector<KeyDoc> keys = {
      {"seed", "0", "Seed of every random draw (initialization, sampling, mini-batch order)."},
      {"dtype", "\"float64\"", "Scalar type of training: \"float32\" or \"float64\"."},
      {"threads", "0", "Threads of the training step; 0 = every core."},

      {"data.dataset", "\"fashion-mnist\"",
       "fashion-mnist, mnist, cifar10, cifar100, sin (regression), gaussian (random images) or "
       "npy (your own arrays: x_train.npy, y_train.npy, optionally x_test.npy, y_test.npy)."},
      {"data.path", "\"\"",
       "Folder of the dataset files (relative to the working directory); empty reads "
       "fashion-mnist from the Debian package."},
      {"data.train_size", "500", "Training samples; 0 = all."},
      {"data.test_size", "0", "Test samples; 0 = no test set, -1 = all."},
      {"data.subset", "\"first\"",
       "Which training samples: \"first\" in file order, or a seeded class-\"balanced\" sample."},
      {"data.classes", "[]", "Keep only these classes (empty = all); class targets follow this order."},
      {"data.normalize", "\"standard\"",
       "none (images x/255; gaussian and npy inputs as they are), standard (zero mean, unit std "
       "over the training set) or per-channel."},
      {"data.target", "\"binary\"",
       "class (index, for cross-entropy), onehot, binary (±1 by positive_classes) or regression "
       "(sin; npy with real-valued y)."},
      {"data.positive_classes", "[0, 1, 2, 3, 4]", "Classes with target +1 when target = binary."},
      {"data.sin_dim", "5", "sin data: input dimension d."},
      {"data.sin_amplitude", "3.5", "sin data: A in y = Σ_k A·sin(ω x_k + φ)."},
      {"data.sin_frequency", "5.0", "sin data: ω."},
      {"data.sin_phase", "1.0", "sin data: φ."},
      {"data.sin_low", "-4.0", "sin data: x_k ~ U[low, high]."},
      {"data.sin_high", "2.0", "sin data: upper end of the input range."},
      {"data.gaussian_shape", "[1, 8, 8]", "gaussian data: image shape [C, H, W]."},
      {"data.gaussian_classes", "2", "gaussian data: number of classes."},
      {"data.gaussian_labels", "\"teacher\"",
       "gaussian data: labels from a random linear \"teacher\" or uniformly \"random\"."},

      {"model.conv", "[{ channels = 16, kernel = 3, stride = 1, padding = 1 }]",
       "Conv layers, each { channels, kernel, stride, padding, pool }; [] for an FC net."},
      {"model.pool", "\"none\"",
       "Pooling after every conv layer unless the layer says otherwise: none, avg2, max2."},
      {"model.hidden", "[]", "Widths of the hidden fully-connected layers."},
      {"model.activation", "\"tanh\"",
       "One activation, or a list with one per conv and hidden layer (tanh, relu, xtanh, ...)."},
      {"model.bias", "false", "Conv and linear layers have biases."},
      {"model.outputs", "0", "Outputs of the last layer; 0 = as many as the targets need."},
      {"model.residual", "false", "Hidden FC layers after the first are residual blocks."},

      {"init.scheme", "\"normal\"",
       "normal, uniform, xavier-normal, xavier-uniform, kaiming-normal, kaiming-uniform, zeros."},
      {"init.std", "1e-4", "Standard deviation of normal/uniform init (ignored when gamma > 0)."},
      {"init.gamma", "0.0", "If > 0: std = fan^(-gamma), the phase-diagram coordinate."},
      {"init.fan", "\"in\"",
       "The fan of gamma: \"in\" (inputs per unit) or \"out\" (units of the layer; with "
       "[init.layers.fc1] fan = \"out\" both layers of a two-layer net scale with its width)."},
      {"init.layers", "{}",
       "Per-layer overrides: [init.layers.conv1] with scheme, std, gamma and/or fan."},

      {"train.loss", "\"mse\"", "mse (R = 1/(2n) Σ|f−y|²) or cross-entropy."},
      {"train.optimizer", "\"gd\"", "gd (full-batch gradient descent), sgd or adam."},
      {"train.lr", "0.005", "Learning rate η."},
      {"train.momentum", "0.0", "sgd: momentum μ."},
      {"train.dampening", "0.0", "sgd: dampening."},
      {"train.nesterov", "false", "sgd: Nesterov momentum."},
      {"train.betas", "[0.9, 0.999]", "adam: β1, β2."},
      {"train.eps", "1e-8", "adam: ε."},
      {"train.weight_decay", "0.0", "L2 weight decay λ (added to the gradient)."},
      {"train.batch_size", "0", "Mini-batch size; 0 = full batch."},
      {"train.steps", "1000", "Optimizer steps, at least 1 (ignored when epochs > 0)."},
      {"train.epochs", "0", "If > 0: train for this many passes over the training set."},
      {"train.schedule", "\"constant\"", "Learning-rate schedule: constant, step or cosine."},
      {"train.step_size", "1000", "step schedule: steps between decays."},
      {"train.step_factor", "0.1", "step schedule: factor of each decay."},
      {"train.min_lr", "0.0", "cosine schedule: final learning rate."},
      {"train.eval_every", "10", "Steps between evaluations: rows of metrics.csv with train and test loss."},

      {"track.snapshots", "\"log\"",
       "Weights saved at: \"log\" (every early step, then ~per_decade per decade), \"every:K\", "
       "or \"none\" (first and last step only)."},
      {"track.per_decade", "20", "Snapshots per decade of steps in the log schedule."},
      {"track.extra_steps", "[]", "Further steps to snapshot."},
      {"track.threshold", "0.95", "Cosine above which kernels share an orientation or a line."},
      {"track.negligible", "0.01",
       "Kernels with norm below this fraction of the layer's largest are set aside."},
      {"track.with_bias", "false", "Append each kernel's bias to its weight vector in the analysis."},
      {"track.save_cosines", "true",
       "Write every snapshot's cosine matrices (cosines/). false keeps the measures (analysis.csv) "
       "and the weights only: a tenth of the disk for large sweeps, but no heatmaps in the report "
       "(condense analyze RUN writes them later)."},
      {"track.evaluate_at_snapshots", "false",
       "Also evaluate the test split (mini-batch: and the training split) at every snapshot step, "
       "not only every eval_every steps."},
  };
  return keys;
}

std::string config_reference_markdown() {
  std::string text = "| key | default | meaning |\n|---|---|---|\n";
  for (const auto& k : config_keys())
    text += "| `" + k.key + "` | `" + k.default_value + "` | " + k.description + " |\n";
  return text;
}

}  // namespace condense
