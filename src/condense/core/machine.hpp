#pragma once
// What this machine gives, for benchmarks: the nominal clock, the multiply-add throughput measured
// now, the peak memory of this process.
namespace condense {

// The clock /proc/cpuinfo reports for the first CPU ("cpu MHz"), in MHz; 0 when absent. On a
// virtual machine this is the host's nominal clock; boost clocks are not counted.
double cpu_mhz();

// The multiply-add throughput this machine gives now, in GFLOP/s over `threads` threads running at
// once (T: float or double): ten independent chains of vector multiply-adds per thread, the best
// of three runs of about 25 ms. Unlike the nominal peak it counts boost clocks and whatever the
// threads share on a virtual machine.
template <class T>
double measured_peak_gflops(int threads);

// The largest resident memory of this process so far, in MiB.
double peak_rss_mib();

}  // namespace condense
