"""Refuse to upload anything that looks like a credential, using Yelp's detect-secrets.

A Space is public by default and anyone can clone its files, so a token that slips into the upload
is leaked for good. The build copies only what the demo needs; this scan is the second line of
defence and reads every file about to leave the machine: code, README, CSV, JSON, page scripts.

detect-secrets brings the well-known shapes (AWS, GitHub, Slack, Stripe, OpenAI, JWTs, private
keys, URLs with a password, keyword assignments); `secret_plugins` adds those it lacks.

A false positive is allowed in one of two documented ways:
- the library's own inline marker: end the line with a comment holding `pragma: allowlist secret`
  (`# ...` in Python, CSV or YAML, `<!-- ... -->` in Markdown, `// ...` in JavaScript), or put
  `pragma: allowlist nextline secret` alone on the line above;
- for files without comments (JSON), the project file `.secrets-allowlist`: one Python regular
  expression per line (`#` starts a comment); a flagged line that matches one is allowed. This is
  detect-secrets' own `--exclude-lines` filter, read from a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from detect_secrets.core.scan import scan_file
from detect_secrets.settings import get_filters, get_plugins, transient_settings

from pocgen.deploy import secret_plugins
from pocgen.deploy.paths import SPACE_DIR
from pocgen.errors import PocgenError

# detect-secrets' own plugins that look for credentials. Left out: the generic high-entropy
# string plugins (any hash, id or minified script trips them; SecretAssignmentDetector covers
# random values with a secret's name instead) and IPPublicDetector (an address is not a secret).
LIBRARY_PLUGINS = (
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "KeywordDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)
CUSTOM_PLUGINS = (
    "HuggingFaceTokenDetector",
    "AnthropicKeyDetector",
    "OpenAIProjectKeyDetector",
    "GoogleApiKeyDetector",
    "GitHubFineGrainedTokenDetector",
    "SecretAssignmentDetector",
)
# Default filters that would hide real leaks here: `is_indirect_reference` drops a whole line
# such as `client = OpenAI(api_key="sk-proj-...")`, and `is_non_text_file` skips .css and .svg
# by name (binary files are skipped anyway: the library ignores what does not decode as text).
DISABLED_FILTERS = (
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_non_text_file",
)
ALLOWLIST_HELP = (
    "if it is not a secret, end that line with a comment holding `pragma: allowlist secret` "
    "(or add a regular expression matching the line to the project's .secrets-allowlist)"
)
ALLOWLIST_FILE = ".secrets-allowlist"
LINE_FILTER = "detect_secrets.filters.regex.should_exclude_line"
SHOWN_FINDINGS = 5
# Kinds that say only "a secret-like assignment"; a finding names the specific shape first.
GENERIC_KINDS = ("Secret Keyword", secret_plugins.SecretAssignmentDetector.secret_type)


@dataclass(frozen=True)
class Finding:
    """One suspected credential: where the user has to fix it and what it looks like."""

    file: str
    line: int
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.file} line {self.line} ({', '.join(self.kinds)})"


def _settings() -> dict[str, list[dict[str, str]]]:
    path = f"file://{secret_plugins.__file__}"
    return {
        "plugins_used": [{"name": name} for name in LIBRARY_PLUGINS]
        + [{"name": name, "path": path} for name in CUSTOM_PLUGINS]
    }


def _require_plugins() -> None:
    """Fail closed: the scan refuses to run (and so to pass) without all of its plugins."""
    try:
        loaded = {type(plugin).__name__ for plugin in get_plugins()}
    except (TypeError, FileNotFoundError):
        loaded = set()
    missing = sorted({*LIBRARY_PLUGINS, *CUSTOM_PLUGINS} - loaded)
    if missing:
        raise PocgenError(
            f"the secret scan cannot load its detect-secrets plugins ({', '.join(missing)}), so "
            "nothing is uploaded; reinstall pocgen with detect-secrets>=1.5,<2."
        )


def allowed_lines(project: Path) -> list[str]:
    """The regular expressions of the project's `.secrets-allowlist` (none if it is absent)."""
    path = project / ALLOWLIST_FILE
    if not path.is_file():
        return []
    patterns = []
    for number, line in enumerate(_lines(path), start=1):
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        try:
            re.compile(pattern)
        except re.error as error:
            raise PocgenError(
                f"{path} line {number} is not a valid regular expression ({error}); fix it."
            ) from None
        patterns.append(pattern)
    return patterns


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _locate(
    project: Path, folder: Path, built: str, origin: str | None, line: int
) -> tuple[str, int]:
    """The project file and line the user has to edit. A copy's line number may differ from
    its source's (the README gains front matter, the test split is cut to a few rows), so the
    flagged line's text is looked up in the source; a file pocgen or the web build generated is
    named by its place in the build."""
    source = project / origin if origin and not origin.startswith("(") else None
    if source is not None and source.is_file():
        flagged = _lines(folder / built)[line - 1].strip()
        for number, text in enumerate(_lines(source), start=1):
            if text.strip() == flagged:
                return origin, number
    return f"{SPACE_DIR.as_posix()}/{built}", line


def find_secrets(folder: Path, origins: dict[str, str], project: Path) -> list[Finding]:
    """Every suspected credential in the files under `folder`, in path and line order.

    `origins` maps a built file (relative, POSIX) to the project file it came from, so each
    finding names the file the user has to fix. The secret values themselves are never returned.
    """
    kinds: dict[tuple[str, int], list[str]] = {}
    allowed = allowed_lines(project)
    with transient_settings(_settings()) as settings:
        settings.disable_filters(*DISABLED_FILTERS)
        if allowed:
            settings.filters[LINE_FILTER] = {"pattern": allowed}
            get_filters.cache_clear()
        _require_plugins()
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            built = path.relative_to(folder).as_posix()
            for secret in sorted(scan_file(str(path)), key=lambda found: found.line_number):
                file, line = _locate(project, folder, built, origins.get(built), secret.line_number)
                kinds.setdefault((file, line), []).append(secret.type)
    return [
        Finding(
            file, line, tuple(sorted(set(found), key=lambda kind: (kind in GENERIC_KINDS, kind)))
        )
        for (file, line), found in kinds.items()
    ]


def refuse_secrets(folder: Path, origins: dict[str, str], project: Path) -> None:
    """Raise one line naming every file, line and kind of suspected credential (not the value)."""
    findings = find_secrets(folder, origins, project)
    if not findings:
        return
    shown = "; ".join(map(str, findings[:SHOWN_FINDINGS]))
    more = len(findings) - SHOWN_FINDINGS
    shown += f"; and {more} more" if more > 0 else ""
    raise PocgenError(
        f"refusing to upload what looks like a secret: {shown}. Remove it (Space secrets are set "
        f"from POCGEN_SPACE_SECRET_* environment variables), or {ALLOWLIST_HELP}."
    )
