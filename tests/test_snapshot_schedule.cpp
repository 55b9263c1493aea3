// The length of a run and its snapshot schedule (train/trainer.hpp). The schedule keeps "every:K"
// as a rule: its count, its membership test and the count after a resumed step must agree with the
// steps listed one by one. The length never wraps.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "condense/core/error.hpp"
#include "condense/train/trainer.hpp"

namespace {

using condense::SnapshotSchedule;
using condense::TrackConfig;

TEST(SnapshotSchedule, CountsAndMembershipAgreeWithTheListedSteps) {
  for (const char* rule : {"log", "none", "every:1", "every:3", "every:7", "every:100"}) {
    for (long total : {0L, 1L, 2L, 6L, 7L, 50L, 99L, 100L, 101L, 1000L}) {
      for (const std::vector<long>& extra : std::vector<std::vector<long>>{{}, {0, 3, 7, 49, 2000}}) {
        TrackConfig track;
        track.snapshots = rule;
        track.per_decade = 5;
        track.extra_steps = extra;
        const SnapshotSchedule schedule(track, total);
        const std::vector<long> steps = schedule.steps();
        const std::string where = std::string(rule) + " total " + std::to_string(total);
        ASSERT_EQ(schedule.count(), long(steps.size())) << where;
        for (long s = -2; s <= total + 2; ++s) {
          EXPECT_EQ(schedule.contains(s), std::binary_search(steps.begin(), steps.end(), s))
              << where << " step " << s;
          const long after = long(steps.end() - std::upper_bound(steps.begin(), steps.end(), s));
          EXPECT_EQ(schedule.count_after(s), after) << where << " after " << s;
        }
      }
    }
  }
}

TEST(SnapshotSchedule, ABillionStepsAreCountedNotListed) {
  TrackConfig track;
  track.snapshots = "every:1";
  const long total = 1'000'000'000'000L;
  const SnapshotSchedule schedule(track, total);
  EXPECT_EQ(schedule.count(), total + 1);
  EXPECT_EQ(schedule.count_after(total / 2), total / 2);
  EXPECT_TRUE(schedule.contains(total - 1));
  EXPECT_FALSE(schedule.contains(total + 1));
  track.snapshots = "every:3";
  EXPECT_EQ(SnapshotSchedule(track, total).count(), (total - 1) / 3 + 2);
}

TEST(RunLength, EpochsTimesBatchesBeyond2To53AreRefusedNotWrapped) {
  condense::TrainConfig train;
  train.epochs = 1L << 52;
  train.batch_size = 10;
  EXPECT_EQ(condense::total_steps(train, 20), 1L << 53);
  train.batch_size = 5;  // 4 batches per epoch: 2^54 steps
  try {
    condense::total_steps(train, 20);
    ADD_FAILURE() << "2^54 steps were accepted";
  } catch (const condense::InputError& e) {
    EXPECT_STREQ(e.what(), "train.epochs = 4503599627370496 with 4 batches per epoch is more than "
                           "2^53 steps");
  }
}

}  // namespace
