#include "api/spool_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/temp_dir.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

namespace fs = std::filesystem;

const SpoolCompanies kCompanies = {{"acme", {DocType::kNfe, DocType::kNfse}},
                                   {"beta", {DocType::kNfe}}};

// Counts StoreChanged() calls, as the daemon's inbox would take them.
class CountingLink : public IntakeLink {
 public:
  void StoreChanged() override { ++store_changed; }
  void ErpRequest(ErpRequestSeen) override {}
  void SyncAnswerSeen(SyncAnswer) override {}
  RuntimeFigures Figures() const override { return {}; }
  std::atomic<int> store_changed{0};
};

class SpoolFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options options;
    options.dir = dir_.Sub("data");
    Result<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  std::string Spool() const { return dir_.Sub("spool"); }

  std::unique_ptr<SpoolFolder> MakeFolder(IntakeLink* link = nullptr) {
    SpoolFolder::Options options;
    options.dir = Spool();
    options.companies = kCompanies;
    options.settle_ms = 0;
    options.rescan_ms = 200;
    Result<std::unique_ptr<SpoolFolder>> folder =
        SpoolFolder::Create(options, *store_, clock_, link);
    EXPECT_TRUE(folder.ok()) << folder.status().ToString();
    return folder.ok() ? std::move(*folder) : nullptr;
  }

  // The names of the regular files in spool/<sub>.
  std::vector<std::string> FilesIn(const std::string& sub) const {
    std::vector<std::string> names;
    std::error_code error;
    for (fs::directory_iterator it(Spool() + "/" + sub, error), end; !error && it != end;
         it.increment(error)) {
      if (it->is_regular_file()) names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<DueWatch> Watches() {
    Result<std::vector<DueWatch>> watches = store_->ListWatches("", std::nullopt, 100'000);
    EXPECT_TRUE(watches.ok()) << watches.status().ToString();
    return watches.ok() ? *watches : std::vector<DueWatch>{};
  }

  TempDir dir_;
  VirtualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(SpoolFolderTest, FileIsRegisteredAndMovedToDone) {
  CountingLink link;
  std::unique_ptr<SpoolFolder> folder = MakeFolder(&link);
  dir_.WriteFile("spool/pedidos-1.txt", "acme nfe 1234\nbeta nfe 77\n");

  SpoolFolder::PassCounts counts = folder->TakeAll();

  EXPECT_EQ(counts.taken, 1u);
  EXPECT_EQ(counts.watches, 2u);
  std::vector<DueWatch> watches = Watches();
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_EQ(watches[0].key, (WatchKey{"acme", DocType::kNfe, "1234"}));
  EXPECT_EQ(watches[0].record.state, WatchState::kPending);
  EXPECT_EQ(watches[1].key, (WatchKey{"beta", DocType::kNfe, "77"}));
  EXPECT_EQ(FilesIn("done"), std::vector<std::string>{"pedidos-1.txt"});
  EXPECT_TRUE(FilesIn("").empty());
  EXPECT_TRUE(FilesIn("processing").empty());
  EXPECT_EQ(link.store_changed, 1) << "the loop is told to re-read its schedule";
}

TEST_F(SpoolFolderTest, FileIsTakenExactlyOnceByTwoRacingInstances) {
  std::unique_ptr<SpoolFolder> first = MakeFolder();
  std::unique_ptr<SpoolFolder> second = MakeFolder();
  constexpr int kFiles = 200;
  for (int i = 0; i < kFiles; ++i) {
    dir_.WriteFile("spool/f" + std::to_string(i), "acme nfe R" + std::to_string(i) + "\n");
  }

  SpoolFolder::PassCounts a, b;
  std::thread racer([&] { a = first->TakeAll(); });
  b = second->TakeAll();
  racer.join();

  EXPECT_EQ(a.taken + b.taken, static_cast<size_t>(kFiles));
  EXPECT_EQ(a.failed + b.failed, 0u);
  std::vector<std::string> done = FilesIn("done");
  EXPECT_EQ(done.size(), static_cast<size_t>(kFiles)) << "no file moved twice (a .1 copy)";
  for (const std::string& name : done)
    EXPECT_EQ(name.find('.'), std::string::npos) << name;
  EXPECT_EQ(Watches().size(), static_cast<size_t>(kFiles));
  for (const DueWatch& watch : Watches())
    EXPECT_EQ(watch.record.cycle, 1u) << watch.key.ToString() << " registered once";
}

TEST_F(SpoolFolderTest, BadFileLeavesTheStoreUnchangedAndGetsAReason) {
  std::unique_ptr<SpoolFolder> folder = MakeFolder();
  dir_.WriteFile("spool/lote.txt", "acme nfe 1\nacme cte 2\nacme nfe 3\n");

  SpoolFolder::PassCounts counts = folder->TakeAll();

  EXPECT_EQ(counts.rejected, 1u);
  EXPECT_TRUE(Watches().empty()) << "all or nothing";
  EXPECT_THAT(FilesIn("rejected"), UnorderedElementsAre("lote.txt", "lote.txt.reason"));
  EXPECT_EQ(ReadFile(Spool() + "/rejected/lote.txt"), "acme nfe 1\nacme cte 2\nacme nfe 3\n");
  EXPECT_THAT(ReadFile(Spool() + "/rejected/lote.txt.reason"),
              HasSubstr("line 2: company acme does not watch cte documents"));
  EXPECT_TRUE(FilesIn("done").empty());
}

TEST_F(SpoolFolderTest, FileLeftInProcessingByACrashIsFinishedFirst) {
  dir_.WriteFile("spool/processing/crashed.txt", "acme nfse 9\n");
  dir_.WriteFile("spool/processing/bad.txt", "acme nfse a/b\n");
  std::unique_ptr<SpoolFolder> folder = MakeFolder();

  SpoolFolder::PassCounts counts = folder->TakeAll();

  EXPECT_EQ(counts.taken, 1u);
  EXPECT_EQ(counts.rejected, 1u);
  ASSERT_EQ(Watches().size(), 1u);
  EXPECT_EQ(Watches()[0].key, (WatchKey{"acme", DocType::kNfse, "9"}));
  EXPECT_EQ(FilesIn("done"), std::vector<std::string>{"crashed.txt"});
  EXPECT_THAT(FilesIn("rejected"), UnorderedElementsAre("bad.txt", "bad.txt.reason"));
  EXPECT_TRUE(FilesIn("processing").empty());
}

TEST_F(SpoolFolderTest, RecoveryOfAFileAlreadyRegisteredChangesNothingForPendingWatches) {
  std::unique_ptr<SpoolFolder> folder = MakeFolder();
  dir_.WriteFile("spool/a.txt", "acme nfe 1\n");
  folder->TakeAll();
  // As if the crash came after the store took the file but before the move to done/.
  dir_.WriteFile("spool/processing/a.txt", "acme nfe 1\n");

  folder->TakeAll();

  ASSERT_EQ(Watches().size(), 1u);
  EXPECT_EQ(Watches()[0].record.cycle, 1u);
  EXPECT_EQ(FilesIn("done"), (std::vector<std::string>{"a.txt", "a.txt.1"}));
}

TEST_F(SpoolFolderTest, RecoveryDoesNotReopenAWatchThatFinishedAfterTheCrash) {
  // The file was claimed (now), the store took its first watch a moment later, the daemon
  // crashed before the move to done/, and that watch finished before the restart.
  dir_.WriteFile("spool/processing/a.txt", "acme nfe 1\nacme nfe 2\n");
  const WatchKey registered{"acme", DocType::kNfe, "1"};
  int64_t after_claim = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() +
                        1'000;
  ASSERT_TRUE(store_->AddWatches({registered}, after_claim, after_claim).ok());
  Result<WatchRecord> record = store_->GetWatch(registered);
  ASSERT_TRUE(record.ok());
  WatchUpdate finished{registered, 1, *record, {}, std::nullopt};
  finished.record.state = WatchState::kDone;
  finished.record.next_poll_ms = 0;
  ASSERT_TRUE(store_->Apply({finished}).ok());
  std::unique_ptr<SpoolFolder> folder = MakeFolder();

  SpoolFolder::PassCounts counts = folder->TakeAll();

  EXPECT_EQ(counts.taken, 1u);
  std::vector<DueWatch> watches = Watches();
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_EQ(watches[0].record.state, WatchState::kDone) << "not re-opened";
  EXPECT_EQ(watches[0].record.cycle, 1u);
  EXPECT_EQ(watches[1].key.ref, "2") << "the rest of the file is registered";
  EXPECT_EQ(FilesIn("done"), std::vector<std::string>{"a.txt"});
}

TEST_F(SpoolFolderTest, NamesBeingWrittenAreIgnored) {
  std::unique_ptr<SpoolFolder> folder = MakeFolder();
  dir_.WriteFile("spool/.hidden", "acme nfe 1\n");
  dir_.WriteFile("spool/lote.tmp", "acme nfe 2\n");
  dir_.WriteFile("spool/lote.part", "acme nfe 3\n");

  SpoolFolder::PassCounts counts = folder->TakeAll();

  EXPECT_EQ(counts.taken, 0u);
  EXPECT_TRUE(Watches().empty());
  EXPECT_THAT(FilesIn(""), UnorderedElementsAre(".hidden", "lote.part", "lote.tmp"));
}

TEST_F(SpoolFolderTest, RecentFileWrittenInPlaceWaitsUntilItSettles) {
  SpoolFolder::Options options;
  options.dir = Spool();
  options.companies = kCompanies;
  options.settle_ms = 60'000;
  Result<std::unique_ptr<SpoolFolder>> folder =
      SpoolFolder::Create(options, *store_, clock_, nullptr);
  ASSERT_TRUE(folder.ok());
  std::string path = dir_.WriteFile("spool/growing.txt", "acme nfe 1\n");

  EXPECT_EQ((*folder)->TakeAll().taken, 0u);

  auto old = fs::file_time_type::clock::now() - std::chrono::minutes(2);
  fs::last_write_time(path, old);
  EXPECT_EQ((*folder)->TakeAll().taken, 1u);
}

TEST_F(SpoolFolderTest, RunningIntakeTakesARenamedFileWithinASecond) {
  CountingLink link;
  std::unique_ptr<SpoolFolder> folder = MakeFolder(&link);
  ASSERT_TRUE(folder->Start().ok());
  dir_.WriteFile("spool/novo.txt.part", "acme nfe 5\n");
  ASSERT_EQ(rename((Spool() + "/novo.txt.part").c_str(), (Spool() + "/novo.txt").c_str()), 0);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (FilesIn("done").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  folder->Stop();

  EXPECT_EQ(FilesIn("done"), std::vector<std::string>{"novo.txt"});
  EXPECT_EQ(Watches().size(), 1u);
  EXPECT_EQ(link.store_changed, 1);
}

TEST_F(SpoolFolderTest, ReloadedCompaniesApplyToTheNextFile) {
  std::unique_ptr<SpoolFolder> folder = MakeFolder();
  dir_.WriteFile("spool/a.txt", "gama nfe 1\n");
  EXPECT_EQ(folder->TakeAll().rejected, 1u);

  SpoolCompanies with_gama = kCompanies;
  with_gama["gama"] = {DocType::kNfe};
  folder->SetCompanies(with_gama);
  dir_.WriteFile("spool/b.txt", "gama nfe 1\n");

  EXPECT_EQ(folder->TakeAll().taken, 1u);
}

}  // namespace
}  // namespace gatilho
