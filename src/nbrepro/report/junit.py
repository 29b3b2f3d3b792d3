"""JUnit XML for CI systems: one test suite per notebook, one test case per code cell.

``mismatch`` and ``nondeterministic`` cells are failures; ``error``, ``timeout``,
``kernel-died`` and ``not-run`` are errors; ``skipped`` and ``ignored`` are skipped test cases.
A notebook that could not run without a failing cell gets one error test case saying why.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from ..cell_names import cell_label
from ..optionspec import render_mentions

if TYPE_CHECKING:
    from ..verify import NotebookReport, VerifyReport

_FAILURES = frozenset({"mismatch", "nondeterministic"})
_ERRORS = frozenset({"error", "timeout", "kernel-died", "not-run"})
_SKIPPED = frozenset({"skipped", "ignored"})
# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\N{REPLACEMENT CHARACTER}", text)


def _suite(report: NotebookReport) -> ET.Element:
    suite = ET.Element("testsuite", name=_clean(report.path))
    failures = errors = skipped = 0
    for cell in report.cells:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_clean(report.path),
            name=_clean(cell_label(cell.index, cell.id)),
            time=f"{cell.duration:.3f}",
        )
        message = _clean(cell.summary or cell.status)
        body = _clean(cell.determinism_diff or cell.diff)
        if cell.status in _FAILURES:
            failures += 1
            ET.SubElement(case, "failure", message=message, type=cell.status).text = body
        elif cell.status in _ERRORS:
            errors += 1
            ET.SubElement(case, "error", message=message, type=cell.status).text = body
        elif cell.status in _SKIPPED:
            skipped += 1
            ET.SubElement(case, "skipped", message=message)
    if report.status != "reproduced" and not (failures or errors):
        errors += 1
        case = ET.SubElement(suite, "testcase", classname=_clean(report.path), name="notebook")
        ET.SubElement(case, "error", message=_clean(report.reason), type=report.status)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{report.duration:.3f}")
    return suite


def render_junit(report: VerifyReport) -> str:
    """The JUnit XML document (UTF-8 text with an XML declaration)."""
    root = ET.Element("testsuites", name="nbrepro verify")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for notebook in report.notebooks:
        suite = _suite(notebook)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{report.duration:.3f}")
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + render_mentions(text, "cli") + "\n"
