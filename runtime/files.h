// Whole-file reads that refuse what is not a file, and writes that survive a crash.
//
// read_file_bytes reads regular files only: a device (/dev/zero, /dev/urandom), a FIFO
// or a socket given as a model, weights, data or checkpoint would otherwise be read
// until memory runs out, or block forever. It reads the size the file has when opened.
//
// write_file_durable writes a temporary file beside the target, flushes it to the disk,
// renames it over the target and flushes the directory, so that a crash or a kill at any
// point leaves either the old file or the new one, whole. The temporary's name is
// `path.tmp.<pid>` (`temporary_path`), which lets a later run recognise and remove the
// leftovers of a killed one (remove_stale_temporaries).
//
// Standard C++17 plus, on POSIX systems, open/fsync/rename/kill (elsewhere the write is
// atomic where std::rename is, without the flushes, and nothing is recognised as stale).
#pragma once

#include "runtime/array.h" // FormatError

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#if defined(__unix__) || defined(__APPLE__)
#define DLC_RT_POSIX_FILES 1
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>
#endif

namespace dlc_rt {

// The file's bytes. Throws FormatError ("cannot open: reason", "not a regular file ...").
inline std::string read_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw FormatError("cannot open file: " + (ec ? ec.message() : std::string("no such file")));
  if (fs::is_directory(st)) throw FormatError("is a directory, expected a file");
  if (!fs::is_regular_file(st))
    throw FormatError("not a regular file (a device, FIFO or socket cannot be read as a file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(std::string("cannot open file: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw FormatError("cannot read file");
  std::string bytes(size_t(size), '\0');
  in.read(bytes.data(), size);
  if (in.gcount() != size) throw FormatError("cannot read file (it changed while being read?)");
  return bytes;
}

inline std::string temporary_path(const std::string& path) {
#ifdef DLC_RT_POSIX_FILES
  return path + ".tmp." + std::to_string(long(::getpid()));
#else
  return path + ".tmp";
#endif
}

namespace files_detail {

#ifdef DLC_RT_POSIX_FILES
inline bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += size_t(w);
  }
  return true;
}

// fsync of the directory holding `path`: makes a rename in it durable.
inline bool sync_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int rc = ::fsync(fd);
  ::close(fd);
  // Some file systems cannot sync a directory; the rename itself has happened.
  return rc == 0 || errno == EINVAL || errno == EROFS;
}
#endif

} // namespace files_detail

// Replaces `path` by `bytes` atomically and durably. Throws FormatError with the reason
// (the caller adds the file name); on failure the old file is untouched and no temporary
// is left behind.
inline void write_file_durable(const std::string& path, const std::string& bytes) {
  const std::string tmp = temporary_path(path);
#ifdef DLC_RT_POSIX_FILES
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw FormatError(std::string("cannot write file: ") + std::strerror(errno));
  bool ok = files_detail::write_all(fd, bytes) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    throw FormatError(std::string("cannot write file: ") + std::strerror(err ? err : EIO));
  }
  if (!files_detail::sync_directory(path))
    throw FormatError(std::string("written, but its directory could not be flushed to disk: ") + std::strerror(errno));
#else
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw FormatError("cannot write file");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw FormatError("cannot write file: " + ec.message());
  }
#endif
}

// Removes the temporaries `<base>.tmp.<pid>` in `dir` that a killed process left behind
// (the pid names no running process). Returns how many were removed.
inline int remove_stale_temporaries(const std::string& dir, const std::string& base) {
  int removed = 0;
#ifdef DLC_RT_POSIX_FILES
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string prefix = base + ".tmp.";
  for (fs::directory_iterator it(dir.empty() ? "." : dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    long pid = std::stol(pid_text);
    if (pid <= 0 || (::kill(pid_t(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code rm;
      if (fs::remove(it->path(), rm)) removed++;
    }
  }
#else
  (void)dir;
  (void)base;
#endif
  return removed;
}

} // namespace dlc_rt
