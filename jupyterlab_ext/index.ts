import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, Notebook, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { requestAPI } from './handler';
import { reproIcon } from './icon';
import { applyMarkers } from './notebook/markers';
import { NotebookWatcher } from './notebook/watcher';
import { ReproPanel } from './panel/panel';
import { hasReport, IReportHost, openReport, openRunNotebook } from './report/entry';
import { readSettings } from './settings';
import { VerdictStatus } from './statusbar';
import { DEFAULT_SETTINGS, ISettings } from './tokens';
import { checkHandshake, HandshakeResult, IVersionInfo } from './version';

/** The frontend's own version, kept equal to the Python package's by the build. */
export const FRONTEND_VERSION = '0.1.0';

/** Command ids. */
export namespace CommandIDs {
  export const openPanel = 'nbrepro:open-panel';
  export const verify = 'nbrepro:verify';
  export const refresh = 'nbrepro:refresh';
  export const openReport = 'nbrepro:open-report';
}

/** Ask the server extension for its version; never rejects. */
async function handshake(): Promise<HandshakeResult> {
  let server: IVersionInfo | undefined;
  let error: string | undefined;
  try {
    server = await requestAPI<IVersionInfo>('version');
  } catch (reason) {
    error = reason instanceof Error ? reason.message : String(reason);
  }
  return checkHandshake(FRONTEND_VERSION, server, error);
}

/**
 * The nbrepro plugin: the side panel for the active notebook, cell markers, the status-bar
 * verdict, commands, and the version handshake with the server extension.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbrepro:plugin',
  description: 'Notebook reproducibility: provenance, stale-cell flags and verification.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, IStatusBar, ISettingRegistry, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ): void => {
    let settings: ISettings = { ...DEFAULT_SETTINGS };
    let server: HandshakeResult | undefined;
    const watchers = new WeakMap<Notebook, NotebookWatcher>();

    const currentWatcher = (): NotebookWatcher | undefined => {
      const current = tracker.currentWidget;
      return current ? watchers.get(current.content) : undefined;
    };

    const jump = async (cellId: string): Promise<void> => {
      const notebookPanel = panel.watcher?.panel ?? tracker.currentWidget;
      if (!notebookPanel) {
        return;
      }
      const notebook = notebookPanel.content;
      const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
      if (index < 0) {
        return;
      }
      app.shell.activateById(notebookPanel.id);
      notebook.activeCellIndex = index;
      await notebook.scrollToCell(notebook.widgets[index], 'center');
      // scrollToCell activates the cell, which focuses its editor (edit mode): back to command
      // mode, so that the keys pressed next are notebook commands, not text typed into the cell.
      notebook.mode = 'command';
      notebook.activate();
    };

    /** Opens the verification report and run notebooks beside the notebook they concern. */
    const reportHost: IReportHost = {
      jump: cellId => void jump(cellId),
      show: widget => {
        const notebookPanel = panel.watcher?.panel ?? tracker.currentWidget;
        for (const open of app.shell.widgets('main')) {
          if (open.id === widget.id && open !== widget) {
            open.close();
          }
        }
        app.shell.add(widget, 'main', {
          mode: 'split-right',
          ref: notebookPanel?.id
        });
        app.shell.activateById(widget.id);
      }
    };
    const reportError = (reason: unknown): void =>
      console.warn(`nbrepro: the report could not be opened: ${reason}`);

    const panel = new ReproPanel({
      openReport: job => {
        const notebookPanel = panel.watcher?.panel;
        if (notebookPanel) {
          openReport(reportHost, notebookPanel, job).catch(reportError);
        }
      },
      openRunNotebook: runId => {
        const notebookPanel = panel.watcher?.panel;
        if (notebookPanel) {
          openRunNotebook(reportHost, notebookPanel, runId).catch(reportError);
        }
      },
      jump: cellId => void jump(cellId),
      openPath: path => void app.commands.execute('docmanager:open', { path }),
      beforeVerify: async () => {
        const context = panel.watcher?.panel.context;
        if (context && context.model.dirty) {
          await context.save();
        }
      },
      refreshStatus: path =>
        tracker.forEach(notebookPanel => {
          const watcher = watchers.get(notebookPanel.content);
          if (watcher !== undefined && watcher.path === path) {
            void watcher.refreshStatus();
          }
        }),
      settings: () => settings,
      runCells: cellIds => {
        const notebookPanel = panel.watcher?.panel;
        if (notebookPanel) {
          void runCellsInOrder(notebookPanel, cellIds);
        }
      },
      restartRunAll: () => {
        const notebookPanel = panel.watcher?.panel;
        if (notebookPanel) {
          app.shell.activateById(notebookPanel.id);
          void app.commands.execute('notebook:restart-run-all');
        }
      }
    });
    panel.title.icon = reproIcon;
    panel.title.caption = 'Reproducibility (nbrepro)';
    app.shell.add(panel, 'right', { rank: 900 });
    // The panel comes back open after a page reload when it was open.
    restorer?.add(panel, 'nbrepro-panel');

    const status = new VerdictStatus(() => void app.commands.execute(CommandIDs.openPanel));
    statusBar?.registerStatusItem('nbrepro:verdict', {
      item: status,
      align: 'left',
      rank: 4,
      isActive: () => tracker.currentWidget !== null
    });

    const follow = (): void => {
      const watcher = currentWatcher();
      panel.setWatcher(watcher);
      status.showReport(watcher?.report);
    };

    const watch = (notebookPanel: NotebookPanel): void => {
      const watcher = new NotebookWatcher(notebookPanel, {
        debounceMs: () => settings.debounceMs,
        serverAvailable: () => server?.ok === true
      });
      watchers.set(notebookPanel.content, watcher);
      watcher.updated.connect((_, report) => {
        performance.mark('nbrepro-markers-start');
        applyMarkers(notebookPanel.content, report, settings.markers);
        performance.mark('nbrepro-markers-end');
        performance.measure('nbrepro-markers', 'nbrepro-markers-start', 'nbrepro-markers-end');
        if (watcher === currentWatcher()) {
          status.showReport(report);
        }
      });
      // Cells rendered late (windowed notebooks) get their markers when they appear.
      notebookPanel.content.cellInViewportChanged.connect(() =>
        applyMarkers(notebookPanel.content, watcher.report, settings.markers)
      );
      notebookPanel.context.pathChanged.connect(() => {
        if (watcher === currentWatcher()) {
          panel.setWatcher(undefined);
          follow();
        }
      });
      notebookPanel.disposed.connect(() => {
        watcher.dispose();
        follow();
      });
      follow();
    };

    tracker.forEach(watch);
    tracker.widgetAdded.connect((_, notebookPanel) => watch(notebookPanel));
    tracker.currentChanged.connect(follow);

    NotebookActions.executionScheduled.connect((_, { notebook, cell }) => {
      watchers.get(notebook)?.onExecutionScheduled(cell);
    });
    NotebookActions.executed.connect((_, { notebook, cell }) => {
      watchers.get(notebook)?.onExecuted(cell);
    });

    let refreshTimer: number | undefined;
    const scheduleRefresh = (): void => {
      window.clearInterval(refreshTimer);
      refreshTimer = undefined;
      if (settings.autoRefreshSeconds > 0) {
        refreshTimer = window.setInterval(() => {
          if (document.visibilityState === 'visible') {
            void currentWatcher()?.refreshStatus();
          }
        }, settings.autoRefreshSeconds * 1000);
      }
    };

    const applySettings = (loaded: ISettingRegistry.ISettings): void => {
      settings = readSettings(loaded.composite as Record<string, unknown>);
      scheduleRefresh();
      tracker.forEach(notebookPanel =>
        applyMarkers(
          notebookPanel.content,
          watchers.get(notebookPanel.content)?.report,
          settings.markers
        )
      );
      panel.refresh();
    };
    scheduleRefresh();
    if (settingRegistry) {
      settingRegistry
        .load(plugin.id)
        .then(loaded => {
          applySettings(loaded);
          loaded.changed.connect(applySettings);
        })
        .catch(reason => console.warn('nbrepro: settings could not be loaded', reason));
    }

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Show Reproducibility Panel',
      caption: 'Show the nbrepro panel: what stops this notebook from reproducing',
      icon: reproIcon,
      execute: () => {
        app.shell.activateById(panel.id);
        // The palette gives the focus back to where it was (the notebook) once the command
        // ran: move it into the panel after that.
        window.setTimeout(() => panel.activate(), 0);
      }
    });
    app.commands.addCommand(CommandIDs.verify, {
      label: 'Verify Notebook Now',
      caption:
        'Save the notebook, re-run it in a fresh kernel on the server and compare the outputs',
      isEnabled: () => tracker.currentWidget !== null && server?.ok === true,
      execute: async () => {
        app.shell.activateById(panel.id);
        await panel.verify.start();
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Reproducibility Findings',
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        await currentWatcher()?.refreshStatus();
      }
    });
    app.commands.addCommand(CommandIDs.openReport, {
      label: 'Open Verification Report',
      caption:
        "Show the stored and new outputs of the cells the notebook's last verification found differing",
      isEnabled: () => tracker.currentWidget !== null && hasReport(panel.verify.job),
      execute: async () => {
        const notebookPanel = panel.watcher?.panel;
        const job = panel.verify.job;
        if (notebookPanel && hasReport(job)) {
          await openReport(reportHost, notebookPanel, job);
        }
      }
    });
    for (const command of [
      CommandIDs.openPanel,
      CommandIDs.verify,
      CommandIDs.refresh,
      CommandIDs.openReport
    ]) {
      palette?.addItem({ command, category: 'nbrepro' });
    }

    void handshake().then(result => {
      server = result;
      document.body.dataset.nbreproServer = result.ok ? result.server.version : 'missing';
      if (result.ok) {
        console.log(`nbrepro ${result.server.version} is active.`);
      } else {
        console.warn(`nbrepro: ${result.reason}`);
      }
      panel.setHandshake(result);
      app.commands.notifyCommandChanged(CommandIDs.verify);
      tracker.forEach(notebookPanel => void watchers.get(notebookPanel.content)?.refreshStatus());
    });
  }
};

/**
 * Run cells of a notebook one after the other, in the order given (notebook order for "Re-run
 * affected cells"), each as Shift+Enter would; stops at the first that raises.
 */
async function runCellsInOrder(notebookPanel: NotebookPanel, cellIds: string[]): Promise<void> {
  const notebook = notebookPanel.content;
  for (const id of cellIds) {
    const index = notebook.widgets.findIndex(cell => cell.model.id === id);
    if (index < 0) {
      continue;
    }
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    const ok = await NotebookActions.run(notebook, notebookPanel.sessionContext);
    if (!ok) {
      break;
    }
  }
  notebook.mode = 'command';
}

export default plugin;
