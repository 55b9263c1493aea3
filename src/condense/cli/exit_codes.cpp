#include "condense/cli/exit_codes.hpp"

#include <fmt/format.h>

#include <new>

#include "condense/cli/commands.hpp"
#include "condense/core/error.hpp"

namespace condense {

int exit_code_for(std::exception_ptr error, std::FILE* out) {
  try {
    std::rethrow_exception(error);
  } catch (const CommandExit& e) {
    return e.code;
  } catch (const InputError& e) {
    fmt::print(out, "condense: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const IoError& e) {
    fmt::print(out, "condense: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const DivergenceError& e) {
    fmt::print(out, "condense: error: {}\n", e.what());
    return kExitDiverged;
  } catch (const std::bad_alloc&) {
    // The memory estimate (condense train --dry-run) refuses runs that cannot fit before they
    // start; what still runs out of memory is the settings or the input asking for too much.
    fmt::print(out, "condense: error: out of memory: the settings or the input ask for more "
                    "memory than this machine has\n");
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(out, "condense: internal error: {}\nThis is a bug in condense: please report it "
                    "with the command that caused it.\n",
               e.what());
    return kExitInternal;
  } catch (...) {
    fmt::print(out, "condense: internal error: an unknown exception\nThis is a bug in condense: "
                    "please report it with the command that caused it.\n");
    return kExitInternal;
  }
}

}  // namespace condense
