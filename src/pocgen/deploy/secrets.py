"""Refuse to upload anything that looks like a credential.

A Space is public by default and its files are cloneable by anyone, so a token that slips into the
upload is leaked for good. The build only copies what the demo needs, and this scan is the second
line of defence: it looks at every file about to leave the machine, by name and by content.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from pocgen.errors import PocgenError

# File names that hold credentials by convention, whatever their content.
SECRET_FILE_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    ".netrc",
    ".pypirc",
    ".git-credentials",
)

# The shapes of the tokens most likely to be pasted into a project by mistake.
TOKEN_SHAPES = {
    "a Hugging Face token": re.compile(rb"\bhf_[A-Za-z0-9]{30,}"),
    "a GitHub token": re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "an AWS access key": re.compile(rb"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    "a private key": re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
}


def find_secret(path: Path) -> str | None:
    """Why `path` looks like a secret ("is a .env file", "contains a GitHub token"), or None."""
    for pattern in SECRET_FILE_PATTERNS:
        if fnmatch.fnmatch(path.name, pattern):
            return f"is a {pattern} file, which holds credentials by convention"
    content = path.read_bytes()
    for what, shape in TOKEN_SHAPES.items():
        if shape.search(content):
            return f"contains what looks like {what}"
    return None


def refuse_secrets(folder: Path, origins: dict[str, str]) -> None:
    """Raise a one-line error naming the project file behind the first upload that looks secret.

    `origins` maps each built file (relative to `folder`) to the project file it came from, so the
    message points at the file the user has to fix, not at its copy in dist/.
    """
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        reason = find_secret(path)
        if reason:
            relative = path.relative_to(folder).as_posix()
            raise PocgenError(
                f"refusing to upload {origins.get(relative, relative)}: it {reason}. Remove it "
                "(Space secrets are set from POCGEN_SPACE_SECRET_* environment variables)."
            )
