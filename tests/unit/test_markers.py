"""The `<!-- pocgen:NAME -->` regions: found, fingerprinted, filled; the user's text kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocgen.errors import PocgenError
from pocgen.writeup.markers import (
    file_edited,
    fill,
    find_regions,
    fingerprint,
    render_region,
    sign_file,
    user_section,
)

pytestmark = pytest.mark.unit

TEXT = "# Title\n\n<!-- pocgen:results -->\n<!-- /pocgen:results -->\n\nMine.\n"


def test_regions_are_found_in_order() -> None:
    text = "<!-- pocgen:a -->\nx\n<!-- /pocgen:a -->\n<!-- pocgen:b -->\n<!-- /pocgen:b -->"
    assert [(r.name, r.body.strip()) for r in find_regions(text)] == [("a", "x"), ("b", "")]


def test_prose_mentioning_markers_is_no_marker() -> None:
    assert find_regions("Sections are filled between `<!-- pocgen:... -->` markers.") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- /pocgen:a -->", "line 1: `<!-- /pocgen:a -->` closes a section that is not open"),
        ("<!-- pocgen:a -->\n<!-- pocgen:b -->", "line 2: `<!-- pocgen:b -->` starts inside"),
        ("x\n<!-- pocgen:a -->", "line 2: section `a` is never closed"),
        (
            "<!-- pocgen:a -->\n<!-- /pocgen:a -->\n<!-- pocgen:a -->\n<!-- /pocgen:a -->",
            "line 3: section `a` appears twice",
        ),
        ("<!-- pocgen:a -->\n<!-- /pocgen:b -->", "closes a section that is not open"),
    ],
)
def test_broken_markers_name_the_line(text: str, message: str) -> None:
    with pytest.raises(PocgenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        find_regions(text)


def test_a_blank_unsigned_region_is_pristine_and_a_typed_one_is_edited() -> None:
    assert not find_regions(TEXT)[0].edited
    typed = TEXT.replace("-->\n<!-- /", "-->\nmy words\n<!-- /")
    assert find_regions(typed)[0].edited


def test_filled_text_is_signed_and_reads_as_untouched() -> None:
    filled = fill(TEXT, {"results": "accuracy 0.9"})
    region = find_regions(filled)[0]
    assert region.sha == fingerprint("accuracy 0.9") and not region.edited
    assert filled.endswith("\n\nMine.\n") and filled.startswith("# Title\n\n")


def test_an_edit_after_filling_is_noticed() -> None:
    filled = fill(TEXT, {"results": "accuracy 0.9"}).replace("0.9", "0.99")
    assert find_regions(filled)[0].edited


def test_crlf_endings_are_kept_and_are_no_edit() -> None:
    crlf = TEXT.replace("\n", "\r\n")
    filled = fill(crlf, {"results": "line one\nline two"})
    assert "line one\r\nline two" in filled and "\n" not in filled.replace("\r\n", "")
    assert not find_regions(filled)[0].edited
    assert fingerprint("a\r\nb\r\n") == fingerprint("a\nb")


def test_regions_not_named_are_left_as_they_are() -> None:
    text = TEXT + "<!-- pocgen:demo -->\nkept\n<!-- /pocgen:demo -->\n"
    assert "kept" in fill(text, {"results": "x"})


def test_render_region_of_an_empty_body() -> None:
    assert render_region("a", "") == f"<!-- pocgen:a sha={fingerprint('')} -->\n<!-- /pocgen:a -->"


def test_signed_files_notice_edits() -> None:
    signed = sign_file("# Resume\n\n- one\n")
    assert not file_edited(signed)
    assert file_edited(signed.replace("one", "two"))
    assert file_edited("# Resume without a footer\n")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Scratches are missed.", "Scratches are missed."),
        ("_Write what this model does not do well._", ""),
        ("", ""),
        ("<!-- pocgen:x -->\n<!-- /pocgen:x -->", ""),
    ],
)
def test_the_authors_own_section(body: str, expected: str) -> None:
    text = f"# T\n\n## Limitations\n\n{body}\n\n## Next steps\n\nMore.\n"
    assert user_section(text, "Limitations") == expected
    assert user_section(text, "limitations") == expected  # headings match in any case
    assert user_section(text, "Missing section") == ""


plain = st.text(alphabet=st.sampled_from(list("abc XYZ019#*_-|`>\n\r\té✓")), max_size=40)


@given(before=plain, after=plain, body=plain)
def test_text_outside_the_markers_survives_any_fill(before: str, after: str, body: str) -> None:
    text = f"{before}\n<!-- pocgen:results -->\n<!-- /pocgen:results -->\n{after}"
    filled = fill(text, {"results": body})
    region = find_regions(filled)[0]
    assert filled[: region.start] == text[: find_regions(text)[0].start]
    assert filled[region.end :] == text[find_regions(text)[0].end :]
    assert not region.edited
