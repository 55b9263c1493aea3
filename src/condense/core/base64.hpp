#pragma once
// Base64 (RFC 4648), for embedding images and arrays in self-contained HTML reports.
#include <string>
#include <string_view>

namespace condense {

std::string base64_encode(std::string_view bytes);

}  // namespace condense
