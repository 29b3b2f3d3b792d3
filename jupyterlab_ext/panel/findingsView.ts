/**
 * The verdict (the server's, combined with the live findings: model/verdict.ts) with its reasons,
 * and the findings grouped by kind, each with jump-to-cell and a how-to-fix.
 */

import { IFinding, IHeadlineReason, IReport } from '../tokens';
import { button, h } from './dom';

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

function renderItem(finding: IFinding, onJump: (cellId: string) => void): HTMLElement {
  const text = h(
    'span',
    { class: 'nbrepro-item-message' },
    finding.rule ? h('code', { class: 'nbrepro-rule' }, finding.rule) : null,
    finding.rule ? ' ' : null,
    finding.message
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
  return h(
    'li',
    { class: `nbrepro-item nbrepro-severity-${finding.severity}` },
    head,
    h(
      'div',
      { class: 'nbrepro-fix' },
      h('span', { class: 'nbrepro-fix-label' }, 'Fix: '),
      finding.fix
    )
  );
}

/** Render the groups of findings; at most `maxItems` items per group are listed. */
export function renderFindings(
  report: IReport | undefined,
  maxItems: number,
  onJump: (cellId: string) => void
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
  for (const group of report.groups) {
    const headingId = `nbrepro-group-${group.kind}`;
    const list = h('ul', { class: 'nbrepro-items' });
    for (const finding of group.findings.slice(0, maxItems)) {
      list.append(renderItem(finding, onJump));
    }
    const hidden = group.findings.length - maxItems;
    root.append(
      h(
        'section',
        { class: 'nbrepro-group', 'data-kind': group.kind, 'aria-labelledby': headingId },
        h(
          'h3',
          { id: headingId, class: 'nbrepro-group-title' },
          group.title,
          h('span', { class: 'nbrepro-count' }, String(group.findings.length))
        ),
        list,
        hidden > 0 ? h('p', { class: 'nbrepro-more' }, `and ${hidden} more`) : null
      )
    );
  }
  return root;
}
