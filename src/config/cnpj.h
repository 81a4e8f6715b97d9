// CNPJ: the Brazilian company registry number that identifies a company at the fiscal API.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace gatilho {

// The 14 digits of `text`, which may be written with the usual punctuation
// ("12.345.678/0001-95"). InvalidArgument, with a message that completes a sentence starting
// with the key's name ("cnpj ..."), when it holds other characters, does not have 14 digits,
// is a single digit repeated, or its two check digits do not match the first twelve.
Result<std::string> NormalizeCnpj(std::string_view text);

}  // namespace gatilho
