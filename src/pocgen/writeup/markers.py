"""Find, fingerprint and fill the `<!-- pocgen:NAME -->` regions of a README.

Everything outside the markers belongs to the user and is copied byte for byte. Inside, pocgen
owns the text, but a user may still have typed there; to notice that without keeping state
elsewhere, the opening marker carries a fingerprint of the text pocgen wrote:
`<!-- pocgen:results sha=0123abcd4567 -->`. If the text no longer matches its fingerprint, somebody
edited it and pocgen refuses to replace it (unless forced). A marker without a fingerprint is
pristine only while its body is blank, which is how a hand-added pair of markers starts out.

The same fingerprint guards whole generated files (resume, model card, blog post): their last line
is `<!-- pocgen:file sha=... -->`, the fingerprint of everything above it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from pocgen.errors import PocgenError

# `[a-z]` first so prose such as "<!-- pocgen:... -->" in the README is never taken for a marker.
_MARKER = re.compile(
    r"<!-- (?P<close>/)?pocgen:(?P<name>[a-z][a-z0-9_-]*)(?: sha=(?P<sha>[0-9a-f]+))? -->"
)
# Marks a paragraph of a generated file that only the author can write; `pocgen check` flags it.
TODO_MARK = "**TODO (author):**"
_FILE_FOOTER = re.compile(r"\n?<!-- pocgen:file sha=(?P<sha>[0-9a-f]+) -->\n?\Z")
FILE_MARKER_NAME = "file"
_PLACEHOLDER = re.compile(r"^_[^_]*_$", re.DOTALL)


def fingerprint(text: str) -> str:
    """The first 12 hex digits of sha256 of the text, line endings and outer blanks normalised.

    Normalising means a README that git checked out with CRLF endings is not mistaken for an edit.
    """
    normal = text.replace("\r\n", "\n").strip()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Region:
    """One marker pair: `start`/`end` span the pair, `body` is the text inside."""

    name: str
    sha: str | None
    start: int
    end: int
    body: str

    @property
    def edited(self) -> bool:
        """True when the text inside is not what pocgen last wrote there."""
        if self.sha is None:
            return bool(self.body.strip())
        return fingerprint(self.body) != self.sha


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def find_regions(text: str, where: str = "README.md") -> list[Region]:
    """Every marker pair in document order; broken nesting is an error that names the line."""
    regions: list[Region] = []
    seen: set[str] = set()
    opened: re.Match[str] | None = None
    for match in _MARKER.finditer(text):
        name = match["name"]
        if name == FILE_MARKER_NAME:
            continue
        line = _line_of(text, match.start())
        if match["close"]:
            if opened is None or opened["name"] != name:
                raise PocgenError(
                    f"{where} line {line}: `<!-- /pocgen:{name} -->` closes a section that is not "
                    f"open; restore the matching `<!-- pocgen:{name} -->` line above it."
                )
            body = text[opened.end() : match.start()]
            regions.append(
                Region(
                    name,
                    opened["sha"],
                    opened.start(),
                    match.end(),
                    body,
                )
            )
            opened = None
            continue
        if opened is not None:
            raise PocgenError(
                f"{where} line {line}: `<!-- pocgen:{name} -->` starts inside section "
                f"`{opened['name']}`; restore `<!-- /pocgen:{opened['name']} -->` before it."
            )
        if name in seen:
            raise PocgenError(
                f"{where} line {line}: section `{name}` appears twice; keep one pair of "
                f"`<!-- pocgen:{name} -->` markers."
            )
        seen.add(name)
        opened = match
    if opened is not None:
        raise PocgenError(
            f"{where} line {_line_of(text, opened.start())}: section `{opened['name']}` is never "
            f"closed; add `<!-- /pocgen:{opened['name']} -->` after it."
        )
    return regions


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def render_region(name: str, content: str, newline: str = "\n") -> str:
    """The whole marker pair for `content`, with the fingerprint of exactly what is written."""
    body = content.strip("\n").replace("\r\n", "\n").replace("\n", newline)
    inner = f"{newline}{body}{newline}" if body else newline
    return f"<!-- pocgen:{name} sha={fingerprint(body)} -->{inner}<!-- /pocgen:{name} -->"


def fill(text: str, contents: dict[str, str], where: str = "README.md") -> str:
    """Replace the regions named in `contents`; every other character of `text` stays as it was."""
    newline = _newline(text)
    pieces: list[str] = []
    position = 0
    for region in find_regions(text, where):
        if region.name not in contents:
            continue
        pieces.append(text[position : region.start])
        pieces.append(render_region(region.name, contents[region.name], newline))
        position = region.end
    pieces.append(text[position:])
    return "".join(pieces)


def sign_file(content: str) -> str:
    """A generated file's text with the footer that lets pocgen spot a later hand edit."""
    body = content.rstrip("\n") + "\n"
    return f"{body}\n<!-- pocgen:{FILE_MARKER_NAME} sha={fingerprint(body)} -->\n"


def file_edited(text: str) -> bool:
    """True when a generated file lost its footer or no longer matches it."""
    match = _FILE_FOOTER.search(text)
    if match is None:
        return True
    return fingerprint(text[: match.start()]) != match["sha"]


def user_section(text: str, title: str) -> str:
    """The body of the README's `## title` section as the user wrote it; '' when blank or still a
    placeholder line such as `_Write what you would do with another week._`."""
    match = re.search(
        rf"^##\s+{re.escape(title)}\s*$(?P<body>.*?)(?=^##\s|\Z)",
        text,
        re.MULTILINE | re.DOTALL | re.IGNORECASE,
    )
    body = match["body"].strip() if match else ""
    if not body or _PLACEHOLDER.match(body) or _MARKER.search(body):
        return ""
    return body
