/**
 * "Verify now": starts the server-side verification of the saved notebook, polls its progress
 * per cell, shows per cell reproduced / differs (with the diff) / nondeterministic / failed,
 * and for each failing cell the cause, evidence and remedy the server diagnosed; a link to the
 * executed copy, and Cancel. When a job ends the host is told, so that it refreshes the
 * notebook's status: the server's verdict includes the latest verification.
 */

import { cancelJob, fetchJob, IVerifyOptions, startVerify } from '../api';
import { sentence } from '../model/verdict';
import { isFinal, isOpenablePath } from '../model/verify';
import { CellVerifyStatus, ICellVerifyResult, IVerificationFact, IVerifyJob } from '../tokens';
import { button, h } from './dom';

const STATUS_LABELS: Record<CellVerifyStatus, string> = {
  pending: 'waiting',
  running: 'running…',
  executed: 'ran',
  reproduced: 'reproduced',
  differs: 'differs',
  nondeterministic: 'nondeterministic',
  failed: 'failed',
  skipped: 'skipped',
  stopped: 'stopped',
  'not-started': 'never started'
};

/**
 * Why a failing cell did not reproduce, as the server diagnosed it: the cause (its id and one
 * line), the evidence for it and the remedy; `null` when the server sent none of them.
 */
export function renderCause(cell: ICellVerifyResult): HTMLElement | null {
  if (cell.causeSummary === undefined && cell.evidence.length === 0 && !cell.remedy) {
    return null;
  }
  return h(
    'div',
    { class: 'nbrepro-cause', 'data-cause': cell.cause },
    cell.causeSummary !== undefined || cell.cause !== undefined
      ? h(
          'div',
          { class: 'nbrepro-cause-summary' },
          h('span', { class: 'nbrepro-fix-label' }, 'Cause: '),
          cell.cause ? h('code', { class: 'nbrepro-rule' }, cell.cause) : null,
          cell.cause && cell.causeSummary ? ' ' : null,
          cell.causeSummary ?? null
        )
      : null,
    cell.evidence.length > 0
      ? h(
          'ul',
          { class: 'nbrepro-evidence nbrepro-fix', 'aria-label': 'Evidence' },
          ...cell.evidence.map(line => h('li', {}, line))
        )
      : null,
    cell.remedy
      ? h(
          'div',
          { class: 'nbrepro-fix nbrepro-remedy' },
          h('span', { class: 'nbrepro-fix-label' }, 'Fix: '),
          cell.remedy
        )
      : null
  );
}

const OUTCOME_LABELS: Record<string, string> = {
  reproduced: 'Reproduced: every compared output came back the same.',
  'not-reproduced': 'Not reproduced.',
  'could-not-run': 'Could not run.'
};

/** What the view needs from its host. */
export interface IVerifyViewOptions {
  /** Save the notebook first (verification reads the saved file). */
  beforeStart: () => Promise<void>;
  /** Open a file (the executed copy) in JupyterLab. */
  openPath: (path: string) => void;
  /** Jump to a cell of the current notebook. */
  jump: (cellId: string) => void;
  /** Timeout of the whole verification, in seconds (0: none). */
  timeoutSeconds: () => number;
  /** Polling interval in milliseconds. */
  pollMs?: number;
  /** A job started here ended (finished, failed or cancelled). */
  onFinished?: (path: string, job: IVerifyJob) => void;
}

/** Cell statuses whose diagnosis (cause, evidence, remedy) is shown. */
const FAILING: ReadonlySet<CellVerifyStatus> = new Set(['differs', 'nondeterministic', 'failed']);

/** The verification section of the panel, for the current notebook. */
export class VerifyView {
  readonly node = h('section', { class: 'nbrepro-verify', 'aria-label': 'Verification' });

  constructor(private readonly _options: IVerifyViewOptions) {
    this.render();
  }

  /** Show the verification of another notebook (each notebook keeps its own job). */
  setNotebook(path: string | undefined, available: boolean): void {
    this._path = path;
    this._available = available;
    this.render();
  }

  /** The current notebook's job, if one was started in this session. */
  get job(): IVerifyJob | undefined {
    return this._path === undefined ? undefined : this._jobs.get(this._path);
  }

  /**
   * The latest verification the server knows for the current notebook (from its status). When
   * no job was started for the notebook in this session, that job is fetched and shown: after a
   * reload the cause of a "Not reproduced" headline stays in view.
   */
  setLatest(path: string | undefined, fact: IVerificationFact | null | undefined): void {
    const id = fact?.jobId;
    if (path === undefined || id === undefined) {
      return;
    }
    // The server judges whether a verification still speaks for the code (`stale`): a result
    // it calls stale is shown as outdated, not as the notebook's state.
    const wasStale = this._staleJobs.has(id);
    if (fact?.stale) {
      this._staleJobs.add(id);
    } else {
      this._staleJobs.delete(id);
    }
    if (wasStale !== this._staleJobs.has(id) && path === this._path) {
      this.render();
    }
    if (fact?.stale || this._jobs.has(path)) {
      return;
    }
    if (this._fetched.get(path) === id) {
      return;
    }
    this._fetched.set(path, id);
    void fetchJob(id)
      .then(job => {
        if (!this._jobs.has(path) && isFinal(job)) {
          this._jobs.set(path, job);
          if (path === this._path) {
            this.render();
          }
        }
      })
      .catch(() => undefined);
  }

  /**
   * Start verifying the current notebook; `recordedEnvironment`: in an environment rebuilt from
   * the recorded one (the job field `rebuild_env: "require"`). Whether that is possible is the
   * server's to say: its error is shown as it is.
   */
  async start(recordedEnvironment = false): Promise<void> {
    const path = this._path;
    if (path === undefined || !this._available) {
      return;
    }
    const current = this._jobs.get(path);
    if (current !== undefined && !isFinal(current)) {
      return;
    }
    this._errors.delete(path);
    try {
      await this._options.beforeStart();
      const timeout = this._options.timeoutSeconds();
      const options: IVerifyOptions = { suggest: true };
      if (timeout > 0) {
        options.notebook_timeout = timeout;
      }
      if (recordedEnvironment) {
        options.rebuild_env = 'require';
      }
      const job = await startVerify(path, options);
      this._jobs.set(path, job);
      this._poll(path, job.id);
    } catch (reason) {
      this._errors.set(path, reason instanceof Error ? reason.message : String(reason));
    }
    this.render();
  }

  /** Cancel the current notebook's running job. */
  async cancel(): Promise<void> {
    const path = this._path;
    const job = this.job;
    if (path === undefined || job === undefined || isFinal(job)) {
      return;
    }
    try {
      const cancelled = await cancelJob(job.id);
      this._jobs.set(path, cancelled);
      if (isFinal(cancelled)) {
        window.clearTimeout(this._timers.get(path));
        this._timers.delete(path);
        this._options.onFinished?.(path, cancelled);
      }
    } catch (reason) {
      this._errors.set(path, reason instanceof Error ? reason.message : String(reason));
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
          const job = await fetchJob(id);
          if (this._jobs.get(path)?.id !== id) {
            return;
          }
          this._jobs.set(path, job);
          if (!isFinal(job)) {
            this._poll(path, id);
          } else {
            this._options.onFinished?.(path, job);
          }
        } catch (reason) {
          this._errors.set(path, reason instanceof Error ? reason.message : String(reason));
        }
        if (path === this._path) {
          this.render();
        }
      }, this._options.pollMs ?? 1000)
    );
  }

  /** Draw the section for the current notebook. */
  render(): void {
    const job = this.job;
    const running = job !== undefined && !isFinal(job);
    const error = this._path === undefined ? undefined : this._errors.get(this._path);
    const controls = h(
      'div',
      { class: 'nbrepro-verify-controls' },
      button(running ? 'Verifying…' : 'Verify now', () => void this.start(), {
        class: 'jp-Button jp-mod-styled jp-mod-accept nbrepro-verify-start',
        title: 'Save the notebook, run it in a fresh kernel on the server and compare the outputs',
        disabled: running || !this._available || this._path === undefined ? '' : undefined
      }),
      button('Verify in recorded environment', () => void this.start(true), {
        class: 'jp-Button jp-mod-styled nbrepro-verify-recorded',
        title:
          'Save the notebook, run it in an environment rebuilt from the recorded one (Python and pinned packages) and compare the outputs',
        disabled: running || !this._available || this._path === undefined ? '' : undefined
      }),
      running
        ? button('Cancel', () => void this.cancel(), {
            class: 'jp-Button jp-mod-styled jp-mod-warn nbrepro-verify-cancel',
            'aria-label': 'Cancel the verification'
          })
        : null
    );
    const children: (HTMLElement | null)[] = [
      h('h3', { class: 'nbrepro-section-title' }, 'Verification'),
      controls
    ];
    if (!this._available) {
      children.push(h('p', { class: 'nbrepro-empty' }, 'Needs the nbrepro server extension.'));
    }
    if (error !== undefined) {
      children.push(h('p', { class: 'nbrepro-error', role: 'alert' }, error));
    }
    if (job !== undefined) {
      children.push(this._renderJob(job));
    }
    this.node.replaceChildren(...children.filter((c): c is HTMLElement => c !== null));
  }

  private _renderJob(job: IVerifyJob): HTMLElement {
    const done = job.cells.filter(c => c.status !== 'running' && c.status !== 'pending').length;
    let headline: string;
    if (job.state === 'queued') {
      headline = 'Waiting for a free slot on the server…';
    } else if (job.state === 'running') {
      headline = `Running: ${done}${job.total !== undefined ? ` of ${job.total}` : ''} cells done`;
    } else if (job.state === 'cancelled') {
      headline = 'Cancelled.';
    } else if (job.state === 'failed') {
      headline = `Verification failed: ${job.error ?? 'no reason given'}`;
    } else {
      headline = OUTCOME_LABELS[job.outcome ?? ''] ?? `Finished: ${job.outcome ?? 'no result'}`;
    }
    const outdated = this._staleJobs.has(job.id);
    const root = h(
      'div',
      {
        class: `nbrepro-verify-result${outdated ? ' nbrepro-outdated' : ''}`,
        'data-state': job.state,
        'data-outcome': job.outcome,
        'data-stale': outdated ? 'true' : undefined
      },
      outdated
        ? h(
            'p',
            { class: 'nbrepro-help nbrepro-outdated-note', role: 'note' },
            "Outdated: the notebook's code changed since this verification, so it no longer counts in the verdict. Verify again to check the notebook as it is."
          )
        : null,
      h(
        'p',
        {
          class: `nbrepro-verify-headline nbrepro-outcome-${job.outcome ?? job.state}`,
          role: 'status'
        },
        headline,
        job.reason ? h('span', { class: 'nbrepro-verify-reason' }, ` ${job.reason}`) : null
      ),
      job.diagnosis
        ? h('p', { class: 'nbrepro-help nbrepro-verify-diagnosis' }, sentence(job.diagnosis))
        : null
    );
    if (job.state === 'running' && job.total !== undefined && job.total > 0) {
      root.append(
        h('progress', {
          class: 'nbrepro-progress',
          max: String(job.total),
          value: String(done),
          'aria-label': 'Cells verified'
        })
      );
    }
    if (isOpenablePath(job.executedPath) && job.executedOpenable) {
      const path = job.executedPath;
      root.append(
        button('Open the executed copy', () => this._options.openPath(path), {
          class: 'nbrepro-link nbrepro-open-executed',
          title: path,
          'data-path': path
        })
      );
    } else if (job.executedPath !== undefined) {
      root.append(
        h(
          'p',
          { class: 'nbrepro-help nbrepro-executed-hidden' },
          `The executed copy is kept in ${job.executedPath} (a hidden folder JupyterLab does not open).`
        )
      );
    }
    const list = h('ul', { class: 'nbrepro-verify-cells' });
    for (const cell of job.cells) {
      list.append(this._renderCell(cell));
    }
    root.append(list);
    return root;
  }

  private _renderCell(cell: ICellVerifyResult): HTMLElement {
    const label = `Cell ${cell.index + 1}`;
    const head =
      cell.id !== undefined
        ? button(label, () => this._options.jump(cell.id as string), {
            class: 'nbrepro-link nbrepro-jump-small',
            'aria-label': `Go to cell ${cell.index + 1}`
          })
        : h('span', {}, label);
    const failing = FAILING.has(cell.status);
    const item = h(
      'li',
      {
        class: `nbrepro-verify-cell nbrepro-cell-${cell.status}`,
        'data-status': cell.status,
        'data-cell-id': cell.id,
        'data-cause': failing ? cell.cause : undefined
      },
      head,
      h('span', { class: 'nbrepro-verify-status' }, STATUS_LABELS[cell.status]),
      failing && cell.summary ? h('span', { class: 'nbrepro-verify-summary' }, cell.summary) : null
    );
    if (failing) {
      const cause = renderCause(cell);
      if (cause !== null) {
        item.append(cause);
      }
    }
    if (cell.detail !== undefined && cell.status !== 'reproduced') {
      item.append(
        h(
          'details',
          { class: 'nbrepro-diff' },
          h('summary', {}, cell.status === 'failed' ? 'Error' : 'Diff'),
          h('pre', {}, cell.detail)
        )
      );
    }
    return item;
  }

  private _path: string | undefined;
  private _available = false;
  private readonly _fetched = new Map<string, string>();
  private readonly _staleJobs = new Set<string>();
  private readonly _jobs = new Map<string, IVerifyJob>();
  private readonly _errors = new Map<string, string>();
  private readonly _timers = new Map<string, number>();
}
