"""Fill ``${NAME}`` in a configuration template from the environment (standard library only).

    python /app/deploy/render_template.py /templates/livekit.yaml /rendered/livekit.yaml

A name missing from the environment is an error naming it, never an empty value.
"""

from __future__ import annotations

import os
import string
import sys
from pathlib import Path


def render(template: str, environment: dict[str, str]) -> str:
    """The template with every ``${NAME}`` replaced; raises ``KeyError`` naming a missing variable."""
    return string.Template(template).substitute(environment)


def main() -> int:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    try:
        text = render(source.read_text(), dict(os.environ))
    except KeyError as missing:
        print(f"{source}: the environment variable {missing.args[0]} is not set", file=sys.stderr)
        return 1
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
