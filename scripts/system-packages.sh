#!/usr/bin/env bash
# Install the Debian packages Klarvarsel needs when they are missing. Quietly does nothing when
# everything is present, and only warns when it cannot install (not root, not Debian).
set -euo pipefail
needed=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || needed+=("$pkg")
done
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "warning: missing Debian packages: ${needed[*]} (install them with apt-get)" >&2
  exit 0
fi
echo "installing Debian packages: ${needed[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
