#!/usr/bin/env bash
# `npm test`: installs what the suite needs when it is missing (as root, from Debian's packages),
# type-checks, lints, and runs every test against the embedded database (PGlite), then again
# against PostgreSQL when TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v softhsm2-util >/dev/null || need+=(softhsm2)
command -v pkcs11-tool >/dev/null || need+=(opensc)
command -v certtool >/dev/null || need+=(gnutls-bin)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "npm test: installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "npm test: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
fi
[ -d node_modules/.bin ] || npm install --no-audit --no-fund

echo "== typecheck"; npx tsc --noEmit -p tsconfig.json
echo "== lint"; npx eslint --max-warnings 0 .
# The suite spawns the CLI hundreds of times: from the bundle, each starts about 3x faster.
echo "== CLI bundle"; node cli/build.mjs

jest=(node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js "$@")
# Every server the suite runs appends its log here; test/log-scan.sh then looks for leaked secrets.
EIMZA_LOG_FILE="$(mktemp -t eimza-test-log.XXXXXX)"
export EIMZA_LOG_FILE
echo "== tests on PGlite (embedded)"
EIMZA_TEST_DB=pglite "${jest[@]}"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== tests on PostgreSQL ($TEST_DATABASE_URL)"
  EIMZA_TEST_DB=postgres "${jest[@]}"
  # The suites' job-queue schemas (see test/helpers/env.ts), once nothing runs any more.
  node -e "
    const pg = require('pg');
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    c.connect().then(async () => {
      const { rows } = await c.query(\"select nspname from pg_namespace where nspname like 't\\\\_%\\\\_jobs'\");
      for (const r of rows) await c.query('drop schema if exists \"' + r.nspname + '\" cascade');
      await c.end();
    });
  "
fi
# With test files named (npm test -- FILE…), the servers may have logged nothing.
echo "== log scan"; bash test/log-scan.sh ${*:+--allow-empty} "$EIMZA_LOG_FILE" && rm -f "$EIMZA_LOG_FILE"
