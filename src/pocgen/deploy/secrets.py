"""Refuse to upload anything that looks like a credential, using Yelp's detect-secrets.

A Space is public by default and anyone can clone its files, so a token that slips into the upload
is leaked for good. The build copies only what the demo needs; this scan is the second line of
defence and reads every byte about to leave the machine: code, README, CSV, JSON, page scripts,
and the text hidden in files a text scanner skips (`file_text`: non-UTF-8 text, ONNX metadata,
image metadata, JSON escapes, notebook images, other binaries). No path is skipped.

detect-secrets brings the well-known shapes (AWS, GitHub, Slack, Stripe, OpenAI, JWTs, private
keys, URLs with a password, keyword assignments); `secret_plugins` adds those it lacks.

A false positive is allowed in one of two documented ways:
- the library's own inline marker: end the line with a comment holding `pragma: allowlist secret`
  (`# ...` in Python, CSV or YAML, `<!-- ... -->` in Markdown, `// ...` in JavaScript), or put
  `pragma: allowlist nextline secret` alone on the line above;
- for files without comments (JSON), the project file `.secrets-allowlist`: one entry per line
  (`#` starts a comment), a file of the project and a Python regular expression matching the
  flagged line, as `reports/metrics.json: "dataset_token":`. An entry must name one file, and a
  pattern that matches any line (`.`, `.*`, an empty one) is refused: an allow-list allows a
  line, it never turns the scan off. Every line it allowed is listed in the deploy plan.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from detect_secrets.core.scan import scan_file, scan_line
from detect_secrets.filters.allowlist import is_line_allowlisted
from detect_secrets.settings import get_plugins, transient_settings
from detect_secrets.util.code_snippet import get_code_snippet

from pocgen.deploy import file_text, secret_plugins
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
# such as `client = OpenAI(api_key="sk-proj-...")`, and the others skip files by their name
# (`.css`, `.svg`, any path with `swagger` in it, lock files) whatever they hold.
DISABLED_FILTERS = (
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_non_text_file",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "detect_secrets.filters.heuristic.is_lock_file",
)
ALLOWLIST_HELP = (
    "if it is not a secret, end that line with a comment holding `pragma: allowlist secret` "
    "(or add `FILE: PATTERN`, the file and a regular expression matching the line, to the "
    "project's .secrets-allowlist)"
)
ALLOWLIST_FILE = ".secrets-allowlist"
# Words a keyword or assignment plugin needs on a line (detect-secrets' keyword list and
# `secret_plugins`): a hidden line with none, and no token shape, cannot be flagged.
SECRET_WORDS = re.compile(r"(?i)key|pass|pwd|secret|token|contrase|://")
# Lines that share nothing with a real flagged line: a pattern matching one matches any line.
PROBE_LINES = ("", " ", "x", "0", "zq", "~~~~")
SHOWN_FINDINGS = 5
# Kinds that say only "a secret-like assignment"; a finding names the specific shape first.
GENERIC_KINDS = ("Secret Keyword", secret_plugins.SecretAssignmentDetector.secret_type)


@dataclass(frozen=True)
class Finding:
    """One suspected credential: where the user has to fix it and what it looks like. `place`
    says where inside the file when it is not one of the file's own lines (`EXIF Artist`)."""

    file: str
    line: int | None
    kinds: tuple[str, ...]
    place: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.place is None else f"in its {self.place}"
        return f"{self.file} {where} ({', '.join(self.kinds)})"


@dataclass(frozen=True)
class AllowEntry:
    """One line of `.secrets-allowlist`: a file of the project and a pattern for its lines."""

    number: int
    file: str
    pattern: re.Pattern[str]

    def allows(self, finding: Finding, built: str, text: str) -> bool:
        return self.file in (finding.file, built) and bool(self.pattern.search(text))


@dataclass
class Scan:
    """What the scan found: refused findings, and those an allow-list entry allowed."""

    findings: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, AllowEntry]] = field(default_factory=list)


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


def allow_entries(project: Path) -> list[AllowEntry]:
    """The entries of the project's `.secrets-allowlist` (none if it is absent); one line for
    an entry that names no single file, does not compile, or matches any line."""
    path = project / ALLOWLIST_FILE
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(_lines(path), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        where = f"{path} line {number}"
        name, separator, pattern = (part.strip() for part in entry.partition(": "))
        if not separator or not name or not pattern:
            raise PocgenError(
                f"{where} must name a file and a pattern for its flagged line, like "
                '`reports/metrics.json: "dataset_token":`; fix it.'
            )
        if any(char in name for char in "*?[") or Path(name).is_absolute() or ".." in name:
            raise PocgenError(f"{where} must name one file of the project, not {name!r}; fix it.")
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise PocgenError(
                f"{where} is not a valid regular expression ({error}); fix it."
            ) from None
        if any(regex.search(probe) for probe in PROBE_LINES):
            raise PocgenError(
                f"{where}: the pattern {pattern!r} matches any line, so it would turn the scan "
                f"off for {name}; match the text of the flagged line instead."
            )
        entries.append(AllowEntry(number, name.removeprefix("./"), regex))
    return entries


def _lines(path: Path) -> list[str]:
    return file_text.decode(path.read_bytes()).splitlines()


def _locate(
    project: Path, folder: Path, built: str, origin: str | None, line: int | None
) -> tuple[str, int | None]:
    """The project file and line the user has to edit. A copy's line number may differ from
    its source's (the README gains front matter, the test split is cut to a few rows), so the
    flagged line's text is looked up in the source; a file pocgen or the web build generated is
    named by its place in the build."""
    source = project / origin if origin and not origin.startswith("(") else None
    if source is not None and source.is_file():
        if line is None:
            return origin, None
        flagged = _lines(folder / built)[line - 1].strip()
        for number, text in enumerate(_lines(source), start=1):
            if text.strip() == flagged:
                return origin, number
    return f"{SPACE_DIR.as_posix()}/{built}", line


def _found_in(path: Path) -> list[tuple[int | None, str | None, str, str]]:
    """(line, place, the flagged text, kind) for each suspected secret in the file: its own
    lines (line numbers as the file's) and every piece of text hidden in it."""
    data = path.read_bytes()
    found = []
    pieces = file_text.pieces(path)
    own = [piece for piece in pieces if piece.place is None]
    if own and not file_text.is_binary(data):
        try:
            data.decode("utf-8")
            lines = None  # UTF-8: the library reads the file itself, transformers and all
        except UnicodeDecodeError:
            lines = own[0].text.splitlines()
        if lines is None:
            text_lines = _lines(path)
            for secret in scan_file(str(path)):
                number = secret.line_number
                found.append((number, None, text_lines[number - 1], secret.type))
        else:
            for number, line in enumerate(lines, start=1):
                context = get_code_snippet(lines=lines, line_number=number)
                if is_line_allowlisted(str(path), line, context):
                    continue
                found += [(number, None, line, secret.type) for secret in scan_line(line)]
    hidden = [
        (piece.place, line) for piece in pieces if piece.place for line in piece.text.splitlines()
    ]
    for place, line in _worth_scanning(hidden):
        found += [(None, place, line, secret.type) for secret in scan_line(line)]
    return found


def _worth_scanning(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The lines any loaded plugin could flag: one its patterns match, or one with a word
    keyword and assignment plugins look for. A binary's thousands of printable runs are
    searched at C speed first, and only these few go through detect-secrets line by line."""
    if not lines:
        return []
    patterns = [regex for plugin in get_plugins() for regex in getattr(plugin, "denylist", ())]
    patterns.append(SECRET_WORDS)
    text = "\n".join(line for _, line in lines)
    starts = list(itertools.accumulate((len(line) + 1 for _, line in lines), initial=0))
    chosen = {
        bisect.bisect_right(starts, match.start()) - 1
        for regex in patterns
        for match in regex.finditer(text)
    }
    return [lines[index] for index in sorted(chosen)]


def scan(folder: Path, origins: dict[str, str], project: Path) -> Scan:
    """Every suspected credential in the files under `folder`, in path and line order, those
    the project's allow-list allows set apart.

    `origins` maps a built file (relative, POSIX) to the project file it came from, so each
    finding names the file the user has to fix. The secret values themselves are never returned.
    """
    entries = allow_entries(project)
    kinds: dict[tuple[str, int | None, str | None], list[str]] = {}
    allowed: dict[tuple[str, int | None, str | None], AllowEntry] = {}
    with transient_settings(_settings()) as settings:
        settings.disable_filters(*DISABLED_FILTERS)
        _require_plugins()
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            built = path.relative_to(folder).as_posix()
            for line, place, text, kind in sorted(
                _found_in(path), key=lambda found: (found[0] or 0, found[1] or "")
            ):
                file, number = _locate(project, folder, built, origins.get(built), line)
                key = (file, number, place)
                kinds.setdefault(key, []).append(kind)
                entry = next(
                    (e for e in entries if e.allows(Finding(file, number, (), place), built, text)),
                    None,
                )
                if entry is not None:
                    allowed.setdefault(key, entry)
    result = Scan()
    for (file, line, place), found in kinds.items():
        finding = Finding(
            file,
            line,
            tuple(sorted(set(found), key=lambda kind: (kind in GENERIC_KINDS, kind))),
            place,
        )
        if (file, line, place) in allowed:
            result.allowed.append((finding, allowed[(file, line, place)]))
        else:
            result.findings.append(finding)
    return result


def find_secrets(folder: Path, origins: dict[str, str], project: Path) -> list[Finding]:
    """The suspected credentials no allow-list entry allows (see `scan`)."""
    return scan(folder, origins, project).findings


def refuse_secrets(folder: Path, origins: dict[str, str], project: Path) -> Scan:
    """Raise one line naming every file, line and kind of suspected credential (not the
    value); return the scan, whose allowed findings the deploy plan lists."""
    result = scan(folder, origins, project)
    findings = result.findings
    if not findings:
        return result
    shown = "; ".join(map(str, findings[:SHOWN_FINDINGS]))
    more = len(findings) - SHOWN_FINDINGS
    shown += f"; and {more} more" if more > 0 else ""
    raise PocgenError(
        f"refusing to upload what looks like a secret: {shown}. Remove it (Space secrets are set "
        f"from POCGEN_SPACE_SECRET_* environment variables), or {ALLOWLIST_HELP}."
    )
