#include "condense/core/stop_signals.hpp"

#include <signal.h>

#include <atomic>

namespace condense {

namespace {

std::atomic<int> g_requested{0};
int g_depth = 0;  // scopes open; the handlers are installed while it is > 0
struct sigaction g_old_int {
}, g_old_term{};

extern "C" void condense_stop_requested(int signal) {
  g_requested.store(signal);
}

}  // namespace

StopSignals::StopSignals() {
  if (g_depth++ > 0) return;
  g_requested.store(0);
  struct sigaction action {};
  action.sa_handler = condense_stop_requested;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_old_int);
  sigaction(SIGTERM, &action, &g_old_term);
}

StopSignals::~StopSignals() {
  if (--g_depth > 0) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int StopSignals::requested() const {
  return g_requested.load();
}

}  // namespace condense
