/**
 * Entry points of the verification report and the read-only run notebook: the verification
 * view with an "Open report" button, and opening either in the main area. The report marks the
 * cells it shows in the notebook (`nbrepro-report-differs`) while it is open.
 */

import { MainAreaWidget } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { fetchRunNotebook, fetchVerifyOutputs } from '../api';
import { buildReport } from '../model/report';
import { isFinal } from '../model/verify';
import { button } from '../panel/dom';
import { IVerifyViewOptions, VerifyView } from '../panel/verifyView';
import { IVerifyJob } from '../tokens';
import { runNotebookWidget } from './notebookView';
import { ReportContent, reportWidget } from './reportView';

/** The class of a notebook cell the open verification report shows as differing. */
export const DIFFERS_CLASS = 'nbrepro-report-differs';

/** Whether a job has a report worth opening: finished, with cells that did not reproduce. */
export function hasReport(job: IVerifyJob | undefined): job is IVerifyJob {
  return (
    job !== undefined &&
    isFinal(job) &&
    job.cells.some(c => ['differs', 'nondeterministic', 'failed'].includes(c.status))
  );
}

/** The verification view, with a button opening the report of a finished job. */
export class VerifyWithReport extends VerifyView {
  constructor(
    options: IVerifyViewOptions,
    private readonly _openReport?: (job: IVerifyJob) => void
  ) {
    super(options);
    this.render();
  }

  render(): void {
    super.render();
    const job = this.job;
    // The base class draws once before this class's fields are set.
    if (this._openReport === undefined || !hasReport(job)) {
      return;
    }
    const open = this._openReport;
    this.node.querySelector('.nbrepro-verify-result')?.append(
      button('Open report', () => open(job), {
        class: 'jp-Button jp-mod-styled nbrepro-open-report',
        title: 'Show the stored and new outputs of the differing cells side by side'
      })
    );
  }
}

/** Mark the cells of `panel` whose ids are in `ids` until `until` is disposed. */
function markCells(panel: NotebookPanel, ids: Set<string>, until: MainAreaWidget): void {
  const apply = (on: boolean): void => {
    for (const cell of panel.content.widgets) {
      cell.toggleClass(DIFFERS_CLASS, on && ids.has(cell.model.id));
    }
  };
  apply(true);
  const reapply = (): void => apply(true);
  panel.content.cellInViewportChanged.connect(reapply);
  panel.content.model?.cells.changed.connect(reapply);
  until.disposed.connect(() => {
    panel.content.cellInViewportChanged.disconnect(reapply);
    panel.content.model?.cells.changed.disconnect(reapply);
    if (!panel.isDisposed) {
      apply(false);
    }
  });
}

/** What opening a report or a run notebook needs from the plugin. */
export interface IReportHost {
  /** Add a widget to the main area (beside the notebook) and show it. */
  show: (widget: MainAreaWidget) => void;
  /** Show a cell of the notebook. */
  jump: (cellId: string) => void;
}

/**
 * Open the report of a finished verification job of the notebook in `panel`: fetch the stored
 * and new outputs of its differing cells, show them, mark those cells.
 */
export async function openReport(
  host: IReportHost,
  panel: NotebookPanel,
  job: IVerifyJob
): Promise<MainAreaWidget<ReportContent>> {
  const report = buildReport(job, await fetchVerifyOutputs(job.id), panel.context.path);
  const widget = reportWidget(report, {
    rendermime: panel.content.rendermime,
    jump: host.jump
  });
  markCells(panel, new Set(report.cells.map(c => c.id)), widget);
  host.show(widget);
  await widget.content.ready;
  return widget;
}

/** Open the executed notebook of a stored run, read-only, in the main area. */
export async function openRunNotebook(
  host: IReportHost,
  panel: NotebookPanel,
  runId: string
): Promise<void> {
  const notebook = await fetchRunNotebook(panel.context.path, runId);
  const widget = runNotebookWidget(runId, panel.context.path, notebook, panel.content.rendermime);
  host.show(widget);
  await widget.content.ready;
}
