/**
 * The verdict (the server's, combined with the live findings: model/verdict.ts) with its reasons,
 * and the findings grouped by kind, each with jump-to-cell and a how-to-fix.
 */

import { affectedCellIds, countFindings, findingKey } from '../model/findings';
import { FindingKind, IFinding, IHeadlineReason, IReport } from '../tokens';
import { button, h } from './dom';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "2 problems, 1 note": problems (warnings, errors) and notes (info) counted apart. */
export function countText(report: IReport): string {
  const { problems, notes } = countFindings(report.groups);
  const parts = [plural(problems, 'problem')];
  if (notes > 0) {
    parts.push(plural(notes, 'note'));
  }
  return parts.join(', ');
}

/** Buttons that jump to the cells of a reason: "Cell 2, Cell 5". */
function renderReasonCells(reason: IHeadlineReason, onJump: (cellId: string) => void): HTMLElement {
  const cells = h('div', { class: 'nbrepro-fix nbrepro-reason-cells' });
  reason.cells.forEach(({ id, index }, position) => {
    if (position > 0) {
      cells.append(', ');
    }
    cells.append(
      button(`Cell ${index + 1}`, () => onJump(id), {
        class: 'nbrepro-link nbrepro-jump-small',
        'data-cell-id': id,
        'aria-label': `Go to cell ${index + 1}: ${reason.text}`,
        title: 'Go to the cell'
      })
    );
  });
  return cells;
}

/**
 * One reason of the verdict; `withText: false` for the only reason, whose text the summary
 * already is: then only its cells are listed.
 */
function renderReason(
  reason: IHeadlineReason,
  onJump: (cellId: string) => void,
  withText: boolean
): HTMLElement {
  const item = h(
    'li',
    {
      class: `nbrepro-item nbrepro-reason nbrepro-severity-${reason.severity}`,
      'data-kind': reason.kind,
      'data-origin': reason.origin
    },
    withText ? h('span', { class: 'nbrepro-item-message' }, reason.text) : null
  );
  if (reason.cells.length > 0) {
    item.append(renderReasonCells(reason, onJump));
  }
  return item;
}

/** Render the verdict block: label, summary and the reasons (cells to jump to). */
export function renderVerdict(
  report: IReport | undefined,
  onJump: (cellId: string) => void = () => undefined
): HTMLElement {
  if (report === undefined) {
    return h('div', { class: 'nbrepro-verdict', role: 'status' }, 'Reading the notebook…');
  }
  const { verdict } = report;
  const root = h(
    'div',
    {
      class: `nbrepro-verdict nbrepro-verdict-${verdict.level}`,
      role: 'status',
      'aria-live': 'polite',
      'data-verdict': verdict.level,
      'data-source': verdict.source
    },
    h('div', { class: 'nbrepro-verdict-label' }, verdict.label),
    h('div', { class: 'nbrepro-verdict-summary' }, verdict.summary)
  );
  // A single reason is the summary already: only its cells are listed, if any.
  const only = verdict.reasons.length === 1;
  const shown = only && verdict.reasons[0].cells.length === 0 ? [] : verdict.reasons;
  if (shown.length > 0) {
    root.append(
      h(
        'ul',
        { class: 'nbrepro-items nbrepro-reasons', 'aria-label': 'Why' },
        ...shown.map(reason => renderReason(reason, onJump, !only))
      )
    );
  }
  return root;
}

/** What the findings view can do besides jumping to a cell. */
export interface IFindingsActions {
  /** Dismiss (`true`) or restore a finding by its key (`findingKey`). */
  dismiss: (key: string, dismissed: boolean) => void;
  /** Run these cells, in this order (notebook order). */
  rerun: (cellIds: string[]) => void;
  /** Restart the kernel and run all cells (JupyterLab's command, with its confirmation). */
  restartRunAll: () => void;
  /** The kind shown, or 'all'. */
  filter: FindingKind | 'all';
  setFilter: (kind: FindingKind | 'all') => void;
}

/**
 * Item nodes of the previous render, by everything they show: an update that changes one
 * finding of 500 rebuilds one item, not all (the panel's part of the 16 ms budget). The panel
 * keeps one cache per notebook (the nodes' handlers act on that notebook).
 */
export class ItemCache {
  /** The node of a finding as drawn last time, else a new one from `make`. */
  get(finding: IFinding, dirty: boolean, make: () => HTMLElement): HTMLElement {
    const key = JSON.stringify([
      finding.kind,
      finding.cellId,
      finding.cellIndex,
      finding.rule,
      finding.severity,
      finding.message,
      finding.fix,
      finding.origin,
      finding.dismissed === true,
      finding.origin === 'server' && dirty
    ]);
    const node = this._previous.get(key) ?? make();
    this._current.set(key, node);
    return node;
  }

  /** Forget the nodes not used since the last call. */
  sweep(): void {
    this._previous = this._current;
    this._current = new Map();
  }

  private _previous = new Map<string, HTMLElement>();
  private _current = new Map<string, HTMLElement>();
}

/** The actions bar: Restart & Run All, Re-run affected cells, and the filter by kind. */
function renderActions(report: IReport, actions: IFindingsActions): HTMLElement {
  const affected = affectedCellIds(report);
  const select = h(
    'select',
    { class: 'nbrepro-filter', 'aria-label': 'Show findings of kind' },
    h('option', { value: 'all' }, 'All kinds'),
    ...report.groups.map(group =>
      h('option', { value: group.kind }, `${group.title} (${group.findings.length})`)
    )
  );
  select.value = report.groups.some(g => g.kind === actions.filter) ? actions.filter : 'all';
  select.addEventListener('change', () => actions.setFilter(select.value as FindingKind | 'all'));
  return h(
    'div',
    { class: 'nbrepro-actions', role: 'toolbar', 'aria-label': 'Actions on findings' },
    button('Restart & Run All', () => actions.restartRunAll(), {
      class: 'jp-Button nbrepro-button nbrepro-restart-run-all',
      title:
        'Restart the kernel and run every cell from the top (Kernel › Restart Kernel and Run All Cells)'
    }),
    affected.length > 0
      ? button(`Re-run affected cells (${affected.length})`, () => actions.rerun(affected), {
          class: 'jp-Button nbrepro-button nbrepro-rerun-affected',
          title: 'Run the changed cells and the cells that depend on them, in notebook order',
          'data-cells': affected.join(' ')
        })
      : null,
    report.groups.length > 1 ? select : null
  );
}

function renderItem(
  finding: IFinding,
  onJump: (cellId: string) => void,
  dirty: boolean,
  actions: IFindingsActions | undefined
): HTMLElement {
  const note = finding.severity === 'info';
  const text = h(
    'span',
    { class: 'nbrepro-item-message' },
    note ? h('span', { class: 'nbrepro-note-label' }, 'Note') : null,
    note ? ' ' : null,
    finding.rule ? h('code', { class: 'nbrepro-rule' }, finding.rule) : null,
    finding.rule ? ' ' : null,
    finding.message,
    // The server's findings are of the saved file: with unsaved changes, they may be behind.
    finding.origin === 'server' && dirty
      ? h(
          'span',
          {
            class: 'nbrepro-as-saved',
            title: 'Found by the server in the saved file; save to check the notebook as it is now'
          },
          ' (as of the last save)'
        )
      : null
  );
  const head =
    finding.cellId !== undefined
      ? h(
          'button',
          {
            type: 'button',
            class: 'nbrepro-jump',
            'data-cell-id': finding.cellId,
            'aria-label': `Go to cell ${(finding.cellIndex ?? 0) + 1}: ${finding.message}`,
            title: 'Go to the cell'
          },
          text
        )
      : h('div', { class: 'nbrepro-item-head' }, text);
  if (finding.cellId !== undefined) {
    const id = finding.cellId;
    head.addEventListener('click', () => onJump(id));
  }
  const key = findingKey(finding);
  const item = h(
    'li',
    {
      class: `nbrepro-item nbrepro-severity-${finding.severity}${finding.dismissed ? ' nbrepro-dismissed' : ''}`,
      'data-origin': finding.origin,
      'data-severity': finding.severity,
      'data-key': key,
      'data-dismissed': finding.dismissed ? 'true' : undefined
    },
    head
  );
  if (finding.dismissed) {
    item.append(h('div', { class: 'nbrepro-fix nbrepro-dismissed-label' }, 'Dismissed.'));
  } else {
    item.append(
      h(
        'div',
        { class: 'nbrepro-fix' },
        h('span', { class: 'nbrepro-fix-label' }, 'Fix: '),
        finding.fix
      )
    );
  }
  if (actions !== undefined) {
    item.append(
      button(
        finding.dismissed ? 'Restore' : 'Dismiss',
        () => actions.dismiss(key, !finding.dismissed),
        {
          class: 'nbrepro-link nbrepro-dismiss',
          'aria-label': `${finding.dismissed ? 'Restore' : 'Dismiss'}: ${finding.message}`,
          title: finding.dismissed
            ? 'Show this finding again'
            : 'Hide this finding in this notebook (kept in its metadata; the verdict still counts it)'
        }
      )
    );
  }
  return item;
}

/**
 * Render the groups of findings; at most `maxItems` items per group are listed. `dirty`: the
 * notebook has unsaved changes (the server's findings, of the saved file, are marked so).
 */
export function renderFindings(
  report: IReport | undefined,
  maxItems: number,
  onJump: (cellId: string) => void,
  dirty = false,
  actions?: IFindingsActions,
  cache?: ItemCache
): HTMLElement {
  const root = h('div', { class: 'nbrepro-findings' });
  if (report === undefined) {
    return root;
  }
  if (report.groups.length === 0) {
    const level = report.verdict.level;
    const text =
      level === 'reproducible' || level === 'not-run'
        ? 'No problem found.'
        : 'No finding in the cells themselves: see the verdict above.';
    root.append(h('p', { class: 'nbrepro-empty' }, text));
    return root;
  }
  root.append(h('p', { class: 'nbrepro-findings-count', role: 'note' }, countText(report)));
  if (actions !== undefined) {
    root.append(renderActions(report, actions));
  }
  const filter =
    actions !== undefined && report.groups.some(g => g.kind === actions.filter)
      ? actions.filter
      : 'all';
  for (const group of report.groups) {
    if (filter !== 'all' && group.kind !== filter) {
      continue;
    }
    const headingId = `nbrepro-group-${group.kind}`;
    const list = h('ul', { class: 'nbrepro-items' });
    for (const finding of group.findings.slice(0, maxItems)) {
      const make = (): HTMLElement => renderItem(finding, onJump, dirty, actions);
      list.append(cache ? cache.get(finding, dirty, make) : make());
    }
    const hidden = group.findings.length - maxItems;
    const notes = group.findings.filter(f => f.severity === 'info').length;
    const count =
      notes === 0
        ? String(group.findings.length)
        : notes === group.findings.length
          ? plural(notes, 'note')
          : `${group.findings.length - notes} + ${plural(notes, 'note')}`;
    root.append(
      h(
        'section',
        { class: 'nbrepro-group', 'data-kind': group.kind, 'aria-labelledby': headingId },
        h(
          'h3',
          { id: headingId, class: 'nbrepro-group-title' },
          group.title,
          h('span', { class: 'nbrepro-count' }, count)
        ),
        list,
        hidden > 0 ? h('p', { class: 'nbrepro-more' }, `and ${hidden} more`) : null
      )
    );
  }
  cache?.sweep();
  return root;
}
