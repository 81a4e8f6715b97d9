#include "fiscal/erp_request.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(ClassifyErpRequest, EmissionOfEveryTypeTakesTheRefFromTheQuery) {
  struct Case {
    const char* target;
    DocType type;
  } cases[] = {
      {"/v2/nfe?ref=A1", DocType::kNfe},   {"/v2/nfce?ref=A1", DocType::kNfce},
      {"/v2/nfse?ref=A1", DocType::kNfse}, {"/v2/nfsen?ref=A1", DocType::kNfsen},
      {"/v2/cte?ref=A1", DocType::kCte},   {"/v2/cte_os?ref=A1", DocType::kCte},
      {"/v2/mdfe?ref=A1", DocType::kMdfe}, {"/v2/nfcom?ref=A1", DocType::kNfcom},
  };
  for (const Case& c : cases) {
    ErpRequest request = ClassifyErpRequest("POST", c.target);
    EXPECT_EQ(request.kind, ErpRequestKind::kEmission) << c.target;
    EXPECT_EQ(request.type, c.type) << c.target;
    EXPECT_EQ(request.ref, "A1") << c.target;
  }
}

TEST(ClassifyErpRequest, EmissionIgnoresOtherParametersAndDecodesTheRef) {
  ErpRequest request = ClassifyErpRequest("POST", "/v2/nfce?completa=1&ref=pedido%2D7&token=x");
  EXPECT_EQ(request.kind, ErpRequestKind::kEmission);
  EXPECT_EQ(request.type, DocType::kNfce);
  EXPECT_EQ(request.ref, "pedido-7");
  EXPECT_EQ(ClassifyErpRequest("POST", "/v2/mdfe/?ref=M1&contingencia=1").ref, "M1");
}

TEST(ClassifyErpRequest, EmissionWithoutAValidRefIsOther) {
  EXPECT_EQ(ClassifyErpRequest("POST", "/v2/nfe").kind, ErpRequestKind::kOther);
  EXPECT_EQ(ClassifyErpRequest("POST", "/v2/nfe?ref=").kind, ErpRequestKind::kOther);
  EXPECT_EQ(ClassifyErpRequest("POST", "/v2/nfe?ref=a%20b").kind, ErpRequestKind::kOther);
  EXPECT_EQ(ClassifyErpRequest("POST", "/v2/nfe?xref=A1").kind, ErpRequestKind::kOther);
}

TEST(ClassifyErpRequest, CancellationIsADeleteOfTheDocument) {
  ErpRequest request = ClassifyErpRequest("DELETE", "/v2/nfe/R-9");
  EXPECT_EQ(request.kind, ErpRequestKind::kCancellation);
  EXPECT_EQ(request.type, DocType::kNfe);
  EXPECT_EQ(request.ref, "R-9");
  EXPECT_EQ(ClassifyErpRequest("DELETE", "/v2/cte/OS1").type, DocType::kCte);
}

TEST(ClassifyErpRequest, CorrectionIsAPostToTheCartaDeCorrecao) {
  ErpRequest request = ClassifyErpRequest("POST", "/v2/cte/C7/carta_correcao");
  EXPECT_EQ(request.kind, ErpRequestKind::kCorrection);
  EXPECT_EQ(request.type, DocType::kCte);
  EXPECT_EQ(request.ref, "C7");
}

TEST(ClassifyErpRequest, ConsultsEventsAndOtherResourcesAreOther) {
  const char* others[][2] = {
      {"GET", "/v2/nfe/A1"},
      {"GET", "/v2/nfe?ref=A1"},
      {"POST", "/v2/nfe/importacao?ref=A1"},
      {"POST", "/v2/nfe/inutilizacao"},
      {"POST", "/v2/nfe/A1/email"},
      {"DELETE", "/v2/nfe/A1/insucesso_entrega"},
      {"POST", "/v2/mdfe/M1/encerrar"},
      {"DELETE", "/v2/hooks/Vj5rmkBq"},
      {"POST", "/v2/hooks?ref=A1"},
      {"POST", "/v1/nfe?ref=A1"},
      {"PUT", "/v2/nfe?ref=A1"},
      {"post", "/v2/nfe?ref=A1"},
      {"GET", "/"},
      {"DELETE", "/v2/nfe/a.b"},
  };
  for (const auto& [method, target] : others) {
    EXPECT_EQ(ClassifyErpRequest(method, target).kind, ErpRequestKind::kOther)
        << method << " " << target;
  }
}

}  // namespace
}  // namespace gatilho
