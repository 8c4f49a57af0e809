#!/usr/bin/env bash
# Creates (or finds) a SoftHSM2 token in DIR, with the same layout as hsm/softhsm.ts
# (ensureSoftHsmToken), so a token made here is the one `npm start` would make, and back:
#   DIR/softhsm2.conf  tokendir DIR/tokens, file object store, log level ERROR
#   DIR/tokens/        the token
#   DIR/user.pin       user PIN (0600, random)     DIR/so.pin  SO PIN (0600, random)
#
# Usage:   hsm/setup-softhsm.sh DIR [TOKEN_LABEL]        (label defaults to "e-imza CA")
# Example: hsm/setup-softhsm.sh /var/lib/eimza/softhsm "e-imza CA"
set -euo pipefail
umask 077

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
dir=$(realpath -m "$1")
label=${2:-e-imza CA}
if [ -z "$label" ] || [ "$(printf %s "$label" | wc -c)" -gt 32 ]; then
  echo "setup-softhsm: the token label must be 1 to 32 bytes (CK_TOKEN_INFO.label)" >&2
  exit 2
fi

module=""
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -e "$candidate" ]; then module=$candidate; break; fi
done
if [ -z "$module" ] || ! command -v softhsm2-util >/dev/null; then
  echo "setup-softhsm: SoftHSM2 is not installed (Debian: apt-get install softhsm2)" >&2
  exit 1
fi

mkdir -p "$dir/tokens"
chmod 700 "$dir" "$dir/tokens"
cat >"$dir/softhsm2.conf" <<EOF
# Written by e-imza (hsm/setup-softhsm.sh); SoftHSM2 reads it through SOFTHSM2_CONF.
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF="$dir/softhsm2.conf"

# Exact comparison of the blank-padded "Label:" lines, so labels need no regex escaping.
if softhsm2-util --show-slots | awk -v want="$label" '
  /^[[:space:]]*Label:/ { sub(/^[[:space:]]*Label:[[:space:]]*/, ""); sub(/[[:space:]]+$/, ""); if ($0 == want) found = 1 }
  END { exit found ? 0 : 1 }'; then
  echo "setup-softhsm: token \"$label\" already exists in $dir/tokens"
  [ -s "$dir/user.pin" ] || echo "setup-softhsm: warning: $dir/user.pin is missing" >&2
else
  pin=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  so_pin=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$pin" >"$dir/user.pin"
  printf '%s\n' "$so_pin" >"$dir/so.pin"
  # softhsm2-util takes PINs only as arguments or from a terminal; they are random and private
  # to this token, and visible in the process list only while it runs.
  if ! softhsm2-util --init-token --free --label "$label" --so-pin "$so_pin" --pin "$pin" >/dev/null; then
    rm -f "$dir/user.pin" "$dir/so.pin"
    echo "setup-softhsm: softhsm2-util --init-token failed" >&2
    exit 1
  fi
  echo "setup-softhsm: created token \"$label\" in $dir/tokens"
fi

cat <<EOF
To use it with e-imza:
  export SOFTHSM2_CONF=$dir/softhsm2.conf
  export EIMZA_PKCS11_MODULE=$module
  export EIMZA_PKCS11_TOKEN='$label'
  export EIMZA_PKCS11_PIN_FILE=$dir/user.pin
EOF
