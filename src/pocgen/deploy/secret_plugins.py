"""detect-secrets plugins for the credentials its own plugins (1.5) do not know.

detect-secrets loads custom plugins from a file path, so this module holds only plugin classes.
Each covers a token shape that people paste into ML projects: model-provider keys (Anthropic,
OpenAI project keys, Hugging Face), Google API keys, GitHub's fine-grained tokens, and any
high-entropy value assigned to a name that says it is a key, secret, token or password.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Generator

from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector


class HuggingFaceTokenDetector(RegexBasedDetector):
    """User access tokens (hf_...) and the older organisation tokens (api_org_...)."""

    secret_type = "Hugging Face Token"
    denylist = [re.compile(r"\b(?:hf|api_org)_[A-Za-z0-9]{30,}")]


class AnthropicKeyDetector(RegexBasedDetector):
    """Anthropic API and admin keys: sk-ant-api03-..., sk-ant-admin01-..."""

    secret_type = "Anthropic API Key"
    denylist = [re.compile(r"\bsk-ant-[a-z]+\d*-[A-Za-z0-9_-]{32,}")]


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """OpenAI project, service-account and admin keys, whatever their middle part holds.

    detect-secrets' own OpenAI plugin wants the `T3BlbkFJ` marker inside the key; keys issued
    since 2024 are matched by their prefix alone.
    """

    secret_type = "OpenAI API Key"
    denylist = [re.compile(r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{32,}")]


class GoogleApiKeyDetector(RegexBasedDetector):
    """Google Cloud / Gemini / Maps API keys (AIza + 35 characters)."""

    secret_type = "Google API Key"
    denylist = [re.compile(r"\bAIza[0-9A-Za-z_-]{35}")]


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """GitHub's fine-grained personal access tokens, which detect-secrets 1.5 does not know."""

    secret_type = "GitHub Fine-Grained Token"
    denylist = [re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}")]


# The words of a name that say its value is secret: HF_TOKEN, aws_secret_access_key, apiKey,
# db-password. A name is cut into words at `_`, `.`, `-` and camelCase humps, so `tokenizer`
# or `secretary` say nothing.
SECRET_WORDS = {"key", "keys", "apikey", "token", "tokens", "secret", "secrets"}
PASSWORD_WORDS = {"password", "passwd", "pwd", "passphrase"}
# name, an optional closing quote, then `=`, `:=`, `:`, `=>` or a CSV comma, then the value: the
# characters keys and passwords are made of, not followed by `(` or `[` (a call or an index is
# code, not a value). Inside a lookahead, so assignments that overlap (`X = 'TOKEN: v'`) are all
# found.
SECRET_ASSIGNMENT = re.compile(
    r"(?=(?<![A-Za-z0-9_.-])([A-Za-z][A-Za-z0-9_.-]*)[\"'\]]?\s*(?::=|=>|[=:,])\s*[\"'`]?"
    r"([A-Za-z0-9_+/=.~@!$%^&*-]+)(?![A-Za-z0-9_+/=.~@!$%^&*(\[-]))"
)
CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
NAME_SEPARATORS = re.compile(r"[-_./:]")
MIN_LENGTH = 16
MIN_ENTROPY = 3.5  # bits per character: random keys score 4.5 to 6, words and paths below 3.5
# A value made of at least this many short parts is a name (a model, a dataset, a cache key).
NAME_PARTS = 3
NAME_PART_LENGTH = 12


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`, from the frequency of each character in it."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def name_words(name: str) -> set[str]:
    """`awsSecretAccessKey`, `aws_secret-access.key` -> {aws, secret, access, key}."""
    return {word.lower() for word in NAME_SEPARATORS.split(CAMEL_HUMP.sub("_", name)) if word}


def looks_like_a_name(value: str) -> bool:
    """`distilbert-base-uncased-finetuned-sst-2-english`, `resnet18-imagenet-1k-v2`: short
    parts joined by `-`, `_`, `.` or `/`, as model, dataset and cache names are. A key is one
    long random run (a prefix aside)."""
    parts = [part for part in NAME_SEPARATORS.split(value) if part]
    return len(parts) >= NAME_PARTS and max(map(len, parts)) <= NAME_PART_LENGTH


class SecretAssignmentDetector(BasePlugin):
    """A long, random-looking value assigned to a name like *_KEY, *SECRET*, *TOKEN*, PASSWORD.

    detect-secrets' keyword plugin does not know TOKEN and flags short words too; requiring
    length and entropy keeps `sort_key = "label"` or `password_field = "password"` out, and a
    key or token named like a model (`cache_key = "resnet18-imagenet-1k-v2"`) is a name, not a
    secret. A password is flagged whatever it looks like.
    """

    secret_type = "High-Entropy Value Assigned to a Secret Name"

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        for match in SECRET_ASSIGNMENT.finditer(string):
            words, value = name_words(match.group(1)), match.group(2)
            password = bool(words & PASSWORD_WORDS)
            if not password and not words & SECRET_WORDS:
                continue
            if (
                len(value) >= MIN_LENGTH
                and any(char.isdigit() for char in value)  # identifiers in code rarely have one
                and any(char.isalpha() for char in value)
                and shannon_entropy(value) >= MIN_ENTROPY
                and (password or not looks_like_a_name(value))
            ):
                yield value
