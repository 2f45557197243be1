"""Container health probe (standard library only): exit 0 when a URL answers 2xx, else 1.

    python /app/deploy/probe.py http://127.0.0.1:8000/readyz
    python /app/deploy/probe.py http://127.0.0.1:9100/metrics --bearer-from VOXBANK_METRICS_TOKEN
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--bearer-from", help="environment variable holding a bearer token to send")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    request = urllib.request.Request(args.url)
    if args.bearer_from:
        request.add_header("Authorization", f"Bearer {os.environ[args.bearer_from]}")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"{args.url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
