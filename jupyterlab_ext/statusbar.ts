/**
 * The status-bar item: the active notebook's headline verdict — the panel's, made by the same
 * `headlineVerdict` (model/verdict.ts) — a click opens the panel.
 */

import { Widget } from '@lumino/widgets';

import { IReport } from './tokens';

/** A small status-bar widget showing the verdict. */
export class VerdictStatus extends Widget {
  constructor(onClick: () => void) {
    super({ node: document.createElement('button') });
    this.addClass('nbrepro-status');
    this.node.setAttribute('type', 'button');
    this.node.addEventListener('click', onClick);
    this.showReport(undefined);
  }

  /** Show a report's verdict (or hide the item when no notebook is active). */
  showReport(report: IReport | undefined): void {
    if (report === undefined) {
      this.node.textContent = '';
      this.node.hidden = true;
      return;
    }
    this.node.hidden = false;
    const { verdict } = report;
    this.node.textContent = `nbrepro: ${verdict.label}`;
    this.node.dataset.verdict = verdict.level;
    this.node.dataset.source = verdict.source;
    this.node.title = `${verdict.summary} Click to open the reproducibility panel.`;
  }
}
