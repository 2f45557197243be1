"""The Jinja2 environment: templates under web/templates, every value escaped unless marked safe."""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def make_templates() -> Jinja2Templates:
    """Templates with autoescaping on for every file (not only .html)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                                     trim_blocks=True, lstrip_blocks=True)
    return Jinja2Templates(env=environment)
