"""nbval's sanitize file format: parsing, semantics and one-line errors."""

from __future__ import annotations

import pytest

from nbrepro.compare import CompareOptions, compare_outputs, load_sanitizers, parse_sanitizers
from nbrepro.errors import InputError

NBVAL_EXAMPLE = """\
[regex1]
regex: \\d{1,2}/\\d{1,2}/\\d{2,4}
replace: DATE-STAMP

[regex2]
regex: \\d{2}:\\d{2}:\\d{2}
replace: TIME-STAMP
"""


def _stream(text):
    return [{"output_type": "stream", "name": "stdout", "text": text}]


def test_nbval_example_file_sanitizes_dates_and_times(tmp_path):
    path = tmp_path / "sanitize.cfg"
    path.write_text(NBVAL_EXAMPLE)
    sanitizers = load_sanitizers(path)
    assert [(s.section, s.regex.pattern, s.replace) for s in sanitizers] == [
        ("regex1", r"\d{1,2}/\d{1,2}/\d{2,4}", "DATE-STAMP"),
        ("regex2", r"\d{2}:\d{2}:\d{2}", "TIME-STAMP"),
    ]
    options = CompareOptions(sanitizers=sanitizers)
    expected = _stream("run on 1/2/2024 at 10:11:12\n")
    actual = _stream("run on 31/12/2025 at 23:59:01\n")
    assert compare_outputs(expected, actual, options).equal
    assert not compare_outputs(expected, actual, CompareOptions()).equal


def test_replacement_is_a_re_sub_template_with_groups():
    (sanitizer,) = parse_sanitizers(
        "regex: (\\w+)@(?P<host>\\w+)\\.com\nreplace: \\1 at \\g<host>\n"
    )
    assert sanitizer.apply("mail ada@example.com") == "mail ada at example"


def test_empty_replacement_and_windows_line_endings():
    sanitizers = parse_sanitizers("regex: \\s+$\r\nreplace:\r\n")
    assert sanitizers[0].replace == ""
    assert sanitizers[0].apply("x   ") == "x"


def test_repeated_regex_keeps_first_place_and_last_replacement():
    sanitizers = parse_sanitizers(
        "regex: a\nreplace: 1\nregex: b\nreplace: 2\nregex: a\nreplace: 3\n"
    )
    assert [(s.regex.pattern, s.replace) for s in sanitizers] == [("a", "3"), ("b", "2")]


def test_comments_and_blank_lines_are_allowed():
    text = "# dates\n; more\n\n[s]\nregex: x\nreplace: y\n"
    assert len(parse_sanitizers(text)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("regex: (unclosed\nreplace: x\n", "f.cfg:1: invalid regex '(unclosed'"),
        ("regex: a\nreplace: \\2\n", "f.cfg:2: invalid replacement"),
        ("regex: a\n\nreplace: b\n", "f.cfg:1: `regex:` must be followed by a `replace:` line"),
        ("regex: a\n", "f.cfg:1: `regex:` must be followed by a `replace:` line"),
        ("replace: b\n", "f.cfg:1: `replace:` without a `regex:` line before it"),
        ("[s]\nregexp: a\nreplace: b\n", "f.cfg:2: expected `[section]`, `regex: PATTERN`"),
        ("regex: \nreplace: b\n", "f.cfg:1: empty regex"),
        ("# nothing\n", "f.cfg: no `regex:`/`replace:` pairs found"),
    ],
)
def test_bad_sanitize_text_is_a_one_line_input_error(text, message):
    with pytest.raises(InputError) as info:
        parse_sanitizers(text, "f.cfg")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_missing_directory_and_binary_files_are_input_errors(tmp_path):
    for path, message in [
        (tmp_path / "nope.cfg", "no such sanitize file"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(InputError, match=message):
            load_sanitizers(path)
    binary = tmp_path / "bin.cfg"
    binary.write_bytes(b"\xff\xfe\x00regex")
    with pytest.raises(InputError, match="not UTF-8"):
        load_sanitizers(binary)


def test_sanitizers_apply_to_every_text_but_not_to_image_data():
    (sanitizer,) = parse_sanitizers("regex: A\nreplace: Z\n")
    options = CompareOptions(sanitizers=(sanitizer,))
    from nbrepro.compare import normalize_outputs

    outputs = [
        {
            "output_type": "display_data",
            "data": {
                "text/plain": "A",
                "text/html": "<b>A</b>",
                "image/png": "AAAA",
                "application/json": {"k": "A"},
            },
        },
        {"output_type": "error", "ename": "AError", "evalue": "A", "traceback": ["A"]},
    ]
    data, error = normalize_outputs(outputs, options)
    assert data["data"] == {
        "text/plain": "Z",
        "text/html": "<b>Z</b>",
        "image/png": "AAAA",
        "application/json": {"k": "Z"},
    }
    assert (error["ename"], error["evalue"], error["traceback"]) == ("ZError", "Z", ["Z"])
