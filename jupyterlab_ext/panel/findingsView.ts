/** The verdict and the findings grouped by kind, each with jump-to-cell and a how-to-fix. */

import { IFinding, IReport } from '../tokens';
import { h } from './dom';

/** Render the verdict block. */
export function renderVerdict(report: IReport | undefined): HTMLElement {
  if (report === undefined) {
    return h('div', { class: 'nbrepro-verdict', role: 'status' }, 'Reading the notebook…');
  }
  const { verdict } = report;
  return h(
    'div',
    {
      class: `nbrepro-verdict nbrepro-verdict-${verdict.level}`,
      role: 'status',
      'aria-live': 'polite',
      'data-verdict': verdict.level
    },
    h('div', { class: 'nbrepro-verdict-label' }, verdict.label),
    h('div', { class: 'nbrepro-verdict-summary' }, verdict.summary)
  );
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
    root.append(h('p', { class: 'nbrepro-empty' }, 'No problem found.'));
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
