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
  const T* f = model.forward(batch.inputs, N, batch.same_as_previous);
  StepResult result;
  result.loss = loss_and_gradient(loss, f, batch.targets, N, K, df.data());
  const long step = optimizer.steps_taken();
  if (!std::isfinite(result.loss))
    throw DivergenceError(step, fmt::format("training diverged at step {}: the loss is {}", step,
                                            result.loss));
  result.correct = (batch.targets.labels || K == 1) ? count_correct(f, batch.targets, N, K) : 0;
  model.backward(df.data());
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
