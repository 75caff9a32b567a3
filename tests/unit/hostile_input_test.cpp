// Input built to hurt, at the library level (tests/hostile/run.sh drives the same through
// the `dlc` command): files that are not files, writes interrupted by a kill, user text in
// error messages and in emitted C++.
#include "codegen/cpp/emit_detail.h"
#include "ir/error.h"
#include "runtime/files.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

std::string read_error(const std::string& path) {
  try {
    dlc_rt::read_file_bytes(path);
  } catch (const dlc_rt::FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

fs::path scratch(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("dlc-hostile-" + tag + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_CASE("read_file_bytes refuses devices, FIFOs and directories instead of reading forever") {
  CHECK(read_error("/dev/zero").find("not a regular file") != std::string::npos);
  CHECK(read_error("/dev/urandom").find("not a regular file") != std::string::npos);
  fs::path d = scratch("read");
  fs::path fifo = d / "fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(read_error(fifo.string()).find("not a regular file") != std::string::npos); // no writer: would block
  CHECK(read_error(d.string()).find("is a directory") != std::string::npos);
  CHECK(read_error((d / "missing").string()).find("No such file") != std::string::npos);
  std::ofstream(d / "f", std::ios::binary) << std::string("a\0b", 3);
  CHECK(dlc_rt::read_file_bytes((d / "f").string()) == std::string("a\0b", 3));
  fs::remove_all(d);
}

TEST_CASE("write_file_durable replaces a file whole and leaves no temporary") {
  fs::path d = scratch("write");
  std::string path = (d / "w.safetensors").string();
  dlc_rt::write_file_durable(path, "first");
  dlc_rt::write_file_durable(path, "second");
  CHECK(slurp(path) == "second");
  CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 1);
  // A write that cannot happen leaves the old file and nothing else.
  CHECK_THROWS_AS(dlc_rt::write_file_durable((d / "no" / "such" / "dir").string(), "x"), dlc_rt::FormatError);
  fs::create_directory(d / "blocked");
  CHECK_THROWS_AS(dlc_rt::write_file_durable((d / "blocked").string(), "x"), dlc_rt::FormatError); // a directory
  CHECK(slurp(path) == "second");
  CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 2);
  fs::remove_all(d);
}

TEST_CASE("the temporaries of killed runs are removed; those of live processes are kept") {
  fs::path d = scratch("stale");
  std::string live = "w.safetensors.tmp." + std::to_string(getpid());
  for (const std::string& name : {std::string("w.safetensors.tmp.999999999"), live, std::string("w.safetensors.tmp.x"),
                                  std::string("other.tmp.999999999"), std::string("w.safetensors")})
    std::ofstream(d / name) << "x";
  CHECK(dlc_rt::remove_stale_temporaries(d.string(), "w.safetensors") == 1);
  CHECK(!fs::exists(d / "w.safetensors.tmp.999999999"));
  CHECK(fs::exists(d / live));
  CHECK(fs::exists(d / "w.safetensors.tmp.x"));      // not a pid: not ours
  CHECK(fs::exists(d / "other.tmp.999999999"));       // another file's
  CHECK(fs::exists(d / "w.safetensors"));
  fs::remove_all(d);
}

TEST_CASE("clip: user text in a message is short, one line and valid UTF-8") {
  CHECK(dlc::clip("dense") == "dense");
  CHECK(dlc::clip("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(dlc::clip(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(dlc::clip("caf\xc3\xa9") == "caf\xc3\xa9");     // valid UTF-8 stays
  CHECK(dlc::clip("bad\xff\xc3") == "bad\\xff\\xc3"); // invalid bytes are escaped
  std::string huge(200'000'000, 'k');
  std::string c = dlc::clip(huge);
  CHECK(c.size() < 120);
  CHECK(c.find("... (200000000 bytes)") != std::string::npos);
  // Cut at a character boundary: a 2-byte character is kept whole or not at all.
  std::string accents;
  for (int i = 0; i < 60; i++) accents += "\xc3\xa9";
  std::string a = dlc::clip(accents, 81);
  CHECK(a.substr(0, 82) == accents.substr(0, 82));
  CHECK(dlc::one_line("line 1\nline 2").find('\n') == std::string::npos);
  CHECK(dlc::did_you_mean(huge, {"dense", "conv2d"}).empty()); // no quadratic distance on a huge word
}

TEST_CASE("did you mean: a swap of two letters is one slip, closer than a dropped letter") {
  std::vector<std::string> acts = {"elu", "relu", "selu", "gelu", "sigmoid"};
  CHECK(dlc::nearest_name("rleu", acts) == "relu");
  CHECK(dlc::nearest_name("sigmiod", acts) == "sigmoid");
  CHECK(dlc::nearest_name("elu", acts) == "elu");
  CHECK(dlc::nearest_name("softmax_cross", acts).empty());
}

TEST_CASE("user text in emitted C++: comments cannot be closed or continued, literals are exact") {
  using dlc::codegen::cpp::comment_text;
  using dlc::codegen::cpp::string_literal;
  std::string evil = "a*/b\nstatic int x = system(\"id\"); //\\\n?" "?/ /* \xff";
  std::string c = comment_text(evil);
  for (char bad : {'\n', '*', '?', '\r', '\0'}) CHECK(c.find(bad) == std::string::npos);
  // Backslashes appear only as the start of \xNN escapes (never before a line end).
  for (size_t at = c.find('\\'); at != std::string::npos; at = c.find('\\', at + 1)) CHECK(c.compare(at, 2, "\\x") == 0);
  CHECK(c.find("\\x5c") != std::string::npos);
  CHECK(comment_text(std::string(500, 'x')).size() < 260);
  // Every byte value survives a string literal: build a program that prints it back.
  std::string all;
  for (int b = 1; b < 256; b++) all += char(b);
  all += "?" "?/?" "?=0123"; // trigraphs and digits after escapes
  fs::path d = scratch("literal");
  std::ofstream(d / "p.cpp") << "#include <cstdio>\n#include <cstring>\nint main() { const char s[] = "
                             << string_literal(all) << "; std::fwrite(s, 1, sizeof s - 1, stdout); }\n";
  std::string cmd = "g++ -std=c++17 -Wall -Wextra -Werror -o '" + (d / "p").string() + "' '" + (d / "p.cpp").string() +
                    "' && '" + (d / "p").string() + "' > '" + (d / "out").string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(slurp(d / "out") == all);
  CHECK_THROWS_AS(dlc::codegen::cpp::check_include_name("a\"b.h"), dlc::Error);
  CHECK_THROWS_AS(dlc::codegen::cpp::check_include_name("a\nb.h"), dlc::Error);
  CHECK_NOTHROW(dlc::codegen::cpp::check_include_name("net-v2 (copy).h"));
  fs::remove_all(d);
}
