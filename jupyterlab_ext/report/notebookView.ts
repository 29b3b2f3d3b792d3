/**
 * A stored run's executed notebook, read-only, in the main area: its bundle lives in a hidden
 * folder the contents API does not serve, and it is a copy that must not pass for the original
 * (its tab says so). Markdown and outputs go through rendermime, untrusted (sanitized).
 */

import { MainAreaWidget } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { isObject } from '../model/verify';
import { joined, outputView } from '../model/report';
import { h } from '../panel/dom';

/** The read-only view of a run's notebook. */
export class RunNotebookContent extends Widget {
  constructor(
    readonly runId: string,
    notebook: unknown,
    private readonly _rendermime: IRenderMimeRegistry
  ) {
    super();
    this.addClass('nbrepro-run-notebook');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', `Executed notebook of run ${runId}`);
    this.ready = this._render(notebook);
  }

  /** Resolves once every cell is rendered. */
  readonly ready: Promise<void>;

  dispose(): void {
    for (const renderer of this._renderers) {
      renderer.dispose();
    }
    this._renderers.length = 0;
    super.dispose();
  }

  private async _render(notebook: unknown): Promise<void> {
    this.node.append(
      h(
        'p',
        { class: 'nbrepro-help nbrepro-run-notebook-note' },
        `Run ${this.runId}: the notebook as the run executed it (a read-only copy from the run store).`
      )
    );
    const cells = isObject(notebook) && Array.isArray(notebook.cells) ? notebook.cells : [];
    const pending: Promise<void>[] = [];
    for (const cell of cells.filter(isObject)) {
      const node = h('div', {
        class: `nbrepro-run-cell nbrepro-run-cell-${String(cell.cell_type)}`,
        'data-cell-id': typeof cell.id === 'string' ? cell.id : undefined
      });
      this.node.append(node);
      const source = joined(cell.source);
      if (cell.cell_type === 'markdown') {
        pending.push(this._renderData({ 'text/markdown': source }, node));
        continue;
      }
      const count = typeof cell.execution_count === 'number' ? cell.execution_count : ' ';
      node.append(
        h(
          'div',
          { class: 'nbrepro-run-input' },
          h('span', { class: 'nbrepro-run-prompt' }, `[${count}]:`),
          h('pre', {}, source)
        )
      );
      for (const output of Array.isArray(cell.outputs) ? cell.outputs : []) {
        const view = outputView(output);
        if (view !== undefined) {
          const slot = h('div', { class: 'nbrepro-report-output', 'data-kind': view.kind });
          node.append(slot);
          pending.push(this._renderData(view.data, slot));
        }
      }
    }
    await Promise.all(pending);
  }

  private async _renderData(data: Record<string, unknown>, into: HTMLElement): Promise<void> {
    const bundle = data as IRenderMime.IMimeModel['data'];
    const mime = this._rendermime.preferredMimeType(bundle, 'ensure');
    if (mime === undefined) {
      return;
    }
    const renderer = this._rendermime.createRenderer(mime);
    this._renderers.push(renderer);
    await renderer.renderModel({
      trusted: false,
      data: bundle,
      metadata: {},
      setData: () => undefined
    });
    into.append(renderer.node);
  }

  private readonly _renderers: IRenderMime.IRenderer[] = [];
}

/** A run's notebook in a main-area tab labelled as a copy. */
export function runNotebookWidget(
  runId: string,
  notebookPath: string,
  notebook: unknown,
  rendermime: IRenderMimeRegistry
): MainAreaWidget<RunNotebookContent> {
  const content = new RunNotebookContent(runId, notebook, rendermime);
  const widget = new MainAreaWidget({ content });
  widget.id = `nbrepro-run-notebook-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const name = notebookPath.split('/').pop() ?? notebookPath;
  widget.title.label = `${name} (run ${runId.slice(-6)}, copy)`;
  widget.title.caption = `The executed notebook of run ${runId} of ${notebookPath} (read-only copy)`;
  widget.title.closable = true;
  return widget;
}
