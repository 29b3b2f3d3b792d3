"""Cause rules about outputs that vary: ``nondeterminism`` (fresh runs disagree, or the code
visibly varies) and ``external-resource`` (the network, or the clock while fresh runs agree)."""

from __future__ import annotations

from ...optionspec import mention
from .. import evidence as ev
from ..causes import STRENGTH, Cause, Evidence
from ..cell_facts import FailingCell
from ..cell_remedies import steady_remedy
from ..registry import Claims, rule

_NOTE_RUNS = f"1 run (pass {mention('runs', 2)} to check determinism)"


def _stored_error_differs(cell: FailingCell) -> bool:
    """The cell raised the exception its stored outputs show, with another value."""
    o = cell.outcome
    return o.status == "error" and any(
        isinstance(out, dict)
        and out.get("output_type") == "error"
        and out.get("ename") == o.error_name
        and out.get("evalue") != o.error_value
        for out in cell.stored.get("outputs") or []
    )


@rule("nondeterminism")
def nondeterminism(cell: FailingCell) -> Claims:
    """Fresh runs disagree; or, with one run, the code visibly varies from run to run."""
    c, o, book = cell.code, cell.outcome, cell.notebook
    if c is None:
        return
    own = cell.nondeterminism_hints()
    taint = c.taint.get("nondeterminism")
    inherited = taint if taint is not None and taint.inherited else None
    if cell.runs_differ:
        detail = (
            o.summary
            if o.status == "nondeterministic"
            else f"run statuses differ: {', '.join(o.run_statuses)}"
        )
        evidence = [Evidence("runs", detail, {"run_statuses": list(o.run_statuses)})]
        evidence += [ev.hint(h, c.index) for h in own]
        if not own and inherited is not None:
            evidence += inherited.evidence
        summary = "gives different outputs in fresh runs"
        strength = STRENGTH["runs-differ"]
        yield Cause("nondeterminism", summary, strength, evidence, steady_remedy(evidence))
        return
    if o.status != "mismatch" and not _stored_error_differs(cell):
        return
    if book.runs > 1:
        yield f"determinism: {book.runs} fresh runs agree"
        return
    yield f"determinism: {_NOTE_RUNS}"
    if own:
        hints = [ev.hint(h, c.index) for h in own]
        strength = STRENGTH["static-hint"]
        yield Cause("nondeterminism", own[0].message, strength, hints, steady_remedy(hints))
    elif inherited is not None:
        evidence = list(inherited.evidence)
        summary, strength = f"uses {inherited.summary}", STRENGTH["static-hint"] - 5
        yield Cause("nondeterminism", summary, strength, evidence, steady_remedy(evidence))
    else:
        yield "static hints: no unseeded randomness, clock, uuid or set order"


@rule("external-resource", statuses={"mismatch", "error"})
def external_resource(cell: FailingCell) -> Claims:
    """A network error; the network in the code; or the clock while fresh runs agree."""
    c, o, book = cell.code, cell.outcome, cell.notebook
    offline = "keep a copy of what it downloads in the project and read that"
    if cell.error_kind == "network":
        evidence = [ev.error(o.error_name, o.error_value)]
        if c is not None:
            evidence += [ev.hint(h, c.index) for h in c.static.of_kind(["network"])]
        summary = f"could not reach a network resource ({o.error_name or ''})"
        remedy = f"check the network connection, or {offline}"
        yield Cause("external-resource", summary, STRENGTH["error"], evidence, remedy=remedy)
        return
    if c is None:
        return
    clock = c.static.of_kind(["clock"])
    if o.status == "mismatch" and not cell.runs_differ and book.runs > 1 and clock:
        evidence = [ev.hint(h, c.index) for h in clock]
        evidence.append(Evidence("runs", f"{book.runs} fresh runs agree on this cell"))
        yield Cause(
            "external-resource",
            f"reads the clock ({clock[0].what}), which moved on since it ran; "
            f"{book.runs} fresh runs agree",
            STRENGTH["static-hint"] + 5,
            evidence,
            remedy=steady_remedy(evidence),
        )
        return
    if cell.upstream is not None:
        return
    network = c.static.of_kind(["network"])
    if network:
        yield Cause(
            "external-resource",
            f"depends on the network ({network[0].what})",
            STRENGTH["static-hint"],
            [ev.hint(h, c.index) for h in network],
            remedy=offline,
        )
    reads = sorted(c.static.env_reads)
    recorded = set(book.recorded_environment.get("env_vars") or {})
    unrecorded = [r for r in reads if r not in recorded]
    if unrecorded:
        yield "reads environment variables the recorder does not keep: " + ", ".join(
            f"${r}" for r in unrecorded
        )
