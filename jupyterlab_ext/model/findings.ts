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

/** Code cells with source that never ran, above a cell that did. */
export function neverRunFindings(cells: ICellState[]): IFinding[] {
  const executed = executedCells(cells);
  if (executed.length === 0) {
    return [];
  }
  const lastExecuted = executed[executed.length - 1].index;
  const findings: IFinding[] = [];
  for (let index = 0; index < lastExecuted; index++) {
    const cell = cells[index];
    if (
      cell.type === 'code' &&
      cell.executionCount === null &&
      !cell.pending &&
      cell.source.trim().length > 0
    ) {
      findings.push({
        kind: 'never-run',
        severity: 'warning',
        cellId: cell.id,
        cellIndex: index,
        message: `Cell ${index + 1} has not run, but cells below it have.`,
        fix: 'Run it if the cells below depend on it, or delete it if it is not needed.',
        origin: 'live'
      });
    }
  }
  return findings;
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
    findings.push(
      ...serverFindings(state, status.findings),
      ...changedInputFindings(state, status),
      ...driftFindings(status)
    );
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
    if (finding.cellId !== undefined) {
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
    groups.map(g => g.findings.map(f => [f.cellId, f.message]))
  ]);
  return { verdict, groups, byCell, signature };
}
