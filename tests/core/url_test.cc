#include "core/url.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(UrlForDisplay, DropsCredentialsAndQuery) {
  EXPECT_EQ(UrlForDisplay("https://erp.example.com/hook"), "https://erp.example.com/hook");
  EXPECT_EQ(UrlForDisplay("https://user:pw@erp.example.com:8443/hook"),
            "https://erp.example.com:8443/hook");
  EXPECT_EQ(UrlForDisplay("http://erp/hook?key=secret#x"), "http://erp/hook?...");
  EXPECT_EQ(UrlForDisplay("socks5h://u:p@proxy:1080"), "socks5h://proxy:1080");
  EXPECT_EQ(UrlForDisplay("https://erp/a@b/c"), "https://erp/a@b/c");
  EXPECT_EQ(UrlForDisplay("https://u:p@w@erp"), "https://erp");
}

TEST(UrlHost, KeepsSchemeHostAndPortOnly) {
  EXPECT_EQ(UrlHost("https://ERP.local/hook?x=1"), "https://erp.local:443");
  EXPECT_EQ(UrlHost("http://user:secret@erp.local:8080/a/b"), "http://erp.local:8080");
  EXPECT_EQ(UrlHost("http://erp.local"), "http://erp.local:80");
  EXPECT_EQ(UrlHost("http://[::1]/hook"), "http://[::1]:80");
  EXPECT_EQ(UrlHost("http://[::1]:9000/hook"), "http://[::1]:9000");
}

}  // namespace
}  // namespace gatilho
