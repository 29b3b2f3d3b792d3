/**
 * Normalising the server's run job answers (`POST runs`, `GET /nbrepro/api/runs/jobs/<job>`):
 * `nbrepro.jobs.manager.Job.to_dict()` of a job of kind `run`, whose result is the run's summary
 * (`nbrepro run --format json`). Tolerant: an unreadable answer is a failed job with a reason.
 */

import { IRunCellProgress, IRunJob, JobState } from '../tokens';
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
