#include "condense/train/step.hpp"

#include <cmath>
#include <vector>

#include "condense/core/error.hpp"

namespace condense {

template <class T>
StepResult train_step(Model<T>& model, Optimizer<T>& optimizer, LossKind loss,
                      const Batch<T>& batch) {
  const int N = batch.size, K = model.outputs();
  // The output gradient lives as long as the model's batch buffers; one per thread of training.
  thread_local std::vector<T> df;
  if (df.size() < std::size_t(N) * K) df.resize(std::size_t(N) * K);

  model.parameters().zero_grad();
  StepResult result;
  const T* f = nullptr;
  if (model.fuses_step()) {
    // The two-layer CNN goes back through each sample as soon as it has gone forward.
    f = model.forward_backward(batch.inputs, N, batch.same_as_previous, df.data(),
                               [&](std::int64_t n, const T* f_n, T* df_n) {
                                 sample_loss_gradient(loss, f_n, batch.targets, n, N, K, df_n);
                               });
    result.loss = loss_value(loss, f, batch.targets, N, K);
  } else {
    f = model.forward(batch.inputs, N, batch.same_as_previous);
    result.loss = loss_and_gradient(loss, f, batch.targets, N, K, df.data());
  }
  const long step = optimizer.steps_taken();
  if (!std::isfinite(result.loss))
    throw DivergenceError(
        step, fmt::format("training diverged at step {}: the loss is {}", step, result.loss));
  result.correct = count_correct(f, batch.targets, N, K);
  if (!model.fuses_step()) model.backward(df.data());
  if (!model.parameters().grads().allFinite())
    throw DivergenceError(step, fmt::format("training diverged at step {}: a gradient is not "
                                            "finite (loss {})",
                                            step, result.loss));
  optimizer.step(model.parameters().values(), model.parameters().grads());
  return result;
}

template StepResult train_step<float>(Model<float>&, Optimizer<float>&, LossKind,
                                      const Batch<float>&);
template StepResult train_step<double>(Model<double>&, Optimizer<double>&, LossKind,
                                       const Batch<double>&);

}  // namespace condense
