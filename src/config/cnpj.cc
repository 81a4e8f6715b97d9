#include "config/cnpj.h"

#include <algorithm>

namespace gatilho {
namespace {

// The modulo-11 check digit of the Receita Federal: weights 2..9 repeating from the rightmost
// digit, and a remainder below 2 gives 0.
int CheckDigit(std::string_view digits) {
  int sum = 0;
  int weight = 2;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    sum += (*it - '0') * weight;
    weight = weight == 9 ? 2 : weight + 1;
  }
  int remainder = sum % 11;
  return remainder < 2 ? 0 : 11 - remainder;
}

}  // namespace

Result<std::string> NormalizeCnpj(std::string_view text) {
  // TODO(alphanumeric CNPJ): the Receita Federal starts issuing CNPJs with letters in the first
  // twelve positions in July 2026; accept them here once the fiscal API does.
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c != '.' && c != '/' && c != '-') {
      return Status::InvalidArgument(
          "'" + std::string(text) +
          "' may hold only digits and the punctuation . / -; write it as 12.345.678/0001-95 or "
          "12345678000195");
    }
  }
  if (digits.size() != 14) {
    return Status::InvalidArgument(
        "'" + std::string(text) + "' has " + std::to_string(digits.size()) +
        (digits.size() == 1 ? " digit" : " digits") + "; a CNPJ has 14 (e.g. 12.345.678/0001-95)");
  }
  // A repeated digit passes the check-digit test but is never a real registration.
  if (std::all_of(digits.begin(), digits.end(), [&](char c) { return c == digits.front(); })) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is a placeholder, not a CNPJ; write the company's CNPJ");
  }
  int first = CheckDigit(std::string_view(digits).substr(0, 12));
  int second = CheckDigit(std::string_view(digits).substr(0, 13));
  if (digits[12] - '0' != first || digits[13] - '0' != second) {
    return Status::InvalidArgument(
        "'" + std::string(text) +
        "' has wrong check digits (the last two digits do not match the first twelve); look for "
        "a mistyped digit");
  }
  return digits;
}

}  // namespace gatilho
