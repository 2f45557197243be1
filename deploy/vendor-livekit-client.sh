#!/usr/bin/env bash
# Build step: fetch the pinned livekit-client from the npm registry and put its browser bundle and
# licence where interview.html loads them (LiveKit mode). The tarball's integrity must equal the
# pinned one, so a different file under the same version is refused. Outputs are not committed.
#   bash deploy/vendor-livekit-client.sh [STATIC_DIR]      (default: web/static)
set -euo pipefail
VERSION=2.23.0
INTEGRITY=sha512-j9Kg86nJjBjNFUD+ukp2jwMCGa0k+YD5gU//RzAM+ZY3pbG631QCte7fQjwqWMmtBzhDJL9nKYuOLMv/9IbAxg==
static=${1:-web/static}
vendor="$static/vendor"
bundle="$vendor/livekit-client.umd.min.js"

if [ -f "$bundle" ] && grep -qx "livekit-client@$VERSION $INTEGRITY" "$vendor/livekit-client.VERSION" 2>/dev/null; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack "livekit-client@$VERSION" --pack-destination "$work" --json --silent > "$work/pack.json"
got=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].integrity)' "$work/pack.json")
if [ "$got" != "$INTEGRITY" ]; then
  echo "livekit-client@$VERSION: integrity $got is not the pinned $INTEGRITY; refusing it" >&2
  exit 1
fi
tar -xzf "$work/livekit-client-$VERSION.tgz" -C "$work" package/dist/livekit-client.umd.js package/LICENSE
mkdir -p "$vendor"
cp "$work/package/dist/livekit-client.umd.js" "$bundle"   # already minified by the package's build
cp "$work/package/LICENSE" "$vendor/livekit-client.LICENSE.txt"
echo "livekit-client@$VERSION $INTEGRITY" > "$vendor/livekit-client.VERSION"
echo "vendored livekit-client $VERSION (Apache-2.0) into $vendor"
