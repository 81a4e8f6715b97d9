#include "core/watch.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(WatchKey, EncodeDecodeRoundTrips) {
  WatchKey key{"acme", DocType::kNfse, "PEDIDO-123"};
  auto decoded = WatchKey::Decode(key.Encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, key);
}

TEST(WatchKey, EncodingSortsByCompanyThenTypeThenRef) {
  WatchKey a{"acme", DocType::kNfe, "Z"};
  WatchKey b{"acme", DocType::kNfce, "A"};
  WatchKey c{"acmex", DocType::kNfe, "A"};
  EXPECT_LT(a.Encode(), b.Encode());
  EXPECT_LT(b.Encode(), c.Encode());
}

TEST(WatchKey, DecodeRejectsGarbage) {
  EXPECT_FALSE(WatchKey::Decode("").has_value());
  EXPECT_FALSE(WatchKey::Decode("acme").has_value());
  std::string bad_type = std::string("acme") + '\0' + '\x63' + '\0' + "ref";
  EXPECT_FALSE(WatchKey::Decode(bad_type).has_value());
}

TEST(DocType, NamesParseBack) {
  for (DocType type : kAllDocTypes) {
    auto parsed = ParseDocType(DocTypeName(type));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_EQ(ParseDocType("cte_os"), DocType::kCte);
  EXPECT_FALSE(ParseDocType("NFE").has_value());
}

}  // namespace
}  // namespace gatilho
