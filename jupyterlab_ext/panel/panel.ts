/**
 * The side panel for the active notebook: verdict, findings by kind (jump-to-cell, how-to-fix),
 * verification, environment and, when the server offers runs, the experiment form.
 */

import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { NotebookWatcher } from '../notebook/watcher';
import { provenanceOf, setDismissed } from '../notebook/state';
import { FindingKind, ISettings } from '../tokens';
import { capabilitiesOf, HandshakeResult } from '../version';
import { button, h } from './dom';
import { renderEnvironment } from './environmentView';
import { ExperimentView } from './experimentView';
import { ItemCache, renderFindings, renderVerdict } from './findingsView';
import { VerifyView } from './verifyView';
import { VerifyWithReport } from '../report/entry';
import type { IVerifyJob } from '../tokens';

/** What the panel needs from the plugin. */
export interface IReproPanelOptions {
  jump: (cellId: string) => void;
  openPath: (path: string) => void;
  /** Save the notebook before a verification or a run (both read the saved file). */
  beforeVerify: () => Promise<void>;
  /** Ask the server again for the status of the notebook at `path` (a verification ended). */
  refreshStatus: (path: string) => void;
  settings: () => ISettings;
  /** Run these cells of the current notebook, one after the other, in this order. */
  runCells?: (cellIds: string[]) => void;
  /** Restart the kernel and run all cells (JupyterLab's command, which asks first). */
  restartRunAll?: () => void;
  /** Open the main-area report of a finished verification of the current notebook. */
  openReport?: (job: IVerifyJob) => void;
  /** Open a stored run's executed notebook (read-only) in the main area. */
  openRunNotebook?: (runId: string) => void;
}

/** The nbrepro side panel. */
export class ReproPanel extends Widget {
  constructor(private readonly _options: IReproPanelOptions) {
    super();
    this.id = 'nbrepro-panel';
    this.addClass('nbrepro-panel');
    // Focusable, so that opening the panel (palette, shortcut) moves the focus into it.
    this.node.tabIndex = -1;
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Reproducibility');
    this.verify = new VerifyWithReport(
      {
        beforeStart: _options.beforeVerify,
        openPath: _options.openPath,
        jump: _options.jump,
        timeoutSeconds: () => _options.settings().verifyTimeoutSeconds,
        // The server's verdict includes the latest verification: fetch it as soon as one ends.
        onFinished: path => _options.refreshStatus(path)
      },
      _options.openReport
    );
    this.experiment = new ExperimentView({
      beforeStart: _options.beforeVerify,
      openPath: _options.openPath,
      openRunNotebook: _options.openRunNotebook
    });
    this.node.append(
      this._header,
      this._notice,
      this._main,
      this.verify.node,
      this.experiment.node,
      this._extra
    );
    this._renderAll();
  }

  /** The verification section. */
  readonly verify: VerifyView;

  /** The "Run as experiment" section (shown when the server advertises runs). */
  readonly experiment: ExperimentView;

  /** The watcher of the notebook shown. */
  get watcher(): NotebookWatcher | undefined {
    return this._watcher;
  }

  /** Show the outcome of the version handshake (plainly, when the server part is missing). */
  setHandshake(result: HandshakeResult | undefined): void {
    this._handshake = result;
    this.verify.setNotebook(this._watcher?.path, this._serverOk);
    this._renderAll();
  }

  /** Follow another notebook (or none). */
  setWatcher(watcher: NotebookWatcher | undefined): void {
    if (watcher === this._watcher) {
      return;
    }
    this._watcher?.updated.disconnect(this._onUpdated, this);
    this._watcher = watcher;
    this._cachePath = '';
    watcher?.updated.connect(this._onUpdated, this);
    this.verify.setNotebook(watcher?.path, this._serverOk);
    this._key = '';
    this._renderAll();
  }

  /** Redraw after the settings changed. */
  refresh(): void {
    this._key = '';
    this._renderAll();
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (!this.node.contains(document.activeElement)) {
      this.node.focus();
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      this._renderAll();
    }
  }

  dispose(): void {
    this.verify.dispose();
    this.experiment.dispose();
    super.dispose();
  }

  private get _serverOk(): boolean {
    return this._handshake?.ok === true;
  }

  private _onUpdated(): void {
    performance.mark('nbrepro-panel-start');
    this._renderAll();
    performance.mark('nbrepro-panel-end');
    performance.measure('nbrepro-panel', 'nbrepro-panel-start', 'nbrepro-panel-end');
  }

  private _renderAll(): void {
    if (!this.isVisible && this.isAttached) {
      this._stale = true;
      return;
    }
    this._stale = false;
    const watcher = this._watcher;
    const report = watcher?.report;
    const status = watcher?.status;
    const dirty = watcher?.editedSinceSave === true;
    const filter = (watcher && this._filters.get(watcher.path)) ?? 'all';
    const key = [
      dirty,
      filter,
      report?.signature ?? '',
      watcher?.path ?? '',
      watcher?.statusError ?? '',
      this._handshake?.ok,
      status === undefined ? '' : (this._statusIds.get(status) ?? this._nextStatusId(status))
    ].join('\u0000');
    this._renderNotice();
    const runsOffered = capabilitiesOf(this._handshake).runs || status?.runs === true;
    this.experiment.update(
      watcher?.path,
      watcher ? parametersSource(watcher) : undefined,
      runsOffered && watcher?.panel.model !== undefined && watcher?.panel.model !== null
    );
    if (key === this._key) {
      return;
    }
    this._key = key;
    this._renderHeader();
    if (watcher === undefined) {
      this._main.replaceChildren(
        h('p', { class: 'nbrepro-empty' }, 'Open a notebook to see its reproducibility.')
      );
      this._extra.replaceChildren();
      this.verify.node.hidden = true;
      return;
    }
    this.verify.node.hidden = false;
    this.verify.setLatest(watcher.path, status?.verdict?.verification);
    const model = watcher.panel.model;
    const path = watcher.path;
    this._main.replaceChildren(
      renderVerdict(report, this._options.jump),
      renderFindings(
        report,
        this._options.settings().maxItemsPerGroup,
        this._options.jump,
        dirty,
        {
          dismiss: (key, dismissed) => {
            if (model) {
              setDismissed(model, key, dismissed);
            }
          },
          rerun: ids => this._options.runCells?.(ids),
          restartRunAll: () => this._options.restartRunAll?.(),
          filter,
          setFilter: kind => {
            this._filters.set(path, kind);
            this._renderAll();
          }
        },
        this._itemCache(path)
      )
    );
    this._extra.replaceChildren(
      renderEnvironment(model ? provenanceOf(model)?.environment : undefined, status, path)
    );
  }

  private _nextStatusId(status: object): number {
    const id = ++this._statusCounter;
    this._statusIds.set(status, id);
    return id;
  }

  private _renderHeader(): void {
    const name = this._watcher?.panel.title.label;
    const parts: HTMLElement[] = [h('h2', { class: 'nbrepro-title' }, 'Reproducibility')];
    if (name) {
      parts.push(h('div', { class: 'nbrepro-notebook-name', title: this._watcher?.path }, name));
    }
    const original = this._watcher?.status?.copyOf;
    if (original !== undefined) {
      parts.push(
        h(
          'div',
          { class: 'nbrepro-help nbrepro-copy-of', 'data-original': original },
          `An executed copy of ${original}, kept by a verification: its inputs are judged from the original's folder. `,
          button('Open the original', () => this._options.openPath(original), {
            class: 'nbrepro-link nbrepro-open-original'
          })
        )
      );
    }
    if (this._watcher) {
      parts.push(
        button('Refresh', () => void this._watcher?.refreshStatus(), {
          class: 'jp-Button nbrepro-button nbrepro-refresh',
          'aria-label': 'Refresh the server findings',
          title: 'Ask the server again for static findings and drift (of the saved file)'
        })
      );
    }
    this._header.replaceChildren(...parts);
  }

  private _renderNotice(): void {
    const messages: string[] = [];
    if (this._handshake === undefined) {
      messages.push('Contacting the nbrepro server extension…');
    } else if (!this._handshake.ok) {
      messages.push(
        `${this._handshake.reason} Until then the panel shows only what the browser sees: execution order, edited and never-run cells.`
      );
    } else if (this._watcher?.statusError) {
      messages.push(
        `The server could not give this notebook's status: ${this._watcher.statusError}`
      );
    }
    const text = messages.join(' ');
    if (this._notice.textContent !== text) {
      this._notice.textContent = text;
      this._notice.hidden = text.length === 0;
    }
  }

  private _itemCache(path: string): ItemCache {
    if (this._cachePath !== path) {
      this._cachePath = path;
      this._items = new ItemCache();
    }
    return this._items;
  }

  private _cachePath = '';
  private _items = new ItemCache();
  private readonly _filters = new Map<string, FindingKind | 'all'>();
  private _watcher: NotebookWatcher | undefined;
  private _handshake: HandshakeResult | undefined;
  private _key = '';
  private _stale = false;
  private _statusCounter = 0;
  private readonly _statusIds = new WeakMap<object, number>();
  private readonly _header = h('header', { class: 'nbrepro-header' });
  private readonly _notice = h('div', { class: 'nbrepro-notice', role: 'alert' });
  private readonly _main = h('div', { class: 'nbrepro-main' });
  private readonly _extra = h('div', { class: 'nbrepro-extra' });
}

/** Source of the notebook's cell tagged `parameters`, if any. */
function parametersSource(watcher: NotebookWatcher): string | undefined {
  const cells = watcher.panel.model?.cells;
  if (!cells) {
    return undefined;
  }
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    const tags = cell.getMetadata('tags');
    if (cell.type === 'code' && Array.isArray(tags) && tags.includes('parameters')) {
      return cell.sharedModel.getSource();
    }
  }
  return undefined;
}
