// CIFAR-10 and CIFAR-100 binary batches as data.name = "cifar10" / "cifar100" open them, then the
// pixels of every record. The input is one batch file, read as a CIFAR-10 test batch, as a
// CIFAR-100 file, and as all five CIFAR-10 training batches (the same bytes in each, which reaches
// the records' spread over several files).
#include "fuzz_target.hpp"
#include "image_files_target.hpp"

namespace {

void open_and_read(const std::filesystem::path& folder, condense::SplitKind split, int classes) {
  condense::fuzz::read_every_record(condense::open_cifar(folder.string(), split, classes, ""));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using condense::SplitKind;
  using condense::fuzz::scratch;
  using condense::fuzz::write_bytes;
  condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto& folder = scratch().fresh();
    write_bytes(folder / "test_batch.bin", bytes);
    open_and_read(folder, SplitKind::test, 10);
  });
  condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto& folder = scratch().fresh();
    write_bytes(folder / "test.bin", bytes);
    open_and_read(folder, SplitKind::test, 100);
  });
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto& folder = scratch().fresh();
    for (int batch = 1; batch <= 5; ++batch)
      write_bytes(folder / ("data_batch_" + std::to_string(batch) + ".bin"), bytes);
    open_and_read(folder, SplitKind::train, 10);
  });
}
