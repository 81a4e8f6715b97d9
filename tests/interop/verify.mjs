// Verifies webhook deliveries with the reference Standard Webhooks library (the `standardwebhooks`
// npm package), so that gatilho's signatures are checked by code gatilho does not share.
//
//   node tests/interop/verify.mjs CASES.json
//
// CASES.json is a JSON array of cases, each
//   {"name": "...", "secret": "whsec_...", "id": "...", "timestamp": "...", "signature": "...",
//    "body": "...", "expect": "valid" | "invalid", "expect_error": "..." (optional)}
// where id, timestamp and signature are the webhook-id, webhook-timestamp and webhook-signature
// header values and body is the delivered body (UTF-8 text). Each case runs
// `new Webhook(secret).verify(body, headers)`: the library takes the "whsec_"-prefixed secret as
// gatilho's configuration holds it, strips the prefix and base64-decodes the rest, and checks the
// timestamp against the clock (5 minutes either way) before the signatures.
//
// A case is refused when verify() throws the library's WebhookVerificationError; any other
// exception (a malformed secret, a body that is not JSON) fails the case whatever it expects, so
// an "invalid" case cannot pass for the wrong reason. With expect_error, a refusal must also carry
// that text in its message (e.g. "Message timestamp too old").
//
// Prints one line per case, `PASS name` or `FAIL name: <why>`, in order. Exit status: 0 when all
// pass, 1 when any fails, 2 on bad input (usage, unreadable or malformed cases file) or when the
// library is not installed (run: npm ci --prefix tests/interop).
import { readFileSync } from "node:fs";

function badInput(message) {
  process.stderr.write(`verify.mjs: ${message}\n`);
  process.exit(2);
}

if (process.argv.length !== 3) badInput("usage: node verify.mjs CASES.json");
const casesPath = process.argv[2];

let library;
try {
  library = await import("standardwebhooks");
} catch (error) {
  badInput(`cannot load standardwebhooks (${error.message}); run: npm ci --prefix tests/interop`);
}
const { Webhook, WebhookVerificationError } = library;

let cases;
try {
  cases = JSON.parse(readFileSync(casesPath, "utf8"));
} catch (error) {
  badInput(`cannot read cases from ${casesPath}: ${error.message}`);
}

// Every case is checked before any runs, so bad input never prints a PASS line.
function checkCases(value) {
  if (!Array.isArray(value) || value.length === 0) return "expected a non-empty JSON array";
  const names = new Set();
  for (const [index, c] of value.entries()) {
    const where = `case #${index + 1}`;
    if (c === null || typeof c !== "object" || Array.isArray(c)) return `${where} is not an object`;
    for (const field of ["name", "secret", "id", "signature", "body"]) {
      if (typeof c[field] !== "string") return `${where}: "${field}" must be a string`;
    }
    if (typeof c.timestamp !== "string" && !Number.isInteger(c.timestamp)) {
      return `${where}: "timestamp" must be a string or an integer`;
    }
    if (c.expect !== "valid" && c.expect !== "invalid") {
      return `${where}: "expect" must be "valid" or "invalid"`;
    }
    if (c.expect_error !== undefined && typeof c.expect_error !== "string") {
      return `${where}: "expect_error" must be a string`;
    }
    if (c.expect_error !== undefined && c.expect !== "invalid") {
      return `${where}: "expect_error" only goes with "expect": "invalid"`;
    }
    if (!/^\S+$/.test(c.name)) return `${where}: "name" must be non-empty, without whitespace`;
    if (names.has(c.name)) return `${where}: name "${c.name}" is used twice`;
    names.add(c.name);
  }
  return null;
}

const problem = checkCases(cases);
if (problem !== null) badInput(`${casesPath}: ${problem}`);

// Why `c` does not meet its expectation, or null when it does.
function judge(c) {
  const headers = {
    "webhook-id": c.id,
    "webhook-timestamp": String(c.timestamp),
    "webhook-signature": c.signature,
  };
  let refusal = null;
  try {
    new Webhook(c.secret).verify(c.body, headers);
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) {
      return `error, not a verification result: ${error.name}: ${error.message}`;
    }
    refusal = error.message;
  }
  if (c.expect === "valid") {
    return refusal === null ? null : `expected valid, refused: ${refusal}`;
  }
  if (refusal === null) return "expected invalid, but the library accepted it";
  if (c.expect_error !== undefined && !refusal.includes(c.expect_error)) {
    return `expected a refusal with "${c.expect_error}", refused: ${refusal}`;
  }
  return null;
}

let failed = 0;
for (const c of cases) {
  const why = judge(c);
  if (why === null) {
    process.stdout.write(`PASS ${c.name}\n`);
  } else {
    failed += 1;
    process.stdout.write(`FAIL ${c.name}: ${why}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
