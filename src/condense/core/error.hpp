#pragma once
// Errors condense reports to its users. Every message names the file, key, layer or value at fault
// and what was expected; the command line turns them into a message and a non-zero exit code.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace condense {

// Bad input from the user: a config value, a model description, a data or weights file.
// The command line exits with code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reading or writing a file failed (missing, unreadable, disk full). Exit code 2.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training produced a non-finite loss or weights. Carries the optimizer step.
class DivergenceError : public std::runtime_error {
 public:
  DivergenceError(long step, const std::string& what)
      : std::runtime_error(what), step_(step) {}
  long step() const { return step_; }

 private:
  long step_;
};

template <class... Args>
[[noreturn]] void fail_input(fmt::format_string<Args...> format, Args&&... args) {
  throw InputError(fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
[[noreturn]] void fail_io(fmt::format_string<Args...> format, Args&&... args) {
  throw IoError(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace condense
