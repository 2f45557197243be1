#!/usr/bin/env bash
# Debian packages the tests and the demo use: Chromium for browser tests, espeak-ng and sox for audio.
# Installed only when missing, and only where we may (root); otherwise say what to install.
set -euo pipefail
packages=(chromium chromium-driver espeak-ng sox)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "please install these Debian packages: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "system packages: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
