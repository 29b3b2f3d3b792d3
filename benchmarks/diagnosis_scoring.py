"""Attribution accuracy over a labelled corpus (``tests/fixtures/diagnosis/labels.json``).

A labels file names, per notebook, the verify options to use and the expected causes of every
cell that does not reproduce (by cell id); cells not named must reproduce. ``roots`` names, for
cells labelled ``upstream-failed``, the id of the failing cell they are a consequence of. A cell
is attributed correctly when the set of causes claimed equals the set labelled and, for a
consequence, the root cell claimed is the labelled one. Per cause, ``labelled`` counts the cells
labelled with it, ``found`` those of them where it was claimed (with the right root), and
``false`` the cells where it was claimed without being labelled.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbrepro.errors import InputError

#: The cause of a cell that failed only because a cell above failed (it names a root cell).
UPSTREAM = "upstream-failed"


@dataclass
class CellResult:
    """One cell's expected and claimed causes."""

    notebook: str
    cell_id: str
    expected: list[str]
    claimed: list[str]
    #: Every claimed cause carries evidence.
    evidenced: bool = True
    #: The labelled root cell id of an ``upstream-failed`` cell (``None``: not labelled).
    expected_root: str | None = None
    #: The root cell id the ``upstream-failed`` claim points at (``None``: no such claim).
    claimed_root: str | None = None

    @property
    def root_correct(self) -> bool:
        """No root was labelled, or the claim points at the labelled root."""
        return self.expected_root is None or self.expected_root == self.claimed_root

    @property
    def correct(self) -> bool:
        """The claimed causes are exactly the labelled ones, pointing at the labelled root."""
        return set(self.expected) == set(self.claimed) and self.root_correct


@dataclass
class Score:
    """Accuracy over a corpus."""

    cells: list[CellResult] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Fraction of cells (labelled or claimed) attributed exactly (1.0 when none)."""
        return sum(c.correct for c in self.cells) / len(self.cells) if self.cells else 1.0

    def per_cause(self) -> dict[str, dict[str, int]]:
        """``{cause: {"labelled", "found", "false"}}``."""
        out: dict[str, dict[str, int]] = {}
        for cell in self.cells:
            for cause in set(cell.expected) | set(cell.claimed):
                row = out.setdefault(cause, {"labelled": 0, "found": 0, "false": 0})
                if cause in cell.expected:
                    row["labelled"] += 1
                    row["found"] += cause in cell.claimed and (
                        cause != UPSTREAM or cell.root_correct
                    )
                else:
                    row["false"] += 1
        return dict(sorted(out.items()))

    @property
    def unevidenced(self) -> list[CellResult]:
        """Cells with a cause claimed without evidence (must be empty)."""
        return [c for c in self.cells if not c.evidenced]

    def table(self) -> str:
        """A plain-text table: per cause, then overall."""
        lines = [f"{'cause':<22}{'labelled':>9}{'found':>7}{'false':>7}{'recall':>8}"]
        for cause, row in self.per_cause().items():
            recall = f"{row['found'] / row['labelled']:.0%}" if row["labelled"] else "-"
            lines.append(
                f"{cause:<22}{row['labelled']:>9}{row['found']:>7}{row['false']:>7}{recall:>8}"
            )
        rooted = [c for c in self.cells if c.expected_root is not None]
        if rooted:
            lines.append(
                f"consequences pointing at the labelled root cell: "
                f"{sum(c.root_correct for c in rooted)} of {len(rooted)}"
            )
        right = sum(c.correct for c in self.cells)
        lines.append(
            f"overall: {right} of {len(self.cells)} cells attributed exactly "
            f"({self.accuracy:.1%}); claims without evidence: {len(self.unevidenced)}"
        )
        return "\n".join(lines)


def load_labels(folder: Path) -> dict[str, Any]:
    """The ``labels.json`` of a corpus folder."""
    path = Path(folder) / "labels.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read labels: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("notebooks"), dict):
        raise InputError(f"{path}: no 'notebooks' object")
    return data


def score_reports(labels: dict[str, Any], reports: Iterable[dict[str, Any]]) -> Score:
    """Compare verify's JSON notebook reports (``NotebookReport.to_dict()``) with the labels."""
    score = Score()
    by_name = {Path(r["path"]).name: r for r in reports}
    for name, spec in sorted(labels["notebooks"].items()):
        report = by_name.get(name)
        if report is None:
            raise InputError(f"no report for labelled notebook {name}")
        expected: dict[str, list[str]] = spec.get("cells") or {}
        roots: dict[str, str] = spec.get("roots") or {}
        seen = set()
        for cell in report["cells"]:
            causes = cell.get("causes") or []
            claimed = [c["id"] for c in causes]
            if not claimed and cell["id"] not in expected:
                continue
            seen.add(cell["id"])
            evidenced = all(c.get("evidence") for c in causes)
            score.cells.append(
                CellResult(
                    name,
                    cell["id"],
                    list(expected.get(cell["id"], [])),
                    claimed,
                    evidenced,
                    roots.get(cell["id"]),
                    _claimed_root(causes),
                )
            )
        for cell_id, labelled in expected.items():
            if cell_id not in seen:
                score.cells.append(
                    CellResult(name, cell_id, list(labelled), [], expected_root=roots.get(cell_id))
                )
    return score


def _claimed_root(causes: list[dict[str, Any]]) -> str | None:
    """The root cell id an ``upstream-failed`` cause points at (its ``upstream`` evidence)."""
    for cause in causes:
        if cause.get("id") == UPSTREAM:
            for evidence in cause.get("evidence") or []:
                if evidence.get("kind") == "upstream":
                    root = (evidence.get("details") or {}).get("root_cell_id")
                    return str(root) if root is not None else None
    return None


def run_corpus(folder: Path, *, jobs: int = 2, names: Iterable[str] | None = None) -> Score:
    """Verify every labelled notebook of ``folder`` (a private copy) and score the diagnosis."""
    from nbrepro.verify import VerifyOptions, verify_paths

    labels = load_labels(folder)
    if names is not None:
        wanted = set(names)
        labels = {
            **labels,
            "notebooks": {k: v for k, v in labels["notebooks"].items() if k in wanted},
        }
    reports: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="nbrepro-corpus-") as tmp:
        work = Path(tmp) / "corpus"
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns("__pycache__"))
        groups: dict[tuple[int, float | None], list[Path]] = {}
        for name, spec in labels["notebooks"].items():
            opts = spec.get("verify") or {}
            key = (int(opts.get("runs", 1)), opts.get("timeout"))
            groups.setdefault(key, []).append(work / name)
        for (runs, timeout), paths in sorted(groups.items(), key=lambda kv: str(kv[0])):
            options = VerifyOptions(runs=runs, timeout=timeout)
            report = verify_paths(paths, options, jobs=jobs)
            reports += [nb.to_dict() for nb in report.notebooks]
    return score_reports(labels, reports)
