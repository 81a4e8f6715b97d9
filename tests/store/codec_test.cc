#include "store/codec.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(Codec, BigEndianKeysSortNumerically) {
  EXPECT_LT(Be64(255), Be64(256));
  EXPECT_LT(Be64(1), Be64(1ull << 40));
  EXPECT_LT(Be32(9), Be32(10));
  EXPECT_EQ(ReadBe64(Be64(0x0102030405060708ull)), 0x0102030405060708ull);
  EXPECT_EQ(ReadBe32(Be32(0xdeadbeef)), 0xdeadbeefu);
}

TEST(Codec, NegativeTimesClampToZero) {
  EXPECT_EQ(TimeKey(-5), Be64(0));
  EXPECT_LT(TimeKey(-5), TimeKey(1));
}

TEST(Codec, EventRecordRoundTrips) {
  EventRecord event;
  event.seq = 7;
  event.id = "evt-abc";
  event.key = {"acme", DocType::kMdfe, "R-1"};
  event.cycle = 3;
  event.type = "encerrado";
  event.payload = std::string("{\"a\":1}\0tail", 12);
  event.created_ms = -1;
  event.attempts = 4;
  event.next_attempt_ms = 1234;
  event.state = EventState::kDead;
  event.delivered_ms = 99;
  event.first_attempt_ms = 1000;
  event.finished_ms = 2000;

  Result<EventRecord> decoded = DecodeEventRecord(EncodeEventRecord(event));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->seq, event.seq);
  EXPECT_EQ(decoded->id, event.id);
  EXPECT_EQ(decoded->key, event.key);
  EXPECT_EQ(decoded->cycle, event.cycle);
  EXPECT_EQ(decoded->type, event.type);
  EXPECT_EQ(decoded->payload, event.payload);
  EXPECT_EQ(decoded->created_ms, event.created_ms);
  EXPECT_EQ(decoded->attempts, event.attempts);
  EXPECT_EQ(decoded->next_attempt_ms, event.next_attempt_ms);
  EXPECT_EQ(decoded->state, event.state);
  EXPECT_EQ(decoded->delivered_ms, event.delivered_ms);
  EXPECT_EQ(decoded->first_attempt_ms, event.first_attempt_ms);
  EXPECT_EQ(decoded->finished_ms, event.finished_ms);
}

TEST(Codec, VersionOneEventRecordsAreStillRead) {
  EventRecord event;
  event.id = "old";
  event.state = EventState::kDelivered;
  event.created_ms = 10;
  event.delivered_ms = 50;
  event.first_attempt_ms = 20;
  event.finished_ms = 50;
  std::string bytes = EncodeEventRecord(event);
  ASSERT_EQ(static_cast<uint8_t>(bytes[0]), kEventEncodingVersion);
  // Version 1 is version 2 without its last two fields.
  std::string v1 = bytes.substr(0, bytes.size() - 16);
  v1[0] = 1;

  Result<EventRecord> decoded = DecodeEventRecord(v1);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->id, "old");
  EXPECT_EQ(decoded->first_attempt_ms, 0);
  EXPECT_EQ(decoded->finished_ms, 50) << "a finished v1 event counts from its delivery";
  EXPECT_EQ(DecodeEventRecord(v1 + std::string(16, '\0')).status().code(),
            Status::Code::kCorruption);
  bytes[0] = 3;
  EXPECT_EQ(DecodeEventRecord(bytes).status().code(), Status::Code::kCorruption);
}

TEST(Codec, EndpointRecordRoundTrips) {
  EndpointRecord endpoint{true, "410 Gone", 77};
  Result<EndpointRecord> decoded = DecodeEndpointRecord(EncodeEndpointRecord(endpoint));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(decoded->disabled);
  EXPECT_EQ(decoded->reason, "410 Gone");
  EXPECT_EQ(decoded->changed_ms, 77);
}

TEST(Codec, ValueStartsWithItsEncodingVersion) {
  std::string bytes = EncodeHistoryEntry(HistoryEntry());
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kEncodingVersion);
}

TEST(Codec, DecodeRejectsUnknownVersion) {
  std::string bytes = EncodeTokenRecord(TokenRecord());
  bytes[0] = 2;
  Result<TokenRecord> decoded = DecodeTokenRecord(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Status::Code::kCorruption);
  EXPECT_NE(decoded.status().message().find("version 2"), std::string::npos);
}

TEST(Codec, DecodeRejectsTruncatedAndTrailingBytes) {
  AttemptRecord attempt;
  attempt.sink = "http://erp.local/hook";
  std::string bytes = EncodeAttemptRecord(attempt);
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_EQ(DecodeAttemptRecord(bytes.substr(0, size)).status().code(), Status::Code::kCorruption)
        << size;
  }
  EXPECT_EQ(DecodeAttemptRecord(bytes + "x").status().code(), Status::Code::kCorruption);
  EXPECT_TRUE(DecodeAttemptRecord(bytes).ok());
}

TEST(Codec, DecodeRejectsUnknownEnumValues) {
  std::string bytes = EncodeWatchRecord(WatchRecord());
  // The state byte follows 1 + 4 + 8*5 + 4 + 4 + 8 bytes of version and fixed-width fields.
  bytes[61] = 9;
  Result<WatchRecord> decoded = DecodeWatchRecord(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("watch state 9"), std::string::npos);
}

TEST(Codec, FeedCursorRoundTripsAndRefusesBrokenBytes) {
  const std::string bytes = EncodeFeedCursor(FeedCursor{4242, 1'700'000'000'000});
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kEncodingVersion);
  Result<FeedCursor> decoded = DecodeFeedCursor(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->versao, 4242);
  EXPECT_EQ(decoded->fetched_ms, 1'700'000'000'000);
  EXPECT_EQ(DecodeFeedCursor(bytes.substr(0, 9)).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(DecodeFeedCursor(bytes + "x").status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(DecodeFeedCursor(EncodeFeedCursor(FeedCursor{-1, 0})).ok());
}

TEST(Codec, CursorKeysOfDifferentFeedsNeverMeet) {
  EXPECT_NE(CursorKey({"1", "nfe", "producao"}), CursorKey({"1", "nfes", "producao"}));
  EXPECT_NE(CursorKey({"1", "nfe", "producao"}), CursorKey({"1", "nfe", "homologacao"}));
  EXPECT_NE(CursorKey({"12", "nfe", "x"}), CursorKey({"1", "2nfe", "x"}));
}

}  // namespace
}  // namespace gatilho
