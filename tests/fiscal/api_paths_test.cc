#include "fiscal/api_paths.h"

#include <gtest/gtest.h>

#include <string>

namespace gatilho {
namespace {

TEST(BaseUrlFor, NamesTheHostOfEachEnvironment) {
  EXPECT_EQ(BaseUrlFor("producao"), "https://api.focusnfe.com.br");
  EXPECT_EQ(BaseUrlFor("homologacao"), "https://homologacao.focusnfe.com.br");
}

TEST(BaseUrlFor, IsEmptyForAnUnknownEnvironment) {
  EXPECT_EQ(BaseUrlFor("production"), "");
  EXPECT_EQ(BaseUrlFor(""), "");
}

TEST(ConsultUrl, JoinsBaseTypeAndRef) {
  EXPECT_EQ(ConsultUrl("https://api.focusnfe.com.br", DocType::kNfe, "referencia_000899_nfe"),
            "https://api.focusnfe.com.br/v2/nfe/referencia_000899_nfe");
  EXPECT_EQ(ConsultUrl("https://api.focusnfe.com.br", DocType::kNfsen, "nfs-2"),
            "https://api.focusnfe.com.br/v2/nfsen/nfs-2");
}

TEST(ConsultUrl, ToleratesATrailingSlashOnTheBase) {
  EXPECT_EQ(ConsultUrl("http://127.0.0.1:8080/", DocType::kMdfe, "M1"),
            "http://127.0.0.1:8080/v2/mdfe/M1");
}

TEST(ConsultUrl, ConsultsCteOsAtTheCtePath) {
  EXPECT_EQ(ConsultUrl("https://api.focusnfe.com.br", *ParseDocType("cte_os"), "os1"),
            "https://api.focusnfe.com.br/v2/cte/os1");
}

TEST(ConsultUrl, PercentEncodesBytesOutsideTheRefAlphabet) {
  EXPECT_EQ(ConsultUrl("https://h", DocType::kNfe, "a/b?c d"), "https://h/v2/nfe/a%2Fb%3Fc%20d");
}

TEST(IsValidRef, AcceptsLettersDigitsUnderscoreAndHyphen) {
  EXPECT_TRUE(IsValidRef("referencia_000899_nfe"));
  EXPECT_TRUE(IsValidRef("nfs-2"));
  EXPECT_TRUE(IsValidRef("NFe41190607504505000132550010000000221923094166"));
  EXPECT_TRUE(IsValidRef(std::string(100, 'a')));
}

TEST(IsValidRef, RejectsEmptyTooLongAndOtherCharacters) {
  EXPECT_FALSE(IsValidRef(""));
  EXPECT_FALSE(IsValidRef(std::string(101, 'a')));
  EXPECT_FALSE(IsValidRef("a b"));
  EXPECT_FALSE(IsValidRef("a.b"));
  EXPECT_FALSE(IsValidRef("a/b"));
  EXPECT_FALSE(IsValidRef("pedido\xc3\xa7"));
}

TEST(RefProblem, IsEmptyForAValidRef) {
  EXPECT_EQ(RefProblem("PEDIDO-123"), "");
}

TEST(RefProblem, NamesTheOffendingCharacterAndItsPosition) {
  EXPECT_EQ(RefProblem("a b"),
            "ref 'a b' has a space at position 2; refs use only letters, digits, '_' and '-'");
  EXPECT_EQ(RefProblem("nf.1"),
            "ref 'nf.1' has '.' at position 3; refs use only letters, digits, '_' and '-'");
  EXPECT_EQ(RefProblem("pedido\xc3\xa7"),
            "ref 'pedido\xc3\xa7' has a non-ASCII character at position 7; refs use only "
            "letters, digits, '_' and '-'");
}

TEST(RefProblem, ShowsControlCharactersOnlyByTheirCode) {
  std::string problem = RefProblem("ab\ncd");
  EXPECT_EQ(problem,
            "ref 'ab?cd' has a control character (0x0A) at position 3; refs use only letters, "
            "digits, '_' and '-'");
}

TEST(RefProblem, ExplainsEmptyAndTooLongRefs) {
  EXPECT_EQ(RefProblem(""), "ref is empty; refs use 1 to 100 letters, digits, '_' or '-'");
  EXPECT_EQ(RefProblem(std::string(150, 'x')), "ref has 150 characters; the limit is 100");
}

}  // namespace
}  // namespace gatilho
