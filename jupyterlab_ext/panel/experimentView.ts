/**
 * "Run as experiment": a form built from the notebook's `parameters` cell (typed fields, and an
 * optional run name) that saves the notebook and starts a versioned run on the server
 * (`POST runs`), then shows its progress per cell, its outcome (run id, verdict, metrics) and a
 * link to the run's executed notebook. Below it, the notebook's stored runs (`GET runs`) in a
 * table of parameters and metrics: compare two (`runs/<a>/diff/<b>`), open a run's executed
 * notebook, re-run with the same parameters, and a link to the MLflow run when it was exported.
 * Shown only when the server advertises runs.
 */

import { cancelRunJob, fetchRun, fetchRunDiff, fetchRunJob, fetchRuns, startRun } from '../api';
import { IParameter, parseFieldValue, parseParameters } from '../model/parameters';
import { columnsOf, finishedCells, formatMetric, formatValue, mlflowRunUrl } from '../model/runs';
import { isFinal, isOpenablePath } from '../model/verify';
import { IRunDiff, IRunJob, IRunSummary, IRunValueChange } from '../tokens';
import { button, h } from './dom';

const INPUT_TYPES: Record<string, string> = { int: 'number', float: 'number' };

/** What the view needs from its host. */
export interface IExperimentViewOptions {
  /** Save the notebook first (the run executes the saved file). */
  beforeStart: () => Promise<void>;
  /** Open a file (the run's executed notebook) in JupyterLab. */
  openPath: (path: string) => void;
  /** Polling interval in milliseconds. */
  pollMs?: number;
  /** Open a stored run's executed notebook (read-only) in the main area. */
  openRunNotebook?: (runId: string) => void;
}

/** The form's field for one parameter, with its default from the cell. */
function parameterInput(param: IParameter, id: string): HTMLInputElement {
  if (param.type === 'bool') {
    const box = h('input', { id, type: 'checkbox', name: param.name });
    box.checked = param.literal === 'True';
    return box;
  }
  return h('input', {
    id,
    name: param.name,
    type: INPUT_TYPES[param.type] ?? 'text',
    step: param.type === 'float' ? 'any' : undefined,
    value:
      param.type === 'str' ? param.literal.replace(/^[rbuf]?(['"])(.*)\1$/i, '$2') : param.literal
  });
}

/** The experiment section of the panel, for the current notebook. */
export class ExperimentView {
  readonly node = h('section', {
    class: 'nbrepro-experiment-section',
    'aria-label': 'Run as experiment'
  });

  constructor(private readonly _options: IExperimentViewOptions) {
    this.node.hidden = true;
    this.node.append(this._form, this._outcome, this._runs);
    this._name.addEventListener('input', () => {
      if (this._path !== undefined) {
        this._names.set(this._path, this._name.value);
      }
    });
  }

  /**
   * Show the form of a notebook (`parametersSource`: its `parameters` cell, `undefined` when it
   * has none), or hide the section when runs are not `available`. The form is rebuilt only when
   * one of these changed, so typed values survive the panel's redraws.
   */
  update(path: string | undefined, parametersSource: string | undefined, available: boolean): void {
    const key = [path ?? '', parametersSource ?? '\u0001', available].join('\u0000');
    if (key === this._key) {
      return;
    }
    const pathChanged = path !== this._path;
    this._key = key;
    this._path = path;
    if (pathChanged) {
      // Each notebook keeps the run name typed for it, and its own selection of runs.
      this._name.value = (path !== undefined ? this._names.get(path) : undefined) ?? '';
      this._selected.clear();
      this._diff = undefined;
      this._diffError = undefined;
    }
    this.node.hidden = !available || path === undefined;
    if (this.node.hidden) {
      return;
    }
    this._renderForm(parametersSource);
    if (pathChanged) {
      this._message.textContent = '';
      this.render();
    }
    if (pathChanged || !this._runList.has(path as string)) {
      this._renderRuns();
      void this.refreshRuns();
    }
  }

  /** The current notebook's stored runs, as last fetched (newest first). */
  get runs(): IRunSummary[] {
    return this._path === undefined ? [] : (this._runList.get(this._path) ?? []);
  }

  /** Fetch the current notebook's stored runs again and redraw the table. */
  async refreshRuns(): Promise<void> {
    const path = this._path;
    if (path === undefined || this.node.hidden) {
      return;
    }
    try {
      const runs = await fetchRuns(path);
      this._runList.set(path, runs);
      this._runsError.delete(path);
      for (const run of runs) {
        if (run.mlflowRunId !== undefined && !this._mlflow.has(run.runId)) {
          this._mlflow.set(run.runId, undefined);
          void fetchRun(path, run.runId)
            .then(full => {
              this._mlflow.set(run.runId, mlflowRunUrl(full));
              if (path === this._path) {
                this._renderRuns();
              }
            })
            .catch(() => undefined);
        }
      }
    } catch (reason) {
      this._runsError.set(path, reason instanceof Error ? reason.message : String(reason));
    }
    if (path === this._path) {
      this._renderRuns();
    }
  }

  /** Compare the two selected runs (older as a, newer as b). */
  async compare(): Promise<void> {
    const path = this._path;
    const chosen = this.runs.filter(r => this._selected.has(r.runId));
    if (path === undefined || chosen.length !== 2) {
      return;
    }
    const [newer, older] = chosen;
    try {
      this._diff = await fetchRunDiff(path, older.runId, newer.runId);
      this._diffError = undefined;
    } catch (reason) {
      this._diff = undefined;
      this._diffError = reason instanceof Error ? reason.message : String(reason);
    }
    if (path === this._path) {
      this._renderRuns();
    }
  }

  /** Start a new run of the current notebook with the parameters of a stored run. */
  async rerun(run: IRunSummary): Promise<void> {
    await this._startWith({ ...run.parameters }, run.name ?? '');
  }

  /** The current notebook's last run job started in this session. */
  get job(): IRunJob | undefined {
    return this._path === undefined ? undefined : this._jobs.get(this._path);
  }

  /** Start a run of the current notebook with the form's values. */
  async start(): Promise<void> {
    const path = this._path;
    if (path === undefined || this.node.hidden) {
      return;
    }
    let values: Record<string, unknown>;
    try {
      values = {};
      for (const [param, input] of this._inputs) {
        values[param.name] =
          param.type === 'bool' ? input.checked : parseFieldValue(param, input.value);
      }
    } catch (reason) {
      this._message.textContent = reason instanceof Error ? reason.message : String(reason);
      return;
    }
    await this._startWith(values, this._name.value);
  }

  private async _startWith(values: Record<string, unknown>, name: string): Promise<void> {
    const path = this._path;
    if (path === undefined || this.node.hidden) {
      return;
    }
    const current = this._jobs.get(path);
    if (current !== undefined && !isFinal(current)) {
      return;
    }
    this._message.textContent = '';
    try {
      await this._options.beforeStart();
      const job = await startRun(path, values, name);
      this._jobs.set(path, job);
      this._poll(path, job.id);
    } catch (reason) {
      this._message.textContent = reason instanceof Error ? reason.message : String(reason);
    }
    this.render();
  }

  /** Cancel the current notebook's running run. */
  async cancel(): Promise<void> {
    const path = this._path;
    const job = this.job;
    if (path === undefined || job === undefined || isFinal(job)) {
      return;
    }
    try {
      this._jobs.set(path, await cancelRunJob(job.id));
    } catch (reason) {
      this._message.textContent = reason instanceof Error ? reason.message : String(reason);
    }
    this.render();
  }

  /** Stop polling. */
  dispose(): void {
    for (const timer of this._timers.values()) {
      window.clearTimeout(timer);
    }
    this._timers.clear();
  }

  private _poll(path: string, id: string): void {
    window.clearTimeout(this._timers.get(path));
    this._timers.set(
      path,
      window.setTimeout(async () => {
        this._timers.delete(path);
        try {
          const job = await fetchRunJob(id);
          if (this._jobs.get(path)?.id !== id) {
            return;
          }
          this._jobs.set(path, job);
          if (!isFinal(job)) {
            this._poll(path, id);
          } else if (path === this._path) {
            void this.refreshRuns();
          }
        } catch (reason) {
          if (path === this._path) {
            this._message.textContent = reason instanceof Error ? reason.message : String(reason);
          }
        }
        if (path === this._path) {
          this.render();
        }
      }, this._options.pollMs ?? 1000)
    );
  }

  private _renderForm(parametersSource: string | undefined): void {
    const params = parametersSource === undefined ? [] : parseParameters(parametersSource);
    this._inputs.clear();
    const fields: HTMLElement[] = [];
    for (const param of params) {
      const id = `nbrepro-param-${param.name}`;
      const input = parameterInput(param, id);
      this._inputs.set(param, input);
      fields.push(
        h(
          'div',
          { class: 'nbrepro-field' },
          h(
            'label',
            { for: id },
            `${param.name} `,
            h('span', { class: 'nbrepro-type' }, param.type)
          ),
          input,
          param.help ? h('div', { class: 'nbrepro-help' }, param.help) : null
        )
      );
    }
    const note =
      parametersSource === undefined
        ? h(
            'p',
            { class: 'nbrepro-help' },
            'No cell is tagged "parameters": the run executes the notebook as it is.'
          )
        : null;
    this._form.replaceChildren(
      h('h3', { class: 'nbrepro-section-title' }, 'Run as experiment'),
      note ?? '',
      ...fields,
      h(
        'div',
        { class: 'nbrepro-field' },
        h(
          'label',
          { for: 'nbrepro-run-name' },
          'run name ',
          h('span', { class: 'nbrepro-type' }, 'optional')
        ),
        this._name
      ),
      this._startButton,
      this._message
    );
  }

  /** Draw the outcome of the current notebook's run job. */
  render(): void {
    const job = this.job;
    const running = job !== undefined && !isFinal(job);
    this._startButton.disabled = running;
    this._startButton.textContent = running ? 'Running…' : 'Start run';
    if (job === undefined) {
      this._outcome.replaceChildren();
      return;
    }
    this._outcome.replaceChildren(this._renderJob(job));
  }

  private _renderJob(job: IRunJob): HTMLElement {
    const done = finishedCells(job);
    let headline: string;
    if (job.state === 'queued') {
      headline = 'Waiting for a free slot on the server…';
    } else if (job.state === 'running') {
      headline = `Running: ${done}${job.total !== undefined ? ` of ${job.total}` : ''} cells done`;
    } else if (job.state === 'cancelled') {
      headline = 'Run cancelled.';
    } else if (job.state === 'failed') {
      headline = `The run could not run: ${job.error ?? 'no reason given'}`;
    } else if (job.verdict === 'succeeded') {
      headline = `Run ${job.runId ?? ''} succeeded.`;
    } else {
      headline = `Run ${job.runId ?? ''} failed: ${job.failure ?? 'no reason given'}`;
    }
    const root = h(
      'div',
      {
        class: 'nbrepro-run-result',
        'data-state': job.state,
        'data-verdict': job.verdict,
        'data-run-id': job.runId
      },
      h(
        'p',
        {
          class: `nbrepro-run-headline nbrepro-outcome-${job.verdict ?? job.state}`,
          role: 'status'
        },
        headline
      )
    );
    if (!isFinal(job)) {
      if (job.total !== undefined && job.total > 0) {
        root.append(
          h('progress', {
            class: 'nbrepro-progress',
            max: String(job.total),
            value: String(done),
            'aria-label': 'Cells run'
          })
        );
      }
      root.append(
        button('Cancel', () => void this.cancel(), {
          class: 'jp-Button jp-mod-styled jp-mod-warn nbrepro-run-cancel',
          'aria-label': 'Cancel the run'
        })
      );
    }
    const metrics = Object.entries(job.metrics);
    if (metrics.length > 0) {
      const list = h('dl', { class: 'nbrepro-run-metrics', 'aria-label': 'Metrics' });
      for (const [name, value] of metrics) {
        list.append(h('dt', {}, name), h('dd', {}, formatMetric(value)));
      }
      root.append(list);
    }
    if (isOpenablePath(job.executedPath) && job.executedOpenable) {
      const path = job.executedPath;
      root.append(
        button('Open the executed notebook', () => this._options.openPath(path), {
          class: 'nbrepro-link nbrepro-open-run',
          title: path,
          'data-path': path
        })
      );
    } else if (job.runId !== undefined && (job.executedPath ?? job.bundle) !== undefined) {
      const runId = job.runId;
      const open = this._options.openRunNotebook;
      root.append(
        h(
          'p',
          { class: 'nbrepro-help nbrepro-run-bundle' },
          `Stored in ${job.executedPath ?? job.bundle}` +
            (job.executedPath !== undefined
              ? ', a hidden folder JupyterLab does not open. '
              : '. '),
          open !== undefined
            ? button('Open a read-only copy', () => open(runId), {
                class: 'nbrepro-link nbrepro-open-run-copy',
                title: `The notebook run ${runId} executed`
              })
            : null
        )
      );
    }
    return root;
  }

  private _renderRuns(): void {
    const path = this._path;
    const runs = this.runs;
    const error = path !== undefined ? this._runsError.get(path) : undefined;
    const title = h(
      'div',
      { class: 'nbrepro-runs-head' },
      h('h3', { class: 'nbrepro-section-title' }, 'Runs of this notebook'),
      button('Refresh', () => void this.refreshRuns(), {
        class: 'jp-Button nbrepro-button nbrepro-runs-refresh',
        'aria-label': 'Refresh the list of runs'
      })
    );
    if (error !== undefined) {
      this._runs.replaceChildren(title, h('p', { class: 'nbrepro-error', role: 'alert' }, error));
      return;
    }
    if (runs.length === 0) {
      this._runs.replaceChildren(
        title,
        h('p', { class: 'nbrepro-empty' }, 'No stored runs yet: start one above.')
      );
      return;
    }
    for (const id of [...this._selected]) {
      if (!runs.some(r => r.runId === id)) {
        this._selected.delete(id);
      }
    }
    const params = columnsOf(runs, 'parameters');
    const metrics = columnsOf(runs, 'metrics');
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col' }, h('span', { class: 'nbrepro-sr-only' }, 'Compare')),
      h('th', { scope: 'col' }, 'Run'),
      h('th', { scope: 'col' }, 'Verdict'),
      ...params.map(name => h('th', { scope: 'col', class: 'nbrepro-runs-param' }, name)),
      ...metrics.map(name => h('th', { scope: 'col', class: 'nbrepro-runs-metric' }, name)),
      h('th', { scope: 'col' }, h('span', { class: 'nbrepro-sr-only' }, 'Actions'))
    );
    const body = h('tbody', {});
    for (const run of runs) {
      body.append(this._runRow(run, params, metrics));
    }
    const compare = button('Compare selected', () => void this.compare(), {
      class: 'jp-Button jp-mod-styled nbrepro-runs-compare',
      disabled: this._selected.size === 2 ? undefined : '',
      title: 'Select two runs to see what differs between them'
    });
    this._runs.replaceChildren(
      title,
      h(
        'div',
        { class: 'nbrepro-runs-scroll' },
        h(
          'table',
          { class: 'nbrepro-runs-table', 'aria-label': 'Runs of this notebook' },
          h('thead', {}, head),
          body
        )
      ),
      compare,
      this._diffError !== undefined
        ? h('p', { class: 'nbrepro-error', role: 'alert' }, this._diffError)
        : '',
      this._diff !== undefined ? renderDiff(this._diff) : ''
    );
  }

  private _runRow(run: IRunSummary, params: string[], metrics: string[]): HTMLElement {
    const box = h('input', {
      type: 'checkbox',
      class: 'nbrepro-runs-select',
      'aria-label': `Compare run ${run.name ?? run.runId}`
    });
    box.checked = this._selected.has(run.runId);
    box.addEventListener('change', () => {
      if (box.checked) {
        this._selected.add(run.runId);
        // Two at most: the oldest choice gives way.
        while (this._selected.size > 2) {
          this._selected.delete(this._selected.values().next().value as string);
        }
      } else {
        this._selected.delete(run.runId);
      }
      this._renderRuns();
    });
    const actions = h('td', { class: 'nbrepro-runs-actions' });
    if (this._options.openRunNotebook !== undefined) {
      const open = this._options.openRunNotebook;
      actions.append(
        button('Notebook', () => open(run.runId), {
          class: 'nbrepro-link nbrepro-runs-open',
          title: `Open the notebook run ${run.runId} executed (read-only)`
        })
      );
    }
    actions.append(
      button('Re-run', () => void this.rerun(run), {
        class: 'nbrepro-link nbrepro-runs-rerun',
        title: 'Start a new run with the same parameters'
      })
    );
    const mlflow = this._mlflow.get(run.runId);
    if (mlflow !== undefined) {
      actions.append(
        h(
          'a',
          {
            class: 'nbrepro-link nbrepro-runs-mlflow',
            href: mlflow,
            target: '_blank',
            rel: 'noopener noreferrer',
            title: `The MLflow run ${run.mlflowRunId ?? ''}`
          },
          'MLflow'
        )
      );
    }
    const started = run.created ? run.created.replace('T', ' ').replace(/\.\d+/, '') : '';
    return h(
      'tr',
      { class: 'nbrepro-runs-row', 'data-run-id': run.runId, 'data-verdict': run.verdict },
      h('td', {}, box),
      h(
        'th',
        { scope: 'row', class: 'nbrepro-runs-name', title: `${run.runId}\n${started}` },
        run.name ?? run.runId.slice(-6)
      ),
      h('td', { class: `nbrepro-runs-verdict nbrepro-outcome-${run.verdict}` }, run.verdict),
      ...params.map(name =>
        h(
          'td',
          { class: 'nbrepro-runs-param' },
          name in run.parameters ? formatValue(run.parameters[name]) : ''
        )
      ),
      ...metrics.map(name =>
        h(
          'td',
          { class: 'nbrepro-runs-metric' },
          name in run.metrics ? formatValue(run.metrics[name]) : ''
        )
      ),
      actions
    );
  }

  private _key = '';
  private _path: string | undefined;
  private _diff: IRunDiff | undefined;
  private _diffError: string | undefined;
  private readonly _names = new Map<string, string>();
  private readonly _runList = new Map<string, IRunSummary[]>();
  private readonly _runsError = new Map<string, string>();
  private readonly _selected = new Set<string>();
  /** MLflow pages of exported runs (`undefined` while unknown or without one). */
  private readonly _mlflow = new Map<string, string | undefined>();
  private readonly _runs = h('div', { class: 'nbrepro-runs', 'aria-label': 'Stored runs' });
  private readonly _inputs = new Map<IParameter, HTMLInputElement>();
  private readonly _jobs = new Map<string, IRunJob>();
  private readonly _timers = new Map<string, number>();
  private readonly _name = h('input', {
    id: 'nbrepro-run-name',
    name: 'run-name',
    type: 'text',
    class: 'nbrepro-run-name',
    placeholder: 'e.g. baseline'
  });
  private readonly _message = h('p', { class: 'nbrepro-experiment-message', role: 'status' });
  private readonly _startButton = button('Start run', () => this._form.requestSubmit(), {
    class: 'jp-Button jp-mod-styled jp-mod-accept nbrepro-run-start'
  });
  private readonly _form = this._makeForm();
  private readonly _outcome = h('div', { class: 'nbrepro-run-outcome' });

  private _makeForm(): HTMLFormElement {
    const form = h('form', { class: 'nbrepro-experiment', 'aria-label': 'Run as experiment' });
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this.start();
    });
    return form;
  }
}

/** One changed value of a runs diff: `name: a → b` (or added / removed). */
function changeItem(change: IRunValueChange): HTMLElement {
  const show = (v: unknown): string => formatValue(v);
  const what = !change.inA
    ? `only in b: ${show(change.b)}`
    : !change.inB
      ? `only in a: ${show(change.a)}`
      : `${show(change.a)} → ${show(change.b)}`;
  return h('li', { 'data-name': change.name }, h('code', {}, change.name), ` ${what}`);
}

/** What differs between two runs, as the server computed it. */
function renderDiff(diff: IRunDiff): HTMLElement {
  const sections: HTMLElement[] = [];
  const add = (title: string, changes: IRunValueChange[]): void => {
    if (changes.length > 0) {
      sections.push(
        h('h4', {}, title),
        h('ul', { class: `nbrepro-runs-diff-${title.toLowerCase()}` }, ...changes.map(changeItem))
      );
    }
  };
  add('Parameters', diff.parameters);
  add('Metrics', diff.metrics);
  add('Inputs', diff.inputs);
  const facts: string[] = [
    diff.sameConfiguration ? 'Same configuration.' : 'Different configurations.'
  ];
  if (diff.verdicts[0] !== diff.verdicts[1]) {
    facts.push(`Verdict ${diff.verdicts[0]} → ${diff.verdicts[1]}.`);
  }
  if (diff.notebookChanged) {
    facts.push('The notebook changed between them.');
  }
  if (diff.cells.length > 0) {
    facts.push(`${diff.cells.length} cell output(s) differ.`);
  }
  return h(
    'div',
    { class: 'nbrepro-runs-diff', 'data-a': diff.a, 'data-b': diff.b, role: 'status' },
    h('p', {}, `a = ${diff.a}, b = ${diff.b}. ${facts.join(' ')}`),
    ...sections,
    h('details', { class: 'nbrepro-diff' }, h('summary', {}, 'As text'), h('pre', {}, diff.text))
  );
}
