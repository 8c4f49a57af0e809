#!/usr/bin/env bash
# The last step of `npm test`: the suite's servers (in-process ones through test/helpers/pki.ts,
# and every `eimza serve` a test starts) append their log lines to $EIMZA_LOG_FILE; none of the
# suite's well-known secrets or personal data may be in it. Each line below is one pattern
# (extended regex, case-insensitive) and where the suite uses it.
#   usage: bash test/log-scan.sh [--allow-empty] [FILE]   (default: $EIMZA_LOG_FILE)
# An empty log fails (a scan of nothing proves nothing) unless --allow-empty: a run of a few
# test files may start no server.
set -euo pipefail

allow_empty=0
if [ "${1:-}" = --allow-empty ]; then
  allow_empty=1
  shift
fi
file="${1:-${EIMZA_LOG_FILE:-}}"
if [ -z "$file" ]; then
  echo "log-scan: no log file (pass one, or set EIMZA_LOG_FILE)" >&2
  exit 2
fi
if [ ! -s "$file" ]; then
  if ((allow_empty)); then
    echo "log-scan: $file is empty (no server ran): nothing to check"
    exit 0
  fi
  echo "log-scan: $file is missing or empty: the suite logged nothing, so nothing was checked" >&2
  exit 1
fi

keys='pin|puk|soPin|token|secret|password|passphrase|privateKey|activationCode|authorization|cookie|fin|givenName|surname|name|email|phone|msisdn|applicant|holder|holderSnapshot|body'
patterns=(
  'eimza_[A-Za-z0-9_-]{40,}'                 # operator and machine tokens: eimza_ + 256 bits (src/ra/principals.ts)
  'bearer [A-Za-z0-9._~+/=-]{8,}'            # an Authorization header's value
  '-----BEGIN [A-Z ]*PRIVATE KEY'            # a private key
  '-----BEGIN CERTIFICATE REQUEST'           # a request body (CSRs are only ever in bodies)
  'test passphrase'                          # the software key store's passphrase (test/helpers/context.ts)
  "\"($keys)\":([^\"]|\"[^[])"               # a sensitive field whose value is not "[redacted]" (src/logging.ts)
  'pin[^0-9]{0,16}(4821|00000000)'           # the card PIN and PUK of the smart-card tests
  '5ZX2K7Q'                                  # CITIZEN's FIN (test/helpers/csr.ts)
  'leyla@example\.az|994501234567'           # the test applicants' e-mail and phone (test/helpers/ra.ts, csr.ts)
  'Əliyeva'                                  # and surname
  'not-the-secret-at-all'                    # the wrong enrolment secret the tests send
)

lines=$(wc -l <"$file")
found=0
for p in "${patterns[@]}"; do
  if matches=$(grep -Eia -e "$p" "$file"); then
    found=1
    echo "log-scan: FOUND /$p/ in $(printf '%s\n' "$matches" | wc -l) line(s) of $file, e.g.:" >&2
    printf '%s\n' "$matches" | head -n 3 | cut -c1-240 | sed 's/^/    /' >&2
  fi
done
if ((found)); then
  echo "log-scan: secrets or personal data reached the log (see above); the log is kept at $file" >&2
  exit 1
fi
echo "log-scan: $lines log lines of the suite checked against ${#patterns[@]} patterns: clean"
