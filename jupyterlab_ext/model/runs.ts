/**
 * Normalising the server's run job answers (`POST runs`, `GET /nbrepro/api/runs/jobs/<job>`):
 * `nbrepro.jobs.manager.Job.to_dict()` of a job of kind `run`, whose result is the run's summary
 * (`nbrepro run --format json`). Tolerant: an unreadable answer is a failed job with a reason.
 */

import {
  IRunCellProgress,
  IRunDiff,
  IRunJob,
  IRunSummary,
  IRunValueChange,
  JobState
} from '../tokens';
import { isObject, JOB_STATE, text } from './verify';

/** The job id of an answer, or `undefined`. */
export function runJobIdOf(raw: unknown): string | undefined {
  return isObject(raw) && typeof raw.id === 'string' && raw.id.length > 0 ? raw.id : undefined;
}

function progressCells(raw: unknown): IRunCellProgress[] {
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw
    .filter(isObject)
    .filter(cell => typeof cell.index === 'number')
    .map(cell => ({
      index: cell.index as number,
      id: text(cell.id),
      status: text(cell.status) ?? 'running'
    }))
    .sort((a, b) => a.index - b.index);
}

/** Scalar metrics only (numbers, strings, booleans), in the server's order. */
function metricsOf(raw: unknown): Record<string, unknown> {
  if (!isObject(raw)) {
    return {};
  }
  const metrics: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (['number', 'string', 'boolean'].includes(typeof value)) {
      metrics[name] = value;
    }
  }
  return metrics;
}

/** The run job as the panel shows it. */
export function normalizeRunJob(id: string, raw: unknown): IRunJob {
  if (!isObject(raw)) {
    return {
      id,
      state: 'failed',
      cells: [],
      metrics: {},
      executedOpenable: false,
      error: 'The server answered something unreadable.'
    };
  }
  const summary = isObject(raw.result) ? raw.result : undefined;
  const progress = isObject(raw.progress) ? raw.progress : {};
  let state: JobState = JOB_STATE[String(raw.state)] ?? 'running';
  // A run that failed without a stored run (no summary) could not run at all.
  if (raw.state === 'failed' && summary === undefined) {
    state = 'failed';
  }
  const verdict = summary !== undefined ? text(summary.verdict) : undefined;
  return {
    id: runJobIdOf(raw) ?? id,
    state,
    cells: progressCells(progress.cells),
    total: typeof progress.total === 'number' ? progress.total : undefined,
    name: text(raw.name) ?? (summary !== undefined ? text(summary.name) : undefined),
    runId: text(raw.run_id) ?? (summary !== undefined ? text(summary.run_id) : undefined),
    verdict,
    failure:
      verdict === 'failed'
        ? ((summary !== undefined ? text(summary.failure) : undefined) ?? text(raw.message))
        : undefined,
    metrics: metricsOf(summary?.metrics),
    executedPath: text(raw.executed_path),
    executedOpenable: raw.executed_openable === true,
    bundle: summary !== undefined ? text(summary.path) : undefined,
    error: state === 'failed' || state === 'cancelled' ? text(raw.message) : undefined
  };
}

/** How many cells have finished. */
export function finishedCells(job: IRunJob): number {
  return job.cells.filter(cell => cell.status !== 'running').length;
}

/** A metric value as the panel prints it (numbers to 6 significant digits). */
export function formatMetric(value: unknown): string {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  }
  return String(value);
}

/** The stored runs of `GET runs?path=`, newest first; unreadable entries are left out. */
export function normalizeRuns(raw: unknown): IRunSummary[] {
  const list = isObject(raw) && Array.isArray(raw.runs) ? raw.runs : [];
  return list
    .filter(isObject)
    .filter(run => text(run.run_id) !== undefined)
    .map(run => ({
      runId: run.run_id as string,
      name: text(run.name),
      created: text(run.created),
      duration: typeof run.duration === 'number' ? run.duration : undefined,
      verdict: text(run.verdict) ?? 'unknown',
      configurationId: text(run.configuration_id),
      parameters: isObject(run.parameters) ? { ...run.parameters } : {},
      metrics: metricsOf(run.metrics),
      mlflowRunId: text(run.mlflow_run_id)
    }))
    .reverse();
}

function changesOf(raw: unknown): IRunValueChange[] {
  return (Array.isArray(raw) ? raw : [])
    .filter(isObject)
    .filter(c => typeof c.name === 'string')
    .map(c => ({
      name: c.name as string,
      a: c.a,
      b: c.b,
      inA: c.in_a !== false,
      inB: c.in_b !== false
    }));
}

/** The runs diff as the panel shows it. */
export function normalizeRunDiff(raw: unknown): IRunDiff {
  const d = isObject(raw) ? raw : {};
  const verdicts = Array.isArray(d.verdicts) ? d.verdicts.map(String) : [];
  return {
    a: text(d.a) ?? '',
    b: text(d.b) ?? '',
    sameConfiguration: d.same_configuration === true,
    notebookChanged: d.notebook_changed === true,
    parameters: changesOf(d.parameters),
    inputs: changesOf(d.inputs),
    metrics: changesOf(d.metrics),
    cells: (Array.isArray(d.cells) ? d.cells : []).filter(isObject).map(c => String(c.id ?? '')),
    verdicts: [verdicts[0] ?? '', verdicts[1] ?? ''],
    text: text(d.text) ?? ''
  };
}

/** A value of a runs table cell or diff: strings as they are, others as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') {
    return formatMetric(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The names of parameters (or metrics) any of the runs has, in first-seen order. */
export function columnsOf(runs: IRunSummary[], key: 'parameters' | 'metrics'): string[] {
  const names: string[] = [];
  for (const run of runs) {
    for (const name of Object.keys(run[key])) {
      if (!names.includes(name)) {
        names.push(name);
      }
    }
  }
  return names;
}

/**
 * The MLflow UI's page of an exported run (`mlflow.json` of the bundle, as `GET runs/<id>`
 * gives it), when its tracking URI is an http(s) server; `undefined` otherwise (a local store
 * has no page to link to).
 */
export function mlflowRunUrl(run: unknown): string | undefined {
  const mlflow = isObject(run) && isObject(run.mlflow) ? run.mlflow : undefined;
  const uri = mlflow !== undefined ? text(mlflow.tracking_uri) : undefined;
  const experiment = mlflow !== undefined ? mlflow.experiment_id : undefined;
  const runId = mlflow !== undefined ? text(mlflow.run_id) : undefined;
  if (
    uri === undefined ||
    runId === undefined ||
    (typeof experiment !== 'string' && typeof experiment !== 'number') ||
    !/^https?:\/\/[^\s]+$/i.test(uri)
  ) {
    return undefined;
  }
  const base = uri.replace(/\/+$/, '');
  return `${base}/#/experiments/${encodeURIComponent(String(experiment))}/runs/${encodeURIComponent(runId)}`;
}
