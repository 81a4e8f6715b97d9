// Fuzz target: the config parser. The input is written as a global file and as a company file
// (acme.conf) in a temp dir made once per process, and each is loaded. Neither may crash, and a
// refused file's message must not echo the value of a secret key (token, secret, authorization,
// basic_auth, bearer_token, operator_secret).
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config/config.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

const std::filesystem::path& Dir() {
  static const std::filesystem::path dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gatilho-config-fuzz-XXXXXX").string();
    Check(mkdtemp(pattern.data()) != nullptr);
    std::filesystem::create_directories(std::filesystem::path(pattern) / "companies");
    return std::filesystem::path(pattern);
  }();
  return dir;
}

void Write(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  Check(out.good());
}

std::string_view Trim(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// Loads `text` as the file at `path` and returns the message of its refusal ("" when loaded).
template <typename Load>
std::string Refusal(const std::filesystem::path& path, std::string_view text, Load load) {
  Write(path, text);
  auto loaded = load(path.string());
  return loaded.ok() ? std::string() : loaded.status().message();
}

// No value of a secret key that occurs once in the input appears in the refusal `message` of
// the file at `path`, unless it still does once that value is replaced: then the message has
// it from elsewhere (the fuzzer copies message text into values).
template <typename Load>
void CheckNoSecretIn(std::string_view input, const std::string& message,
                     const std::filesystem::path& path, Load load) {
  constexpr std::array<std::string_view, 6> kSecretKeys = {
      "token", "secret", "authorization", "basic_auth", "bearer_token", "operator_secret"};
  std::string_view rest = input;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, equals));
    std::string_view after = line.substr(equals + 1);
    std::string_view value = Trim(after.substr(0, after.find('#')));
    bool secret = false;
    for (std::string_view name : kSecretKeys)
      secret = secret || key == name;
    if (!secret || value.size() < 12) continue;
    if (input.find(value) != input.rfind(value)) continue;
    if (Dir().string().find(value) != std::string::npos) continue;
    if (message.find(value) == std::string::npos) continue;
    // The stand-in keeps a whsec_ prefix, or the file would be refused for another reason; its
    // '*' are no base64, so a secret that was refused for its body still is.
    std::string stand_in(value.size(), 'Q');
    if (value.starts_with("whsec_")) stand_in = "whsec_" + std::string(value.size() - 6, '*');
    std::string masked(input);
    masked.replace(static_cast<size_t>(value.data() - input.data()), value.size(), stand_in);
    Check(Refusal(path, masked, load).find(value) != std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path global = Dir() / "gatilho.conf";
  const std::filesystem::path company = Dir() / "companies" / "acme.conf";
  auto load_global = [](const std::string& path) { return gatilho::LoadGlobalConfig(path); };
  auto load_company = [](const std::string& path) {
    gatilho::Result<gatilho::CompanyConfig> loaded = gatilho::LoadCompanyConfig(path);
    if (loaded.ok()) Check(loaded->id == "acme");
    return loaded;
  };
  std::string global_refusal = Refusal(global, input, load_global);
  if (!global_refusal.empty()) CheckNoSecretIn(input, global_refusal, global, load_global);
  std::string company_refusal = Refusal(company, input, load_company);
  if (!company_refusal.empty()) CheckNoSecretIn(input, company_refusal, company, load_company);
  return 0;
}
