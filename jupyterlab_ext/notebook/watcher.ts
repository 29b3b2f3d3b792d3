/**
 * One notebook watched live: executions, edits, moves and deletions update its report
 * (debounced); the server's status is fetched on open, after saves, shortly after executions
 * (the server's verdict includes the current kernel session's: a cell that raised) and on
 * request.
 */

import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { fetchStatus } from '../api';
import { computeReport } from '../model/findings';
import { canHash, SourceHashCache } from '../model/hash';
import { IReport, IServerStatus } from '../tokens';
import { IExecutionMemory, readNotebookState } from './state';

/** Name of the performance measure of one update (state → report → listeners). */
export const UPDATE_MEASURE = 'nbrepro-update';

/**
 * Delay, in milliseconds, between the last execution of a burst (Run All) and the status request
 * that brings the server's verdict on it (the server journals each execution as it relays it).
 */
export const STATUS_AFTER_RUN_MS = 500;

/** Options of a watcher. */
export interface IWatcherOptions {
  /** Debounce delay of updates, in milliseconds. */
  debounceMs: () => number;
  /** Whether the server extension answered the handshake. */
  serverAvailable: () => boolean;
}

/** Watches one notebook panel and keeps its report current. */
export class NotebookWatcher implements IDisposable {
  constructor(
    readonly panel: NotebookPanel,
    private readonly _options: IWatcherOptions
  ) {
    panel.context.ready.then(() => {
      if (this.isDisposed) {
        return;
      }
      panel.model?.contentChanged.connect(this.scheduleUpdate, this);
      panel.model?.metadataChanged.connect(this.scheduleUpdate, this);
      panel.context.saveState.connect((_, state) => {
        if (state === 'completed') {
          this._rememberSaved();
          void this.refreshStatus();
        }
      }, this);
      this._rememberSaved();
      this.update();
      void this.refreshStatus();
    });
  }

  /** Emits the report after every update whose content changed. */
  get changed(): ISignal<this, IReport> {
    return this._changed;
  }

  /** Emits after each update, changed or not (for timing and the markers' catch-up). */
  get updated(): ISignal<this, IReport> {
    return this._updated;
  }

  /** The latest report. */
  get report(): IReport | undefined {
    return this._report;
  }

  /** The server's latest status answer, if any. */
  get status(): IServerStatus | undefined {
    return this._status;
  }

  /** Why the last status request failed, if it did. */
  get statusError(): string | undefined {
    return this._statusError;
  }

  /**
   * Whether a cell's source was edited, or cells added, deleted or moved, since the notebook was
   * loaded or last saved: then the server's findings (of the saved file) may be behind. Other
   * unsaved changes (outputs, the kernel's `language_info`) do not count.
   */
  get editedSinceSave(): boolean {
    return this._edited;
  }

  /** The notebook's path relative to the server root. */
  get path(): string {
    return this.panel.context.path;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** A cell of this notebook was scheduled to run: remember the source it runs. */
  onExecutionScheduled(cell: Cell): void {
    this._memory.executedSource.set(cell.model.id, cell.model.sharedModel.getSource());
    this._memory.pending.add(cell.model.id);
    this.scheduleUpdate();
  }

  /** A cell of this notebook finished running. */
  onExecuted(cell: Cell): void {
    this._memory.pending.delete(cell.model.id);
    this.scheduleUpdate();
    window.clearTimeout(this._statusTimer);
    this._statusTimer = window.setTimeout(() => {
      this._statusTimer = undefined;
      void this.refreshStatus();
    }, STATUS_AFTER_RUN_MS);
  }

  /** Update after the debounce delay (coalescing bursts such as typing or Run All). */
  scheduleUpdate(): void {
    if (this._timer !== undefined || this._disposed) {
      return;
    }
    this._timer = window.setTimeout(() => {
      this._timer = undefined;
      this.update();
    }, this._options.debounceMs());
  }

  /** Recompute the report now; measured as `nbrepro-update` with performance marks. */
  update(): IReport | undefined {
    const model = this.panel.model;
    if (this._disposed || model === null) {
      return undefined;
    }
    performance.mark('nbrepro-update-start');
    const missing = new Set<string>();
    const state = readNotebookState(this.path, model, this._memory, this._hashes, missing);
    this._edited = this._sourcesDiffer(state.cells);
    performance.mark('nbrepro-update-state');
    const report = computeReport(state, this._status);
    performance.mark('nbrepro-update-report');
    const changed = this._report === undefined || report.signature !== this._report.signature;
    this._report = report;
    if (changed) {
      this._changed.emit(report);
    }
    this._updated.emit(report);
    performance.mark('nbrepro-update-end');
    // The parts, for profiling: reading the notebook, the model, the listeners (panel, markers).
    performance.measure(`${UPDATE_MEASURE}-state`, 'nbrepro-update-start', 'nbrepro-update-state');
    performance.measure(`${UPDATE_MEASURE}-model`, 'nbrepro-update-state', 'nbrepro-update-report');
    performance.measure(`${UPDATE_MEASURE}-render`, 'nbrepro-update-report', 'nbrepro-update-end');
    performance.measure(UPDATE_MEASURE, 'nbrepro-update-start', 'nbrepro-update-end');
    if (missing.size > 0 && canHash()) {
      void Promise.all([...missing].map(source => this._hashes.hash(source))).then(() =>
        this.scheduleUpdate()
      );
    }
    return report;
  }

  /**
   * Ask the server for the notebook's status, then update. Of overlapping requests, the answer
   * to the latest one wins (an older answer arriving late is dropped).
   */
  async refreshStatus(): Promise<void> {
    if (!this._options.serverAvailable() || this._disposed) {
      return;
    }
    const request = ++this._statusRequests;
    let status: IServerStatus | undefined;
    let error: string | undefined;
    try {
      status = await fetchStatus(this.path);
    } catch (reason) {
      error = reason instanceof Error ? reason.message : String(reason);
    }
    if (request !== this._statusRequests || this._disposed) {
      return;
    }
    if (status !== undefined) {
      this._status = status;
      this._labelCopy(status.copyOf);
    }
    this._statusError = error;
    this.update();
  }

  /**
   * An executed copy of a verification is marked as such on its tab ("(verified copy)", drawn
   * by CSS; the panel names the original). The tab's label and caption are JupyterLab's: a
   * document's label is its file name (JupyterLab renames the file when it changes) and its
   * caption gives the path.
   */
  private _labelCopy(original: string | undefined): void {
    if (original === undefined) {
      return;
    }
    const classes = this.panel.title.className.split(/\s+/).filter(c => c !== '');
    if (!classes.includes('nbrepro-verified-copy')) {
      this.panel.title.className = [...classes, 'nbrepro-verified-copy'].join(' ');
    }
  }

  private _rememberSaved(): void {
    const cells = this.panel.model?.cells;
    this._saved = [];
    for (let i = 0; cells !== undefined && i < cells.length; i++) {
      const cell = cells.get(i);
      this._saved.push([cell.id, cell.sharedModel.getSource()]);
    }
  }

  private _sourcesDiffer(cells: { id: string; source: string }[]): boolean {
    if (cells.length !== this._saved.length) {
      return true;
    }
    return cells.some(
      (cell, i) => cell.id !== this._saved[i][0] || cell.source !== this._saved[i][1]
    );
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.clearTimeout(this._timer);
    window.clearTimeout(this._statusTimer);
    Signal.clearData(this);
  }

  private _disposed = false;
  private _edited = false;
  private _saved: [string, string][] = [];
  private _timer: number | undefined;
  private _statusTimer: number | undefined;
  private _statusRequests = 0;
  private _report: IReport | undefined;
  private _status: IServerStatus | undefined;
  private _statusError: string | undefined;
  private readonly _memory: IExecutionMemory = { executedSource: new Map(), pending: new Set() };
  private readonly _hashes = new SourceHashCache();
  private readonly _changed = new Signal<this, IReport>(this);
  private readonly _updated = new Signal<this, IReport>(this);
}
