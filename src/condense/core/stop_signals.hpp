#pragma once
// SIGINT (Ctrl-C) and SIGTERM (a scheduler, mpirun, `kill`) ask condense to stop cleanly: a
// training run saves its checkpoint, a sweep passes the signal on to its workers and waits for
// them. One handler serves every part of the program; nested scopes share it.
namespace condense {

class StopSignals {
 public:
  // The outermost scope installs the handlers (and forgets any earlier request); the handlers
  // that were there before come back when it ends.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal that asked to stop (SIGINT or SIGTERM), or 0.
  int requested() const;
};

}  // namespace condense
