/**
 * Cell markers: a CSS class on each flagged cell and a small badge in its prompt area with the
 * findings as tooltip. Only cells whose marker changed are touched.
 */

import { Cell } from '@jupyterlab/cells';
import { Notebook } from '@jupyterlab/notebook';

import { KIND_BADGES } from '../model/findings';
import { IFinding, IReport } from '../tokens';

/** Class of a flagged cell's node. */
export const FLAGGED_CLASS = 'nbrepro-flagged';
/** Class of the badge element. */
export const BADGE_CLASS = 'nbrepro-badge';

const applied = new WeakMap<Cell, string>();

function markerKey(findings: IFinding[] | undefined): string {
  if (findings === undefined || findings.length === 0) {
    return '';
  }
  return findings.map(f => `${f.kind}:${f.severity}:${f.message}`).join('\n');
}

function removeBadge(cell: Cell): void {
  cell.node.classList.remove(
    FLAGGED_CLASS,
    'nbrepro-mod-error',
    'nbrepro-mod-warning',
    'nbrepro-mod-info'
  );
  cell.node.querySelector(`:scope .${BADGE_CLASS}`)?.remove();
  delete cell.node.dataset.nbreproKinds;
}

function addBadge(cell: Cell, findings: IFinding[]): void {
  const host = cell.inputArea?.node;
  if (!host) {
    return;
  }
  const worst = findings.some(f => f.severity === 'error')
    ? 'error'
    : findings.some(f => f.severity === 'warning')
      ? 'warning'
      : 'info';
  const kinds = [...new Set(findings.map(f => f.kind))];
  cell.node.classList.remove('nbrepro-mod-error', 'nbrepro-mod-warning', 'nbrepro-mod-info');
  cell.node.classList.add(FLAGGED_CLASS, `nbrepro-mod-${worst}`);
  cell.node.dataset.nbreproKinds = kinds.join(' ');
  let badge = host.querySelector<HTMLElement>(`:scope > .${BADGE_CLASS}`);
  if (badge === null) {
    badge = document.createElement('span');
    badge.className = BADGE_CLASS;
    badge.setAttribute('role', 'img');
    host.appendChild(badge);
  }
  const tooltip = findings.map(f => `${f.message}\nFix: ${f.fix}`).join('\n\n');
  badge.textContent = KIND_BADGES[kinds[0]] + (kinds.length > 1 ? ` +${kinds.length - 1}` : '');
  badge.title = tooltip;
  badge.setAttribute('aria-label', `nbrepro: ${findings.map(f => f.message).join(' ')}`);
}

/** Bring the markers of a notebook in line with a report (or remove them all). */
export function applyMarkers(
  notebook: Notebook,
  report: IReport | undefined,
  enabled: boolean
): void {
  for (const cell of notebook.widgets) {
    const findings = enabled && report ? report.byCell.get(cell.model.id) : undefined;
    const key = markerKey(findings);
    const previous = applied.get(cell) ?? '';
    const host = cell.inputArea?.node;
    const attached = host ? host.querySelector(`:scope > .${BADGE_CLASS}`) !== null : false;
    if (key === previous && (key === '' || attached)) {
      continue;
    }
    if (key === '') {
      removeBadge(cell);
    } else {
      addBadge(cell, findings as IFinding[]);
    }
    applied.set(cell, key);
  }
}
