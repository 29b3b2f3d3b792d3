/**
 * The panel's headline verdict (also the status bar's): the server's verdict, combined with the
 * live findings that only the browser can compute, by one rule. No DOM.
 *
 * The server decides the verdict (`status_verdict` in `src/nbrepro/verify/verdict.py`): the
 * current kernel session's executions (a cell that raised), the static check of the saved file,
 * changed inputs, environment drift and the latest verification. The browser adds only what the
 * server cannot know yet: the notebook as it is *now*, unsaved — cells run out of order, cells
 * edited after they ran, cells that never ran above cells that did.
 *
 * **The rule** (also in docs/panel.md, "The verdict"):
 *
 * 1. Levels rank ok (0) < warning (1) < error (2). The server's verdict has its own level; the
 *    live findings are warnings, so the live level is 1 when there is one, else 0.
 * 2. The headline level is the worse of the two.
 * 3. Its label and summary are the server's when the server's level is the headline level (a tie
 *    goes to the server, which saw more); otherwise the live findings' ("At risk").
 * 4. Its reasons are the server's (worst first), then one per kind of live finding; a reason's
 *    cells are those of the live notebook (cells deleted since are dropped).
 * 5. Without a server verdict (server extension missing, not answered yet, request failed, or an
 *    answer without a verdict) the headline is the live findings alone, and says so.
 * 6. A headline at level 0 reads "Not run yet" when no code cell of the live notebook has run,
 *    unless the server says "Reproduced" (its latest verification reproduced the notebook).
 */

import {
  FindingKind,
  IFinding,
  IHeadlineReason,
  INotebookState,
  IServerVerdict,
  IVerdict,
  IVerdictReason,
  ServerLevel,
  VerdictLevel
} from '../tokens';

/** The rank of each level; the headline takes the worse. */
export const LEVEL_RANK: Record<ServerLevel, number> = { ok: 0, warning: 1, error: 2 };

/** The panel's level for each server level (`data-verdict`, CSS classes). */
const PANEL_LEVEL: Record<ServerLevel, VerdictLevel> = {
  ok: 'reproducible',
  warning: 'at-risk',
  error: 'not-reproducible'
};

/** The server's label of each level, used when the browser decides alone. */
const LABELS: Record<ServerLevel, string> = {
  ok: 'Looks reproducible',
  warning: 'At risk',
  error: 'Not reproducible'
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A server phrase as a sentence: capital first letter, final full stop. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) {
    return trimmed;
  }
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

/** The live reason of each kind of live finding. */
const LIVE_REASON: Partial<Record<FindingKind, (n: number) => string>> = {
  'out-of-order': n =>
    `${plural(n, 'cell')} ran before a cell above ${n === 1 ? 'it' : 'them'} (seen live)`,
  stale: n => `${plural(n, 'cell')} edited after ${n === 1 ? 'it' : 'they'} ran (seen live)`,
  'never-run': n => `${plural(n, 'cell')} never ran, but cells below did (seen live)`
};

/** The live findings' own verdict: a warning when there is one. */
export function liveLevel(live: IFinding[]): ServerLevel {
  return live.some(f => f.severity !== 'info') ? 'warning' : 'ok';
}

function liveReasons(live: IFinding[]): IHeadlineReason[] {
  const reasons: IHeadlineReason[] = [];
  for (const kind of Object.keys(LIVE_REASON) as FindingKind[]) {
    const findings = live.filter(f => f.kind === kind && f.severity !== 'info');
    if (findings.length === 0) {
      continue;
    }
    const cells = findings
      .filter(f => f.cellId !== undefined && f.cellIndex !== undefined)
      .map(f => ({ id: f.cellId as string, index: f.cellIndex as number }));
    reasons.push({
      kind,
      severity: 'warning',
      text: (LIVE_REASON[kind] as (n: number) => string)(findings.length),
      cells,
      origin: 'live'
    });
  }
  return reasons;
}

/** A server reason with its cells as they are in the live notebook. */
export function serverReason(
  reason: IVerdictReason,
  indexById: Map<string, number>
): IHeadlineReason {
  const seen = new Set<string>();
  const cells: { id: string; index: number }[] = [];
  for (const id of reason.cellIds) {
    const index = indexById.get(id);
    if (index !== undefined && !seen.has(id)) {
      seen.add(id);
      cells.push({ id, index });
    }
  }
  cells.sort((a, b) => a.index - b.index);
  return {
    kind: reason.kind,
    severity: reason.severity,
    text: sentence(reason.text),
    cells,
    origin: 'server'
  };
}

/**
 * The headline verdict of a notebook: `server` (the status's verdict, `undefined` when there is
 * none) combined with `live` (the findings the browser computed from the live notebook) by the
 * rule of this module's doc comment.
 */
export function headlineVerdict(
  state: INotebookState,
  live: IFinding[],
  server: IServerVerdict | undefined
): IVerdict {
  const indexById = new Map<string, number>();
  state.cells.forEach((cell, index) => indexById.set(cell.id, index));
  const hasRun = state.cells.some(cell => cell.type === 'code' && cell.executionCount !== null);
  const ownLevel = liveLevel(live);
  const own = liveReasons(live);
  const count = live.filter(f => f.severity !== 'info').length;
  const problems = plural(count, 'problem');

  if (server === undefined) {
    // Rule 5: the live findings alone.
    if (ownLevel === 'warning') {
      return {
        level: 'at-risk',
        label: LABELS.warning,
        summary: `${problems} in the notebook as it is now: the outputs may not come back when it runs top to bottom. (Browser checks only: the server's verdict is not available.)`,
        source: 'live-only',
        reasons: own
      };
    }
    return {
      level: hasRun ? 'reproducible' : 'not-run',
      label: hasRun ? LABELS.ok : 'Not run yet',
      summary: hasRun
        ? "Cells ran top to bottom as far as the browser can tell. (Browser checks only: the server's verdict is not available.)"
        : 'No code cell has run in this notebook.',
      source: 'live-only',
      reasons: own
    };
  }

  const reasons = [...server.reasons.map(r => serverReason(r, indexById)), ...own];
  if (LEVEL_RANK[ownLevel] > LEVEL_RANK[server.level]) {
    // Rule 3: the live findings are worse than the server's verdict.
    return {
      level: PANEL_LEVEL[ownLevel],
      label: LABELS[ownLevel],
      summary: `${problems} in the notebook as it is now: the outputs may not come back when it runs top to bottom.`,
      source: 'live',
      reasons
    };
  }
  const reproduced = server.label === 'Reproduced';
  if (server.level === 'ok' && !hasRun && !reproduced) {
    // Rule 6.
    return {
      level: 'not-run',
      label: 'Not run yet',
      summary: 'No code cell has run in this notebook.',
      source: 'server',
      reasons
    };
  }
  return {
    level: PANEL_LEVEL[server.level],
    label: server.label,
    summary: sentence(server.summary || 'no problem found'),
    source: 'server',
    reasons
  };
}
