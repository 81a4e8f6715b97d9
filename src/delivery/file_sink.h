// FileSink: delivers events as files in a folder, for ERPs that can only read a folder.
//
// Layout. Each event becomes one file, <dir>/<company>/<type>/<ref>.<cycle>.<event>.json, e.g.
// /var/spool/gatilho/acme/nfe/pedido-881.1.autorizado.json, holding the delivery body byte for
// byte. <type> is the document type's name ("nfe", "nfce", ...), <cycle> the decimal cycle
// number, <event> the event type ("autorizado", "cancelado", ...). In the company, ref and event
// parts every byte outside [A-Za-z0-9_-] is written as '%' and two uppercase hex digits ('.' is
// %2E, '/' is %2F, '%' is %25, "ç" is %C3%A7), so a name can never leave its folder, never starts
// with '.', holds no dot but the three separators, and two different events never share a name.
// The company and type folders are created (0750) on first use; files are created 0640 (both
// less the umask).
//
// Guarantees. A file appears under its final name only when it is complete: Write() fills a temp
// file in the same folder, named ".<final name>.<pid>-<n>.tmp" (the final name cut to 200 bytes;
// a reader globbing *.json never sees it), fsyncs it, renames it over the final name and fsyncs the
// folder, so once Write() returns the file survives a crash or a power cut. A reader sees either no
// file, or the whole of one version, never a part. Delivery is at least once: after a crash the
// dispatcher may write the same event again, which replaces the file with the same bytes under the
// same name (an ERP that deletes the files it has read may see it reappear; the name is the event's
// identity). A failed Write() removes its temp file. Files are never modified in place.
//
// Pruning. Prune() removes the <company>/<type>/*.json files whose modification time is older
// than the retention, and temp files older than an hour (left by a crash mid-write). Nothing
// else is touched: the ERP may keep its own files in the folder, and may delete or move ours.
//
// Threads: a FileSink holds no mutable state but a counter; Write() and Prune() may be called
// from any thread, also at once. No exception leaves the class.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/result.h"

namespace gatilho {

class FileSink {
 public:
  struct Options {
    std::string dir;                                 // absolute; created (0750) if missing
    int64_t retention_ms = 30LL * 24 * 3600 * 1000;  // delivered files older than this are pruned
  };

  // Creates the folder (and its missing parents, 0750) if needed and checks that a file can be
  // created in it. InvalidArgument when `dir` is not absolute or retention_ms is not positive;
  // IoError naming the folder and what to do otherwise.
  static Result<std::unique_ptr<FileSink>> Create(Options options);

  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Writes `body` atomically as dir()/RelativePath(event) (see above) and returns that path.
  // InvalidArgument when the event's company, ref or type is empty (it would make no valid name).
  // IoError naming the path and the errno text when the system refuses; no temp file is left
  // and a previous version of the file, if any, is kept. The base folder is not recreated if it
  // has gone (it may be an unmounted share); the company and type folders are.
  Result<std::string> Write(const EventRecord& event, std::string_view body);

  // "<company>/<type>/<ref>.<cycle>.<event>.json", encoded as described above.
  static std::string RelativePath(const EventRecord& event);

  // Removes the delivered files (<company>/<type>/*.json) whose mtime is older than the
  // retention at `now_wall_ms`, and the temp files older than one hour; returns how many were
  // removed. Files that vanish meanwhile (the ERP took them) are not errors. IoError when the
  // folder cannot be read or a file cannot be removed; pruning goes on past such a file and the
  // message names the first one and how many were removed. Empty folders stay.
  Result<size_t> Prune(int64_t now_wall_ms);

  const std::string& dir() const { return dir_; }

 private:
  FileSink(std::string dir, int64_t retention_ms)
      : dir_(std::move(dir)), retention_ms_(retention_ms) {}

  // A temp file name for `final_name`, unique within this process and across processes.
  std::string TempName(std::string_view final_name);

  const std::string dir_;  // without a trailing '/'
  const int64_t retention_ms_;
  std::atomic<uint64_t> temp_counter_{0};
};

}  // namespace gatilho
