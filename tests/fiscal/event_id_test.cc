#include "fiscal/event_id.h"

#include <gtest/gtest.h>

#include <set>

namespace gatilho {
namespace {

const WatchKey kKey{"acme", DocType::kNfe, "referencia_000899_nfe"};

TEST(EventId, IsEvtFollowedByThirtyTwoHexDigits) {
  std::string id = EventId(kKey, 1, "autorizado", "");
  ASSERT_EQ(id.size(), 4u + 32u);
  EXPECT_EQ(id.substr(0, 4), "evt_");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
}

TEST(EventId, IsTheSameForTheSameChange) {
  EXPECT_EQ(EventId(kKey, 3, "carta_correcao", "2"), EventId(kKey, 3, "carta_correcao", "2"));
}

TEST(EventId, DiffersWhenAnyPartDiffers) {
  std::set<std::string> ids = {
      EventId(kKey, 1, "autorizado", ""),
      EventId(kKey, 2, "autorizado", ""),
      EventId(kKey, 1, "cancelado", ""),
      EventId({"acme", DocType::kNfe, "other"}, 1, "autorizado", ""),
      EventId({"acme2", DocType::kNfe, "referencia_000899_nfe"}, 1, "autorizado", ""),
      EventId({"acme", DocType::kNfce, "referencia_000899_nfe"}, 1, "autorizado", ""),
      EventId(kKey, 1, "carta_correcao", "1"),
      EventId(kKey, 1, "carta_correcao", "2"),
  };
  EXPECT_EQ(ids.size(), 8u);
}

TEST(EventId, DoesNotConfuseWhereOnePartEndsAndTheNextBegins) {
  EXPECT_NE(EventId({"ab", DocType::kNfe, "c"}, 1, "autorizado", ""),
            EventId({"a", DocType::kNfe, "bc"}, 1, "autorizado", ""));
  EXPECT_NE(EventId(kKey, 1, "carta_correcao1", ""), EventId(kKey, 1, "carta_correcao", "1"));
}

}  // namespace
}  // namespace gatilho
