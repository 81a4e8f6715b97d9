#include "delivery/file_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace gatilho {
namespace {

namespace fs = std::filesystem;
using ::gatilho::testing::ReadFile;
using ::gatilho::testing::TempDir;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kNow = 1'700'000'000'000;

EventRecord MakeEvent(std::string ref, std::string type = "autorizado", uint32_t cycle = 1,
                      DocType doc_type = DocType::kNfe, std::string company = "acme") {
  EventRecord event;
  event.id = "evt-" + ref;
  event.key = WatchKey{std::move(company), doc_type, std::move(ref)};
  event.cycle = cycle;
  event.type = std::move(type);
  return event;
}

std::unique_ptr<FileSink> MakeSink(const std::string& dir, int64_t retention_ms = 30 * kDay) {
  Result<std::unique_ptr<FileSink>> sink = FileSink::Create({dir, retention_ms});
  EXPECT_TRUE(sink.ok()) << sink.status().ToString();
  return sink.ok() ? std::move(sink).value() : nullptr;
}

// Every entry under `root` (files, folders, dot files), as paths relative to it, sorted.
std::set<std::string> ListTree(const std::string& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    out.insert(fs::relative(it->path(), root, ec).string());
  }
  return out;
}

void SetMtime(const std::string& path, int64_t ms) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = ms / 1000;
  times[1].tv_nsec = (ms % 1000) * 1'000'000;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

mode_t CurrentUmask() {
  mode_t mask = umask(0);
  umask(mask);
  return mask;
}

// A self-checking body: a JSON object that states its seed and length, padded with letters that
// are a function of the seed, so any truncation or mix of two versions is detectable.
constexpr size_t kBodyOverhead = sizeof(R"({"seed":"0000000000","len":"0000000000","pad":""})") - 1;

std::string SelfCheckingBody(uint32_t seed, size_t size) {
  char header[64];
  std::snprintf(header, sizeof(header), R"({"seed":"%010u","len":"%010zu","pad":")", seed, size);
  std::string body = header;
  body.reserve(size);
  uint32_t x = seed * 2654435761u + 1;
  while (body.size() + 2 < size) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    body += static_cast<char>('a' + x % 26);
  }
  body += "\"}";
  return body;
}

// "" when `content` is a whole body made by SelfCheckingBody, else what is wrong with it.
std::string CheckBody(const std::string& content) {
  unsigned seed = 0;
  size_t size = 0;
  if (content.size() < kBodyOverhead ||
      std::sscanf(content.c_str(), R"({"seed":"%10u","len":"%10zu")", &seed, &size) != 2) {
    return "no header in " + std::to_string(content.size()) + " bytes";
  }
  if (content.size() != size) {
    return "has " + std::to_string(content.size()) + " of " + std::to_string(size) + " bytes";
  }
  if (content != SelfCheckingBody(seed, size))
    return "content differs from seed " + std::to_string(seed);
  return "";
}

TEST(FileSink, PathLayout) {
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("pedido-881")),
            "acme/nfe/pedido-881.1.autorizado.json");
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("R_2", "carta_correcao", 3, DocType::kCte, "globex")),
            "globex/cte/R_2.3.carta_correcao.json");
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("X", "cancelado", 12, DocType::kNfsen)),
            "acme/nfsen/X.12.cancelado.json");

  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  EventRecord event = MakeEvent("pedido-881");
  Result<std::string> path = sink->Write(event, R"({"status":"autorizado"})");
  ASSERT_TRUE(path.ok()) << path.status().ToString();

  EXPECT_EQ(*path, temp.Sub("sink/acme/nfe/pedido-881.1.autorizado.json"));
  EXPECT_EQ(*path, sink->dir() + "/" + FileSink::RelativePath(event));
  EXPECT_EQ(ReadFile(*path), R"({"status":"autorizado"})");
  EXPECT_EQ(ListTree(sink->dir()),
            (std::set<std::string>{"acme", "acme/nfe", "acme/nfe/pedido-881.1.autorizado.json"}));
}

TEST(FileSink, CreateMakesMissingFoldersAndWritesWithTheDocumentedModes) {
  TempDir temp;
  const mode_t mask = CurrentUmask();
  // A trailing slash is dropped so the paths Write() returns have no "//".
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("a/b/sink/"));
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->dir(), temp.Sub("a/b/sink"));

  Result<std::string> path = sink->Write(MakeEvent("R1"), "{}");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, temp.Sub("a/b/sink/acme/nfe/R1.1.autorizado.json"));

  for (const char* folder : {"a", "a/b", "a/b/sink", "a/b/sink/acme", "a/b/sink/acme/nfe"}) {
    struct stat st;
    ASSERT_EQ(stat(temp.Sub(folder).c_str(), &st), 0) << folder;
    EXPECT_EQ(st.st_mode & 07777, 0750 & ~mask) << folder;
  }
  struct stat st;
  ASSERT_EQ(stat(path->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640 & ~mask);
  // The write check of Create() leaves nothing behind.
  EXPECT_EQ(ListTree(sink->dir()),
            (std::set<std::string>{"acme", "acme/nfe", "acme/nfe/R1.1.autorizado.json"}));
}

TEST(FileSink, CreateRefusesBadOptions) {
  Result<std::unique_ptr<FileSink>> relative = FileSink::Create({"spool/out"});
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(relative.status().message().find("spool/out"), std::string::npos);
  EXPECT_NE(relative.status().message().find("absolute"), std::string::npos);

  EXPECT_EQ(FileSink::Create({""}).status().code(), Status::Code::kInvalidArgument);

  TempDir temp;
  Result<std::unique_ptr<FileSink>> no_retention = FileSink::Create({temp.path(), 0});
  ASSERT_FALSE(no_retention.ok());
  EXPECT_EQ(no_retention.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(no_retention.status().message().find("retention"), std::string::npos);
}

// These hold for root too: no mode bits involved.
TEST(FileSink, CreateFailsClearlyWhenTheFolderCannotBeMade) {
  TempDir temp;
  const std::string file = temp.WriteFile("not-a-folder", "x");

  Result<std::unique_ptr<FileSink>> over_file = FileSink::Create({file});
  ASSERT_FALSE(over_file.ok());
  EXPECT_EQ(over_file.status().code(), Status::Code::kIoError);
  EXPECT_NE(over_file.status().message().find(file), std::string::npos)
      << over_file.status().ToString();
  EXPECT_NE(over_file.status().message().find("Not a directory"), std::string::npos)
      << over_file.status().ToString();

  Result<std::unique_ptr<FileSink>> under_file = FileSink::Create({file + "/sink"});
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.status().code(), Status::Code::kIoError);
  EXPECT_NE(under_file.status().message().find(file + "/sink"), std::string::npos)
      << under_file.status().ToString();
  EXPECT_NE(under_file.status().message().find("; "), std::string::npos)
      << "says what to do: " << under_file.status().ToString();
}

TEST(FileSink, CreateFailsClearlyOnAReadOnlyFolder) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores mode bits; covered by the not-a-folder cases";
  TempDir temp;
  const std::string dir = temp.Sub("ro");
  ASSERT_EQ(mkdir(dir.c_str(), 0500), 0);

  Result<std::unique_ptr<FileSink>> sink = FileSink::Create({dir});
  chmod(dir.c_str(), 0700);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), Status::Code::kIoError);
  EXPECT_NE(sink.status().message().find(dir + " is not writable"), std::string::npos)
      << sink.status().ToString();
  EXPECT_NE(sink.status().message().find("write access"), std::string::npos)
      << sink.status().ToString();
  EXPECT_TRUE(ListTree(dir).empty());
}

TEST(FileSink, HostileRefsStayInsideTheirFolderAndRoundTripDistinctly) {
  const std::vector<std::string> refs = {
      "../../etc/passwd",
      "..",
      ".",
      ".hidden",
      "a/b",
      "a%2Fb",  // the encoding of "a/b" must not be what "a/b" becomes
      "a%2fb",
      "x.tmp",
      ".x.tmp",
      "x.1.autorizado",  // must not look like ref "x" in cycle 1
      "x",
      "a b",
      "tab\there",
      std::string("nul\0byte", 8),
      "a\xC3\xA7\xC3\xA3o",  // "ação"
      "\xE6\x97\xA5\xE6\x9C\xAC",
      "*",
      "\xFF\xFE",  // not UTF-8 at all
  };
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);

  std::map<std::string, std::string> body_by_path;
  for (size_t i = 0; i < refs.size(); ++i) {
    Result<std::string> path = sink->Write(MakeEvent(refs[i]), "body #" + std::to_string(i));
    ASSERT_TRUE(path.ok()) << "ref #" << i << ": " << path.status().ToString();
    EXPECT_TRUE(body_by_path.emplace(*path, "body #" + std::to_string(i)).second)
        << "ref #" << i << " shares " << *path;
  }

  // Nothing escaped: the sink holds acme/nfe and the files in it, and the temp root only the
  // sink.
  EXPECT_EQ(ListTree(temp.path()).count("etc"), 0u);
  std::set<std::string> expected_tree = {"acme", "acme/nfe"};
  for (const auto& [path, body] : body_by_path) {
    fs::path p(path);
    EXPECT_EQ(p.parent_path().string(), sink->dir() + "/acme/nfe") << path;
    std::string name = p.filename().string();
    EXPECT_NE(name.front(), '.') << path;
    EXPECT_TRUE(name.ends_with(".1.autorizado.json")) << path;
    EXPECT_EQ(std::count(name.begin(), name.end(), '.'), 3) << path;
    for (char c : name) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                  c == '%')
          << "byte " << int(static_cast<unsigned char>(c)) << " in " << path;
    }
    EXPECT_EQ(ReadFile(path), body) << path;
    expected_tree.insert("acme/nfe/" + name);
  }
  EXPECT_EQ(ListTree(sink->dir()), expected_tree);
  EXPECT_EQ(ListTree(temp.path()).size(), expected_tree.size() + 1);  // + "sink"

  EXPECT_EQ(FileSink::RelativePath(MakeEvent("../../etc/passwd")),
            "acme/nfe/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.1.autorizado.json");
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("a%2Fb")), "acme/nfe/a%252Fb.1.autorizado.json");
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("x.tmp")), "acme/nfe/x%2Etmp.1.autorizado.json");
  EXPECT_EQ(FileSink::RelativePath(MakeEvent(std::string("nul\0byte", 8))),
            "acme/nfe/nul%00byte.1.autorizado.json");
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("a\xC3\xA7\xC3\xA3o")),
            "acme/nfe/a%C3%A7%C3%A3o.1.autorizado.json");
}

TEST(FileSink, HostileEventTypesAndCompaniesAreEncodedToo) {
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("R", "../x.tmp")),
            "acme/nfe/R.1.%2E%2E%2Fx%2Etmp.json");
  EXPECT_EQ(FileSink::RelativePath(MakeEvent("R", "autorizado", 1, DocType::kNfe, "..")),
            "%2E%2E/nfe/R.1.autorizado.json");

  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  Result<std::string> path =
      sink->Write(MakeEvent("R", "autorizado", 1, DocType::kNfe, ".."), "{}");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, sink->dir() + "/%2E%2E/nfe/R.1.autorizado.json");
}

TEST(FileSink, EventsThatMakeNoNameAreRefused) {
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->Write(MakeEvent(""), "{}").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sink->Write(MakeEvent("R", ""), "{}").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sink->Write(MakeEvent("R", "autorizado", 1, DocType::kNfe, ""), "{}").status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(ListTree(sink->dir()).empty());
}

TEST(FileSink, RewritingAnEventReplacesItsOneFile) {
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  const EventRecord event = MakeEvent("R1");
  const std::string body = SelfCheckingBody(7, 10'000);

  Result<std::string> first = sink->Write(event, body);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat before;
  ASSERT_EQ(stat(first->c_str(), &before), 0);
  Result<std::string> second = sink->Write(event, body);
  ASSERT_TRUE(second.ok()) << second.status().ToString();

  EXPECT_EQ(*second, *first);
  EXPECT_EQ(ReadFile(*second), body);
  EXPECT_EQ(ListTree(sink->dir()),
            (std::set<std::string>{"acme", "acme/nfe", "acme/nfe/R1.1.autorizado.json"}));
  // Replaced, not rewritten in place: a reader holding the old file keeps reading whole bytes.
  struct stat after;
  ASSERT_EQ(stat(second->c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);

  // Another cycle or another event type is another file.
  ASSERT_TRUE(sink->Write(MakeEvent("R1", "autorizado", 2), body).ok());
  ASSERT_TRUE(sink->Write(MakeEvent("R1", "cancelado", 2), body).ok());
  EXPECT_EQ(ListTree(sink->dir()).size(), 5u);
}

TEST(FileSink, AConcurrentReaderNeverSeesAPartialFile) {
  constexpr int kWrites = 500;
  constexpr int kDistinct = 400;  // the last 100 writes replace earlier files with new bodies
  constexpr size_t kMaxBody = 512 * 1024;
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  const std::string root = sink->dir();

  std::atomic<bool> writing_done{false};
  std::atomic<int> verified_reads{0};
  std::atomic<int> verified_while_writing{0};
  std::atomic<int> bad_reads{0};
  std::atomic<int> temp_names_seen{0};
  std::mutex first_bad_mu;
  std::string first_bad;
  std::thread reader([&] {
    for (;;) {
      const bool last_pass = writing_done.load();
      std::error_code ec;
      for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with('.')) ++temp_names_seen;
        // What an ERP globbing *.json reads.
        if (name.starts_with('.') || !name.ends_with(".json")) continue;
        std::string problem = CheckBody(ReadFile(it->path().string()));
        if (problem.empty()) {
          ++verified_reads;
          if (!writing_done.load()) ++verified_while_writing;
        } else {
          ++bad_reads;
          std::lock_guard<std::mutex> lock(first_bad_mu);
          if (first_bad.empty()) first_bad = it->path().string() + ": " + problem;
        }
      }
      if (last_pass) return;
    }
  });

  std::map<std::string, std::string> last_body;  // by path
  for (int i = 0; i < kWrites; ++i) {
    if (i == 10) {
      // Make sure the reader is reading before most of the writes happen.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (verified_reads.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
    }
    const int ref = i < kDistinct ? i : (i - kDistinct) * 4;
    size_t size = kBodyOverhead + (static_cast<size_t>(i) * 104'729) % (kMaxBody - kBodyOverhead);
    if (i % 50 == 0) size = kMaxBody;
    if (i % 50 == 1) size = kBodyOverhead;
    std::string body = SelfCheckingBody(static_cast<uint32_t>(i), size);
    Result<std::string> path = sink->Write(MakeEvent("ref-" + std::to_string(ref), "autorizado", 1,
                                                     ref % 2 ? DocType::kNfe : DocType::kNfce),
                                           body);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    last_body[*path] = std::move(body);
  }
  writing_done = true;
  reader.join();

  EXPECT_EQ(bad_reads.load(), 0) << first_bad;
  EXPECT_GT(verified_while_writing.load(), 0);
  // The temp files exist only while a write is under way; the last pass sees none.
  std::set<std::string> tree = ListTree(root);
  EXPECT_EQ(tree.size(), kDistinct + 3u);  // + acme, acme/nfe, acme/nfce
  for (const std::string& entry : tree) {
    EXPECT_FALSE(fs::path(entry).filename().string().starts_with('.')) << entry;
  }
  ASSERT_EQ(last_body.size(), static_cast<size_t>(kDistinct));
  for (const auto& [path, body] : last_body)
    EXPECT_EQ(ReadFile(path), body) << path;
  std::printf("reader verified %d files (%d while writing), saw %d temp names\n",
              verified_reads.load(), verified_while_writing.load(), temp_names_seen.load());
}

TEST(FileSink, AWriteWhereAFolderIsAFileFailsAndLeavesNothing) {
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  temp.WriteFile("sink/acme/nfe", "a file where the type folder should be");

  Result<std::string> path = sink->Write(MakeEvent("R1"), "{}");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kIoError);
  const std::string message = path.status().message();
  EXPECT_NE(message.find(sink->dir() + "/acme/nfe/R1.1.autorizado.json"), std::string::npos)
      << message;
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
  EXPECT_EQ(ListTree(sink->dir()), (std::set<std::string>{"acme", "acme/nfe"}));
}

TEST(FileSink, AWriteIntoAReadOnlyFolderFailsAndLeavesNothing) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores mode bits; covered by the other failure cases";
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(MakeEvent("R1"), "old").ok());
  const std::string folder = sink->dir() + "/acme/nfe";
  ASSERT_EQ(chmod(folder.c_str(), 0500), 0);

  Result<std::string> path = sink->Write(MakeEvent("R2"), "{}");
  Result<std::string> rewrite = sink->Write(MakeEvent("R1"), "new");
  chmod(folder.c_str(), 0700);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kIoError);
  EXPECT_NE(path.status().message().find(folder + "/R2.1.autorizado.json"), std::string::npos)
      << path.status().ToString();
  EXPECT_NE(path.status().message().find("Permission denied"), std::string::npos)
      << path.status().ToString();
  EXPECT_FALSE(rewrite.ok());
  EXPECT_EQ(ReadFile(folder + "/R1.1.autorizado.json"), "old");
  EXPECT_EQ(ListTree(folder), (std::set<std::string>{"R1.1.autorizado.json"}));
}

// RLIMIT_FSIZE makes write() fail with EFBIG after the temp file exists, as a full disk would.
TEST(FileSink, AWriteThatFailsMidwayRemovesItsTempFileAndKeepsTheOldVersion) {
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  const EventRecord event = MakeEvent("R1");
  const std::string old_body = SelfCheckingBody(1, 1000);
  ASSERT_TRUE(sink->Write(event, old_body).ok());

  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 4096;
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Result<std::string> rewrite = sink->Write(event, SelfCheckingBody(2, 64 * 1024));
  Result<std::string> fresh = sink->Write(MakeEvent("R2"), SelfCheckingBody(3, 64 * 1024));
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, old_handler);

  const std::string folder = sink->dir() + "/acme/nfe";
  ASSERT_FALSE(rewrite.ok());
  EXPECT_EQ(rewrite.status().code(), Status::Code::kIoError);
  EXPECT_NE(rewrite.status().message().find(folder + "/R1.1.autorizado.json"), std::string::npos)
      << rewrite.status().ToString();
  EXPECT_NE(rewrite.status().message().find("File too large"), std::string::npos)
      << rewrite.status().ToString();
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(ReadFile(folder + "/R1.1.autorizado.json"), old_body);
  EXPECT_EQ(ListTree(folder), (std::set<std::string>{"R1.1.autorizado.json"}));
}

TEST(FileSink, AFailedRenameRemovesItsTempFile) {
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);
  // A non-empty folder under the final name: rename() cannot replace it.
  temp.WriteFile("sink/acme/nfe/R1.1.autorizado.json/inside", "x");

  Result<std::string> path = sink->Write(MakeEvent("R1"), "{}");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kIoError);
  EXPECT_NE(path.status().message().find("rename"), std::string::npos) << path.status().ToString();
  EXPECT_EQ(ListTree(sink->dir() + "/acme/nfe"),
            (std::set<std::string>{"R1.1.autorizado.json", "R1.1.autorizado.json/inside"}));
}

// Intake keeps refs short, but a name past NAME_MAX must fail like any other write: the temp name
// is cut short, so it is the rename that fails, and the temp file goes.
TEST(FileSink, ANameTooLongFailsAndLeavesNothing) {
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"));
  ASSERT_NE(sink, nullptr);

  Result<std::string> path = sink->Write(MakeEvent(std::string(300, 'r')), "{}");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kIoError);
  EXPECT_NE(path.status().message().find("File name too long"), std::string::npos)
      << path.status().ToString();
  EXPECT_EQ(ListTree(sink->dir()), (std::set<std::string>{"acme", "acme/nfe"}));
}

TEST(FileSink, AVanishedBaseFolderIsNotRecreated) {
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("share"));
  ASSERT_NE(sink, nullptr);
  ASSERT_EQ(rmdir(sink->dir().c_str()), 0);  // as when a share is unmounted

  Result<std::string> path = sink->Write(MakeEvent("R1"), "{}");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kIoError);
  EXPECT_NE(path.status().message().find(sink->dir()), std::string::npos);
  EXPECT_NE(path.status().message().find("No such file or directory"), std::string::npos)
      << path.status().ToString();
  EXPECT_FALSE(fs::exists(sink->dir()));

  Result<size_t> pruned = sink->Prune(kNow);
  ASSERT_FALSE(pruned.ok());
  EXPECT_EQ(pruned.status().code(), Status::Code::kIoError);
  EXPECT_NE(pruned.status().message().find(sink->dir()), std::string::npos);
}

TEST(FileSink, PruneRemovesOldDeliveredFilesAndStaleTempFilesOnly) {
  constexpr int64_t kRetention = 10 * kDay;
  TempDir temp;
  std::unique_ptr<FileSink> sink = MakeSink(temp.Sub("sink"), kRetention);
  ASSERT_NE(sink, nullptr);
  const std::string dir = sink->dir();
  auto write = [&](const EventRecord& event, int64_t mtime_ms) {
    Result<std::string> path = sink->Write(event, "{}");
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    SetMtime(*path, mtime_ms);
  };
  auto place = [&](const std::string& name, int64_t mtime_ms) {
    SetMtime(temp.WriteFile("sink/" + name, "x"), mtime_ms);
  };

  write(MakeEvent("old"), kNow - kRetention - kMinute);
  write(MakeEvent("fresh"), kNow - kRetention + kMinute);
  write(MakeEvent("older", "cancelado", 2, DocType::kCte, "globex"), kNow - 20 * kDay);
  place("acme/nfe/.old.1.autorizado.json.99-0.tmp", kNow - 2 * kHour);
  place("acme/nfe/.recent.1.autorizado.json.99-1.tmp", kNow - 10 * kMinute);
  place(".write-check.99-0.tmp", kNow - 2 * kHour);
  // Not the sink's: kept whatever their age.
  place("acme/nfe/notes.txt", kNow - 90 * kDay);
  place("acme/nfe/archive/old.1.autorizado.json", kNow - 90 * kDay);
  place("acme/reports/old.json", kNow - 90 * kDay);
  place("readme.json", kNow - 90 * kDay);
  place("acme/cte_os/old.1.autorizado.json", kNow - 90 * kDay);

  Result<size_t> pruned = sink->Prune(kNow);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 4u);
  EXPECT_EQ(ListTree(dir), (std::set<std::string>{
                               "acme",
                               "acme/nfe",
                               "acme/nfe/fresh.1.autorizado.json",
                               "acme/nfe/.recent.1.autorizado.json.99-1.tmp",
                               "acme/nfe/notes.txt",
                               "acme/nfe/archive",
                               "acme/nfe/archive/old.1.autorizado.json",
                               "acme/reports",
                               "acme/reports/old.json",
                               "acme/cte_os",
                               "acme/cte_os/old.1.autorizado.json",
                               "readme.json",
                               "globex",
                               "globex/cte",
                           }));

  Result<size_t> again = sink->Prune(kNow);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 0u);

  // An hour later the recent temp file is stale, and a day past its retention the fresh file
  // goes too.
  Result<size_t> later = sink->Prune(kNow + kDay);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(*later, 2u);
  EXPECT_EQ(ListTree(dir + "/acme/nfe"),
            (std::set<std::string>{"notes.txt", "archive", "archive/old.1.autorizado.json"}));
}

TEST(FileSink, PruneUsesTheDefaultRetentionOfThirtyDays) {
  TempDir temp;
  Result<std::unique_ptr<FileSink>> sink = FileSink::Create({temp.Sub("sink")});
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  Result<std::string> kept = (*sink)->Write(MakeEvent("kept"), "{}");
  Result<std::string> gone = (*sink)->Write(MakeEvent("gone"), "{}");
  ASSERT_TRUE(kept.ok() && gone.ok());
  SetMtime(*kept, kNow - 29 * kDay);
  SetMtime(*gone, kNow - 31 * kDay);

  Result<size_t> pruned = (*sink)->Prune(kNow);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 1u);
  EXPECT_TRUE(fs::exists(*kept));
  EXPECT_FALSE(fs::exists(*gone));
}

}  // namespace
}  // namespace gatilho
