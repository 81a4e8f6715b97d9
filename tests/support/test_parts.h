// The real parts most fixtures start from: an LMDB store in a temporary folder and a libcurl
// client. Header-only, since the support library does not link the store or net modules; the
// test binaries that include it do.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "net/http_client.h"
#include "store/store.h"

namespace gatilho::testing {

// Opens a store in `dir` into *store and a new HttpClient into *http; a failure names what
// could not be made. Use as ASSERT_TRUE(OpenStoreAndClient(...)).
inline ::testing::AssertionResult OpenStoreAndClient(const std::string& dir,
                                                     std::unique_ptr<Store>* store,
                                                     std::unique_ptr<HttpClient>* http) {
  Store::Options options;
  options.dir = dir;
  Result<std::unique_ptr<Store>> opened = Store::Open(options);
  if (!opened.ok()) return ::testing::AssertionFailure() << opened.status().ToString();
  Result<std::unique_ptr<HttpClient>> client = HttpClient::Create();
  if (!client.ok()) return ::testing::AssertionFailure() << client.status().ToString();
  *store = std::move(*opened);
  *http = std::move(*client);
  return ::testing::AssertionSuccess();
}

}  // namespace gatilho::testing
