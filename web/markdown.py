"""Markdown to HTML for the consent document: CommonMark with raw HTML switched off."""

from __future__ import annotations

from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def to_html(text: str) -> str:
    """Render Markdown; any HTML in the source is shown as text, and unsafe link targets are dropped."""
    return _RENDERER.render(text)
