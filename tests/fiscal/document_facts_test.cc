#include "fiscal/document_facts.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

DocumentFacts Sample() {
  DocumentFacts facts;
  facts.status = "autorizado";
  facts.carta_correcao = 2;
  facts.contingencia_offline = true;
  facts.contingencia_efetivada = false;
  facts.tentativa_anterior_status = "cancelado";
  return facts;
}

TEST(DocumentFacts, EncodesAsCompactVersionedText) {
  EXPECT_EQ(Sample().Encode(), "v1|autorizado|2|1|0|cancelado");
  EXPECT_EQ(DocumentFacts{}.Encode(), "v1||0|0|0|");
}

TEST(DocumentFacts, DecodeReversesEncode) {
  auto decoded = DocumentFacts::Decode(Sample().Encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, Sample());
}

TEST(DocumentFacts, SeparatorsInsideApiStringsSurviveTheRoundTrip) {
  DocumentFacts facts;
  facts.status = "odd|status%7C";
  facts.tentativa_anterior_status = "|%|";
  auto decoded = DocumentFacts::Decode(facts.Encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, facts);
}

TEST(DocumentFacts, DecodeRejectsTextEncodeCannotProduce) {
  EXPECT_FALSE(DocumentFacts::Decode("").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v2|autorizado|0|0|0|").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v1|autorizado|0|0|0").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v1|autorizado|0|0|0||").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v1|autorizado|x|0|0|").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v1|autorizado|-1|0|0|").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v1|autorizado||0|0|").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v1|autorizado|0|2|0|").has_value());
  EXPECT_FALSE(DocumentFacts::Decode("v1|auto%zz|0|0|0|").has_value());
}

TEST(DocumentFacts, FingerprintIsSixteenHexDigitsThatFollowEveryFact) {
  const std::string base = Sample().Fingerprint();
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(base.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(Sample().Fingerprint(), base);

  DocumentFacts changed = Sample();
  changed.status = "cancelado";
  EXPECT_NE(changed.Fingerprint(), base);
  changed = Sample();
  changed.carta_correcao = 3;
  EXPECT_NE(changed.Fingerprint(), base);
  changed = Sample();
  changed.contingencia_offline = false;
  EXPECT_NE(changed.Fingerprint(), base);
  changed = Sample();
  changed.contingencia_efetivada = true;
  EXPECT_NE(changed.Fingerprint(), base);
  changed = Sample();
  changed.tentativa_anterior_status = "autorizado";
  EXPECT_NE(changed.Fingerprint(), base);
}

}  // namespace
}  // namespace gatilho
