// Digests used for stable identifiers (event ids, token keys). Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>

namespace gatilho {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// A short, stable, non-reversible handle for a secret (the first 16 hex digits of its SHA-256),
// safe to store and to print where the secret itself must never appear.
std::string SecretHandle(std::string_view secret);

// The secret with all but its last four characters replaced by '*', for human output
// ("****abcd"); a secret of eight characters or fewer is fully masked.
std::string MaskSecret(std::string_view secret);

}  // namespace gatilho
