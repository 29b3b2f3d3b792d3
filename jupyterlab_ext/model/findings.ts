/**
 * The findings model: from a notebook's live state and the server's status, the problems that
 * stop the notebook from reproducing top to bottom, grouped by kind. The verdict is the server's,
 * combined with the live findings by the rule of `./verdict.ts`. No DOM.
 */

import {
  FINDING_KINDS,
  FindingKind,
  ICellState,
  IFinding,
  IFindingGroup,
  INotebookState,
  IPackageDrift,
  IReport,
  IServerFinding,
  IServerStatus
} from '../tokens';
import { normalizeSource } from './hash';
import { headlineVerdict } from './verdict';

/** Group titles, in the panel's words. */
export const KIND_TITLES: Record<FindingKind, string> = {
  'use-before-def': 'Used before definition',
  'hidden-state': 'Hidden state',
  'out-of-order': 'Out-of-order execution',
  stale: 'Edited after it ran',
  'never-run': 'Never run',
  'changed-input': 'Changed input data',
  dependent: 'Depends on a changed cell',
  'env-drift': 'Environment drift'
};

/** Short badge text of each kind, for the cell markers. */
export const KIND_BADGES: Record<FindingKind, string> = {
  'use-before-def': 'undef',
  'hidden-state': 'hidden',
  'out-of-order': 'order',
  stale: 'stale',
  'never-run': 'not run',
  'changed-input': 'data',
  dependent: 'depends',
  'env-drift': 'env'
};

const RESTART_AND_RUN =
  'Restart the kernel and run all cells (Kernel › Restart Kernel and Run All Cells).';

/** The kinds the frontend computes itself from the live notebook; the server's are older. */
const LIVE_KINDS: ReadonlySet<FindingKind> = new Set(['out-of-order', 'stale', 'never-run']);

/**
 * The panel's kind of each rule of nbrepro's static check, by stable rule id (see
 * docs/check.md). Rules not listed here are not shown in the panel.
 */
export const KIND_OF_RULE: Readonly<Record<string, FindingKind>> = {
  NBR101: 'out-of-order', // out-of-order
  NBR102: 'never-run', // never-executed
  NBR103: 'hidden-state', // output-without-count
  NBR104: 'hidden-state', // execution-gap
  NBR201: 'use-before-def', // defined-below
  NBR202: 'hidden-state', // undefined-name
  NBR203: 'hidden-state', // used-after-del
  NBR301: 'stale' // stale-output
};

/** Map a static-check finding to a kind by its rule id; `undefined` for rules not shown. */
export function kindOfServerFinding(
  finding: Pick<IServerFinding, 'name' | 'rule'>
): FindingKind | undefined {
  return KIND_OF_RULE[finding.rule];
}

/** Code cells that have run, in notebook order, with their indices. */
function executedCells(cells: ICellState[]): { cell: ICellState; index: number }[] {
  const result: { cell: ICellState; index: number }[] = [];
  cells.forEach((cell, index) => {
    if (cell.type === 'code' && cell.executionCount !== null) {
      result.push({ cell, index });
    }
  });
  return result;
}

/** Cells whose execution count is lower than that of a cell above them. */
export function outOfOrderFindings(cells: ICellState[]): IFinding[] {
  const findings: IFinding[] = [];
  let highest = -Infinity;
  let highestIndex = -1;
  for (const { cell, index } of executedCells(cells)) {
    const count = cell.executionCount as number;
    if (count < highest) {
      findings.push({
        kind: 'out-of-order',
        severity: 'warning',
        cellId: cell.id,
        cellIndex: index,
        message: `Cell ${index + 1} ran as [${count}], before cell ${highestIndex + 1} above it ran as [${highest}].`,
        fix: RESTART_AND_RUN,
        origin: 'live'
      });
    } else {
      highest = count;
      highestIndex = index;
    }
  }
  return findings;
}

/** Whether a cell's output came from a source other than the one it shows now. */
export function isStale(cell: ICellState, recordedHash: string | undefined): boolean {
  if (cell.type !== 'code' || cell.executionCount === null || cell.pending) {
    return false;
  }
  if (cell.executedSource !== undefined) {
    return normalizeSource(cell.executedSource) !== normalizeSource(cell.source);
  }
  return (
    recordedHash !== undefined && cell.sourceHash !== undefined && recordedHash !== cell.sourceHash
  );
}

/** Cells edited since they last ran (live), or whose source no longer matches the recording. */
export function staleFindings(state: INotebookState): IFinding[] {
  const recorded = state.provenance?.cells ?? {};
  const findings: IFinding[] = [];
  state.cells.forEach((cell, index) => {
    const record = recorded[cell.id];
    // A recorded hash speaks for the current output only if it is of the same execution.
    const recordedHash =
      record && record.execution_count === cell.executionCount ? record.source_hash : undefined;
    if (isStale(cell, recordedHash)) {
      findings.push({
        kind: 'stale',
        severity: 'warning',
        cellId: cell.id,
        cellIndex: index,
        message: `Cell ${index + 1} [${cell.executionCount}] was edited after it ran: its output is from older code.`,
        fix: 'Run the cell again (Shift+Enter), then re-run the cells below that use its results.',
        origin: 'live'
      });
    }
  });
  return findings;
}

/**
 * Code cells with source that never ran, when another cell did: above a cell that ran (the cells
 * below may depend on it), or below the last one that ran (its output is missing from the
 * notebook: a run top to bottom executes it).
 */
export function neverRunFindings(cells: ICellState[]): IFinding[] {
  const executed = executedCells(cells);
  if (executed.length === 0) {
    return [];
  }
  const lastExecuted = executed[executed.length - 1].index;
  const findings: IFinding[] = [];
  for (let index = 0; index < cells.length; index++) {
    const cell = cells[index];
    if (
      cell.type === 'code' &&
      cell.executionCount === null &&
      !cell.pending &&
      cell.source.trim().length > 0
    ) {
      const above = index < lastExecuted;
      findings.push({
        kind: 'never-run',
        severity: 'warning',
        cellId: cell.id,
        cellIndex: index,
        message: above
          ? `Cell ${index + 1} has not run, but cells below it have.`
          : `Cell ${index + 1} has not run: the notebook has no output of it, and a run from the top executes it.`,
        fix: above
          ? 'Run it if the cells below depend on it, or delete it if it is not needed.'
          : 'Run it (Shift+Enter), or delete it if it is not needed.',
        origin: 'live'
      });
    }
  }
  return findings;
}

/**
 * The key a dismissal is kept under: kind, cell id and rule for a finding about a cell (stable
 * while cells move), kind and message for a notebook-wide one.
 */
export function findingKey(
  finding: Pick<IFinding, 'kind' | 'cellId' | 'rule' | 'message'>
): string {
  return finding.cellId !== undefined
    ? `${finding.kind}|${finding.cellId}|${finding.rule ?? ''}`
    : `${finding.kind}||${finding.message}`;
}

/** How many of a report's findings are problems (warnings, errors) and how many notes (info). */
export function countFindings(groups: IFindingGroup[]): { problems: number; notes: number } {
  let problems = 0;
  let notes = 0;
  for (const group of groups) {
    for (const finding of group.findings) {
      if (finding.dismissed) {
        continue;
      }
      if (finding.severity === 'info') {
        notes++;
      } else {
        problems++;
      }
    }
  }
  return { problems, notes };
}

/**
 * The server's static findings that the frontend cannot compute itself (dataflow: hidden state,
 * use before definition), attached to the cells as they are now. Findings about cells that no
 * longer exist are dropped: they describe the saved file, not the live notebook.
 */
export function serverFindings(state: INotebookState, findings: IServerFinding[]): IFinding[] {
  const indexById = new Map<string, number>();
  state.cells.forEach((cell, index) => indexById.set(cell.id, index));
  const result: IFinding[] = [];
  for (const finding of findings) {
    const kind = kindOfServerFinding(finding);
    if (kind === undefined || LIVE_KINDS.has(kind)) {
      continue;
    }
    let cellIndex: number | undefined;
    if (finding.cell_id !== null && finding.cell_id !== undefined) {
      cellIndex = indexById.get(finding.cell_id);
      if (cellIndex === undefined) {
        continue;
      }
    }
    result.push({
      kind,
      severity: finding.severity,
      cellId: cellIndex === undefined ? undefined : (finding.cell_id as string),
      cellIndex,
      message:
        cellIndex === undefined ? finding.message : `Cell ${cellIndex + 1}: ${finding.message}`,
      fix: finding.fix,
      rule: finding.rule,
      origin: 'server'
    });
  }
  return result;
}

/** Changed or missing input files, attached to the first current cell that reads them. */
export function changedInputFindings(state: INotebookState, status: IServerStatus): IFinding[] {
  const indexById = new Map<string, number>();
  state.cells.forEach((cell, index) => indexById.set(cell.id, index));
  return status.changedInputs.map(input => {
    const readers = input.cellIds
      .map(id => indexById.get(id))
      .filter((index): index is number => index !== undefined)
      .sort((a, b) => a - b);
    const first = readers.length > 0 ? readers[0] : undefined;
    const where =
      readers.length > 0
        ? ` (read by cell${readers.length > 1 ? 's' : ''} ${readers.map(i => i + 1).join(', ')})`
        : '';
    return {
      kind: 'changed-input',
      severity: 'warning',
      cellId: first === undefined ? undefined : state.cells[first].id,
      cellIndex: first,
      message: `${input.path} ${input.change === 'missing' ? 'is missing' : `has ${input.change}`} since it was recorded${where}.`,
      fix:
        input.change === 'missing'
          ? 'Restore the file, or re-run the notebook to record the data it reads now.'
          : 'Re-run the notebook on the new data, or restore the recorded version of the file.',
      origin: 'server'
    } as IFinding;
  });
}

const RERUN_AND_SAVE = 're-run and re-save the notebook to record this environment.';

/** The message and the fix of one environment difference, in the words of its kind. */
function describeDrift(item: IPackageDrift): { message: string; fix: string } {
  const { name, recorded, current } = item;
  if (item.kind === 'env-var') {
    const variable = name.replace(/^\$/, '');
    if (recorded === null) {
      return {
        message: `${variable} is set to "${current}" now but was not set when recorded.`,
        fix: `Unset ${variable} before starting Jupyter, or ${RERUN_AND_SAVE}`
      };
    }
    return {
      message:
        current === null
          ? `${variable} was set to "${recorded}" when recorded but is not set now.`
          : `${variable} was "${recorded}" when recorded, "${current}" now.`,
      fix: `Set ${variable}=${recorded} before starting Jupyter, or ${RERUN_AND_SAVE}`
    };
  }
  if (item.kind === 'python' || item.kind === 'platform') {
    return {
      message: `${name} was ${recorded ?? 'not recorded'} when recorded, ${current ?? 'unknown'} now.`,
      fix:
        item.kind === 'python'
          ? `Use a kernel with the recorded Python, or ${RERUN_AND_SAVE}`
          : `Outputs may differ on another platform: compare with Verify now, or ${RERUN_AND_SAVE}`
    };
  }
  if (recorded === null) {
    return {
      message: `${name} ${current} is installed now but was not recorded.`,
      fix: 'Nothing to do unless the notebook imports it.'
    };
  }
  return {
    message:
      current === null
        ? `${name} ${recorded} was recorded but is not installed now.`
        : `${name} was ${recorded} when recorded, ${current} now.`,
    fix: `Install the recorded version (pip install "${name}==${recorded}"), or ${RERUN_AND_SAVE}`
  };
}

/** Packages, Python, platform and variables that differ from the recorded environment. */
export function driftFindings(status: IServerStatus): IFinding[] {
  return status.drift.map(item => ({
    kind: 'env-drift',
    severity: 'info',
    ...describeDrift(item),
    origin: 'server'
  }));
}

/** The kinds of finding whose cell "changed": the cells that read what it defines are affected. */
const CHANGED_KINDS: ReadonlySet<FindingKind> = new Set(['stale', 'changed-input']);

/**
 * Cells that read a name defined by a changed cell (edited after it ran, stale, or reading a
 * changed input), directly or through other cells, by the dataflow graph of the saved file
 * (`status.dependencies`, from the core's analysis). Live: a cell edited now is followed at once;
 * cells added since the last save are not in the graph yet. Changed cells themselves are not
 * listed again.
 */
export function dependentFindings(
  state: INotebookState,
  graph: Record<string, Record<string, string[]>> | undefined,
  changed: IFinding[]
): IFinding[] {
  if (graph === undefined) {
    return [];
  }
  const indexById = new Map<string, number>();
  state.cells.forEach((cell, index) => indexById.set(cell.id, index));
  const origins = [
    ...new Set(
      changed
        .filter(f => CHANGED_KINDS.has(f.kind) && f.cellId !== undefined)
        .sort((a, b) => (a.cellIndex ?? 0) - (b.cellIndex ?? 0))
        .map(f => f.cellId as string)
    )
  ];
  if (origins.length === 0) {
    return [];
  }
  const readers = new Map<string, { reader: string; names: string[] }[]>();
  for (const [reader, providers] of Object.entries(graph)) {
    for (const [provider, names] of Object.entries(providers)) {
      const list = readers.get(provider) ?? [];
      list.push({ reader, names });
      readers.set(provider, list);
    }
  }
  // Breadth first from each changed cell: the first changed cell found names the dependent.
  const found = new Map<string, { origin: string; via: string; names: string[] }>();
  const changedSet = new Set(origins);
  for (const origin of origins) {
    const queue = [origin];
    while (queue.length > 0) {
      const current = queue.shift() as string;
      for (const { reader, names } of readers.get(current) ?? []) {
        if (found.has(reader) || changedSet.has(reader) || !indexById.has(reader)) {
          continue;
        }
        found.set(reader, { origin, via: current, names });
        queue.push(reader);
      }
    }
  }
  const result: IFinding[] = [];
  for (const [reader, { origin, via, names }] of found) {
    const index = indexById.get(reader) as number;
    const originIndex = indexById.get(origin) as number;
    const uses = names.length > 0 ? ` (uses ${names.slice(0, 3).join(', ')})` : '';
    const through = via === origin ? '' : `, through cell ${(indexById.get(via) ?? 0) + 1}`;
    result.push({
      kind: 'dependent',
      severity: 'warning',
      cellId: reader,
      cellIndex: index,
      message: `Cell ${index + 1} depends on cell ${originIndex + 1}, which changed${through}${uses}.`,
      fix: 'Re-run the affected cells in notebook order ("Re-run affected cells").',
      origin: 'live',
      dependsOn: origin
    });
  }
  return result;
}

/**
 * The cells to re-run after a change, in notebook order: the changed cells (edited, stale,
 * changed input) and their dependents.
 */
export function affectedCellIds(report: IReport): string[] {
  const cells = new Map<string, number>();
  for (const group of report.groups) {
    if (group.kind === 'dependent' || CHANGED_KINDS.has(group.kind)) {
      for (const f of group.findings) {
        if (f.cellId !== undefined && f.cellIndex !== undefined) {
          cells.set(f.cellId, f.cellIndex);
        }
      }
    }
  }
  return [...cells.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
}

/**
 * Every finding, live and from the server, grouped by kind, with the headline verdict: the
 * server's verdict combined with the live findings by `headlineVerdict` (model/verdict.ts).
 */
export function computeReport(state: INotebookState, status?: IServerStatus): IReport {
  const live: IFinding[] = [
    ...outOfOrderFindings(state.cells),
    ...staleFindings(state),
    ...neverRunFindings(state.cells)
  ];
  const findings: IFinding[] = [...live];
  if (status !== undefined) {
    const changedInputs = changedInputFindings(state, status);
    findings.push(
      ...serverFindings(state, status.findings),
      ...changedInputs,
      ...dependentFindings(state, status.dependencies, [...live, ...changedInputs]),
      ...driftFindings(status)
    );
  }
  if (state.dismissed !== undefined && state.dismissed.length > 0) {
    const dismissed = new Set(state.dismissed);
    for (const finding of findings) {
      if (dismissed.has(findingKey(finding))) {
        finding.dismissed = true;
      }
    }
  }
  const groups: IFindingGroup[] = FINDING_KINDS.map(kind => ({
    kind,
    title: KIND_TITLES[kind],
    findings: findings
      .filter(f => f.kind === kind)
      .sort((a, b) => (a.cellIndex ?? Infinity) - (b.cellIndex ?? Infinity))
  })).filter(group => group.findings.length > 0);
  const byCell = new Map<string, IFinding[]>();
  for (const finding of findings) {
    if (finding.cellId !== undefined && !finding.dismissed) {
      const list = byCell.get(finding.cellId);
      if (list) {
        list.push(finding);
      } else {
        byCell.set(finding.cellId, [finding]);
      }
    }
  }
  const verdict = headlineVerdict(state, live, status?.verdict);
  const signature = JSON.stringify([
    verdict.level,
    verdict.label,
    verdict.summary,
    verdict.reasons.map(r => [r.severity, r.text, r.cells.map(c => c.index)]),
    groups.map(g => g.findings.map(f => [f.cellId, f.message, f.dismissed === true]))
  ]);
  return { verdict, groups, byCell, signature };
}
