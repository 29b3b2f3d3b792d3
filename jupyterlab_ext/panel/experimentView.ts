/**
 * "Run as experiment": a form built from the notebook's `parameters` cell (typed fields, and an
 * optional run name) that saves the notebook and starts a versioned run on the server
 * (`POST runs`), then shows its progress per cell, its outcome (run id, verdict, metrics) and a
 * link to the run's executed notebook. Shown only when the server advertises runs.
 */

import { cancelRunJob, fetchRunJob, startRun } from '../api';
import { IParameter, parseFieldValue, parseParameters } from '../model/parameters';
import { finishedCells, formatMetric } from '../model/runs';
import { isFinal, isOpenablePath } from '../model/verify';
import { IRunJob } from '../tokens';
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
    this.node.append(this._form, this._outcome);
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
    this.node.hidden = !available || path === undefined;
    if (this.node.hidden) {
      return;
    }
    this._renderForm(parametersSource);
    if (pathChanged) {
      this._message.textContent = '';
      this.render();
    }
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
    const current = this._jobs.get(path);
    if (current !== undefined && !isFinal(current)) {
      return;
    }
    this._message.textContent = '';
    try {
      const values: Record<string, unknown> = {};
      for (const [param, input] of this._inputs) {
        values[param.name] =
          param.type === 'bool' ? input.checked : parseFieldValue(param, input.value);
      }
      await this._options.beforeStart();
      const job = await startRun(path, values, this._name.value);
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
      root.append(
        h(
          'p',
          { class: 'nbrepro-help nbrepro-run-bundle' },
          `Stored in ${job.executedPath ?? job.bundle}` +
            (job.executedPath !== undefined
              ? ' (a hidden folder JupyterLab does not open; see the panel docs).'
              : '.')
        )
      );
    }
    return root;
  }

  private _key = '';
  private _path: string | undefined;
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
