"""Scores of the labelled corpus (``tests/corpus``): verdicts and causes against the truth.

Three figures, as issue 18 measures them on an external corpus:

* **runs verdict**: the notebook runs top to bottom (no cell with an error it was not marked to
  raise and that its stored outputs do not show, no timeout, no dead kernel) — nbrepro's answer
  from its cell statuses against ``runs`` in ``labels.json``;
* **nbval-rule outputs verdict**: with ``--nbval-compat`` (or nbval's markers), ``reproduced``
  against ``nbval: pass``;
* **specific cause**: of the cells labelled with a cause (in the modes their case names), the
  share whose strongest claimed cause is the labelled one (``unknown`` never counts).

Cells labelled ``None`` that fail anyway are listed as false differences; every claim must carry
evidence.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
LABELS = HERE / "labels.json"
#: Cell statuses that mean the notebook did not run top to bottom.
NOT_RUN_STATUSES = frozenset({"error", "timeout", "kernel-died", "not-run"})


def load_labels() -> dict[str, Any]:
    """The truth: ``labels.json``'s ``notebooks``."""
    return dict(json.loads(LABELS.read_text())["notebooks"])


@dataclass
class CellScore:
    """One labelled cell's truth and what nbrepro said."""

    notebook: str
    cell_id: str
    mode: str
    label: str | None
    status: str
    cause: str | None
    evidenced: bool

    @property
    def correct(self) -> bool:
        """The labelled cause is the strongest claimed (a reproducing cell: it reproduced)."""
        if self.label is None:
            return self.status not in _FAILING
        return self.cause == self.label


_FAILING = frozenset({"mismatch", "nondeterministic", "error", "timeout", "kernel-died", "not-run"})


@dataclass
class CorpusScore:
    """Every figure of one scoring run."""

    runs: list[tuple[str, bool, bool]] = field(default_factory=list)
    nbval: list[tuple[str, str, str]] = field(default_factory=list)
    tolerant: list[tuple[str, str, str]] = field(default_factory=list)
    cells: list[CellScore] = field(default_factory=list)
    #: Notebooks that could not run, with the reason (a kernel that did not start, ...).
    problems: list[str] = field(default_factory=list)

    @staticmethod
    def _share(hits: int, total: int) -> float:
        return hits / total if total else 1.0

    @property
    def runs_accuracy(self) -> float:
        """Share of notebooks whose runs verdict matches the truth."""
        return self._share(sum(t == s for _n, t, s in self.runs), len(self.runs))

    @property
    def nbval_accuracy(self) -> float:
        """Share of nbval-rule notebooks given nbval's verdict."""
        return self._share(sum(t == s for _n, t, s in self.nbval), len(self.nbval))

    @property
    def tolerant_accuracy(self) -> float:
        """Share of ``--drift-tolerant`` verdicts matching the truth."""
        return self._share(sum(t == s for _n, t, s in self.tolerant), len(self.tolerant))

    @property
    def differing(self) -> list[CellScore]:
        """The cells labelled with a cause."""
        return [c for c in self.cells if c.label is not None]

    @property
    def cause_share(self) -> float:
        """Share of differing cells given the labelled (specific) cause."""
        return self._share(sum(c.correct for c in self.differing), len(self.differing))

    @property
    def false_differences(self) -> list[CellScore]:
        """Cells labelled to reproduce that failed."""
        return [c for c in self.cells if c.label is None and not c.correct]

    @property
    def unevidenced(self) -> list[CellScore]:
        """Cells with a claimed cause without evidence."""
        return [c for c in self.cells if not c.evidenced]

    def table(self) -> str:
        """The figures, for people."""
        wrong = [c for c in self.cells if not c.correct]
        lines = [
            f"runs verdict:        {sum(t == s for _n, t, s in self.runs)} of {len(self.runs)} "
            f"notebooks ({self.runs_accuracy:.1%})",
            f"nbval-rule verdict:  {sum(t == s for _n, t, s in self.nbval)} of {len(self.nbval)} "
            f"notebooks ({self.nbval_accuracy:.1%})",
            f"drift-tolerant:      {sum(t == s for _n, t, s in self.tolerant)} of "
            f"{len(self.tolerant)} notebooks ({self.tolerant_accuracy:.1%})",
            f"specific cause:      {sum(c.correct for c in self.differing)} of "
            f"{len(self.differing)} differing cells ({self.cause_share:.1%}); "
            f"{len(self.cells)} labelled cells in all",
            f"false differences:   {len(self.false_differences)}; claims without evidence: "
            f"{len(self.unevidenced)}",
        ]
        lines += [
            f"  wrong: {c.notebook} {c.cell_id} [{c.mode}] label={c.label} got {c.status}/{c.cause}"
            for c in wrong
        ]
        lines += [f"  could not run: {p}" for p in self.problems]
        lines += [f"  runs wrong: {n} truth={t} nbrepro={s}" for n, t, s in self.runs if t != s]
        lines += [f"  nbval wrong: {n} truth={t} nbrepro={s}" for n, t, s in self.nbval if t != s]
        return "\n".join(lines)


def _options(values: dict[str, Any], jobs: int) -> Any:
    from nbrepro.verify.options import verify_options_from_values

    env = values.get("env")
    plain = {k: v for k, v in values.items() if k != "env"}
    options = verify_options_from_values({**plain, "jobs": jobs})
    if env:
        options.env = dict(env)
    return options


def _verify(folder: Path, names: list[str], values: dict[str, Any], jobs: int) -> dict[str, Any]:
    from nbrepro.verify import verify_paths

    report = verify_paths([folder / n for n in names], _options(values, jobs))
    return {Path(nb.path).name: nb for nb in report.notebooks}


def _cell_scores(name: str, mode: str, report: Any, labels: dict[str, Any]) -> list[CellScore]:
    out = []
    for cell in report.cells:
        if cell.id not in labels:
            continue
        diagnosis = cell.diagnosis
        cause = diagnosis.cause.id if diagnosis is not None else None
        evidenced = diagnosis is None or all(c.evidence for c in diagnosis.causes)
        out.append(CellScore(name, cell.id, mode, labels[cell.id], cell.status, cause, evidenced))
    return out


def score_corpus(workdir: Path, *, jobs: int = 2, names: list[str] | None = None) -> CorpusScore:
    """Verify (a copy in ``workdir`` of) the corpus notebooks named (default: all) with real
    kernels, in the modes their truth needs, and score every figure."""
    labels = load_labels()
    chosen = sorted(names or labels)
    folder = workdir / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        shutil.copy(NOTEBOOKS / name, folder / name)
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in chosen:
        truth = labels[name]
        base = dict(truth["options"])
        if not base.get("nbval_compat"):
            groups.setdefault(json.dumps(base, sort_keys=True), []).append((name, "default"))
        if truth["nbval"] is not None:
            nbval = {**base, "nbval_compat": True}
            groups.setdefault(json.dumps(nbval, sort_keys=True), []).append((name, "nbval"))
        if truth["drift_tolerant"] is not None:
            tolerant = {**base, "drift_tolerant": True}
            groups.setdefault(json.dumps(tolerant, sort_keys=True), []).append((name, "tolerant"))
    score = CorpusScore()
    for key, members in sorted(groups.items()):
        reports = _verify(folder, sorted({n for n, _m in members}), json.loads(key), jobs)
        for name, mode in members:
            truth, report = labels[name], reports[name]
            if report.status == "could-not-run":
                score.problems.append(f"{name} [{mode}]: {report.reason}")
            if mode == "default":
                ran = not any(c.status in NOT_RUN_STATUSES for c in report.cells)
                score.runs.append((name, bool(truth["runs"]), ran))
            elif mode == "nbval":
                said = "pass" if report.status == "reproduced" else "fail"
                score.nbval.append((name, truth["nbval"], said))
            else:
                score.tolerant.append((name, truth["drift_tolerant"], report.status))
            if mode in truth["modes"]:
                score.cells += _cell_scores(name, mode, report, truth["cells"])
    return score
