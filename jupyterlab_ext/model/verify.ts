/**
 * Normalising the server's verification job answers (`POST/GET /nbrepro/api/verify`): the job
 * (`nbrepro.jobs.manager.Job.to_dict()`: state, progress from verify's events, result = verify's
 * JSON report). Tolerant: a job the frontend cannot read is shown as failed with the reason.
 */

import { CellVerifyStatus, ICellVerifyResult, IVerifyJob, JobState } from '../tokens';

type Json = Record<string, unknown>;

/** Whether a JSON value is an object (not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Cell statuses of verify's report (`CELL_REPORT_STATUSES`) in the panel's words. */
const REPORT_STATUS: Record<string, CellVerifyStatus> = {
  ok: 'reproduced',
  mismatch: 'differs',
  nondeterministic: 'nondeterministic',
  error: 'failed',
  timeout: 'failed',
  'kernel-died': 'failed',
  ignored: 'skipped',
  skipped: 'skipped',
  'not-run': 'skipped'
};

/** Execution statuses of verify's progress events: the outputs are not compared yet. */
const PROGRESS_STATUS: Record<string, CellVerifyStatus> = {
  running: 'running',
  ok: 'executed',
  error: 'failed',
  timeout: 'failed',
  'kernel-died': 'failed',
  skipped: 'skipped'
};

/** The panel's status of one cell of the final report. */
export function cellStatusOf(raw: unknown): CellVerifyStatus {
  return REPORT_STATUS[String(raw ?? '')] ?? 'failed';
}

/** Job states of the server (`nbrepro.jobs.manager`) in the panel's words. */
export const JOB_STATE: Record<string, JobState> = {
  queued: 'queued',
  running: 'running',
  succeeded: 'finished',
  // "failed" is verify's answer that the notebook did not reproduce: a finished verification.
  failed: 'finished',
  error: 'failed',
  timeout: 'failed',
  cancelled: 'cancelled'
};

/** A non-empty string, else `undefined`. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function detailOf(cell: Json): string | undefined {
  const error =
    text(cell.error_name) !== undefined
      ? `${cell.error_name}${text(cell.error_value) ? `: ${cell.error_value}` : ''}`
      : undefined;
  return text(cell.diff) ?? text(cell.determinism_diff) ?? error ?? text(cell.summary);
}

/** A remedy (a string, or `{message, code}` as `suggest_remedies` gives) in one text. */
function remedyText(raw: unknown): string | undefined {
  if (typeof raw === 'string') {
    return text(raw);
  }
  if (!isObject(raw) || text(raw.message) === undefined) {
    return undefined;
  }
  const code = text(raw.code);
  return code === undefined ? String(raw.message) : `${raw.message}:\n${code}`;
}

/** The evidence lines of a cell's strongest cause (`evidence`, else `causes[0].evidence`). */
function evidenceOf(cell: Json): string[] {
  let raw: unknown = cell.evidence;
  if (!Array.isArray(raw) || raw.length === 0) {
    const first = Array.isArray(cell.causes) ? cell.causes[0] : undefined;
    raw = isObject(first) ? first.evidence : undefined;
  }
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw
    .map(item => (isObject(item) ? text(item.message) : text(item)))
    .filter((line): line is string => line !== undefined);
}

/**
 * The diagnosis of one cell as the server computed it (`CellReport.to_dict()`): the strongest
 * cause, its evidence and the remedy (the cell's own, else a notebook remedy naming the cell).
 */
function diagnosisOf(cell: Json, remedies: unknown[]): Partial<ICellVerifyResult> {
  const first = Array.isArray(cell.causes) && isObject(cell.causes[0]) ? cell.causes[0] : {};
  const remedy =
    remedyText(cell.remedy) ??
    remedies
      .filter(isObject)
      .filter(r => Array.isArray(r.cells) && r.cells.includes(cell.index))
      .map(remedyText)
      .find(r => r !== undefined);
  return {
    summary: text(cell.summary),
    cause: text(cell.cause) ?? text(first.id),
    causeSummary: text(cell.cause_summary) ?? text(first.summary),
    remedy
  };
}

function cellsOf(
  raw: unknown[],
  statusOf: (status: unknown) => CellVerifyStatus,
  remedies: unknown[] = []
): ICellVerifyResult[] {
  return raw
    .filter(isObject)
    .filter(cell => typeof cell.index === 'number')
    .map(cell => ({
      index: cell.index as number,
      id: text(cell.id),
      status: statusOf(cell.status),
      detail: detailOf(cell),
      ...diagnosisOf(cell, remedies),
      evidence: evidenceOf(cell)
    }))
    .sort((a, b) => a.index - b.index);
}

/** The job id from the answer of `POST verify`. */
export function jobIdOf(raw: unknown): string | undefined {
  if (!isObject(raw)) {
    return undefined;
  }
  const id = raw.id ?? raw.job;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** The report of the (first) notebook in verify's JSON report. */
function notebookReport(result: unknown): Json | undefined {
  if (!isObject(result)) {
    return undefined;
  }
  if (Array.isArray(result.notebooks) && isObject(result.notebooks[0])) {
    return result.notebooks[0];
  }
  return Array.isArray(result.cells) ? result : undefined;
}

/** The job as the panel shows it. */
export function normalizeJob(id: string, raw: unknown): IVerifyJob {
  if (!isObject(raw)) {
    return {
      id,
      state: 'failed',
      cells: [],
      executedOpenable: false,
      error: 'The server answered something unreadable.'
    };
  }
  const report = notebookReport(raw.result);
  const progress = isObject(raw.progress) ? raw.progress : {};
  const state = JOB_STATE[String(raw.state)] ?? 'running';
  // A job stopped without a report (cancelled, failed) leaves no cell running or waiting.
  const stopped = state === 'cancelled' || state === 'failed';
  const cells =
    report !== undefined && Array.isArray(report.cells)
      ? cellsOf(report.cells, cellStatusOf, Array.isArray(report.remedies) ? report.remedies : [])
      : [
          ...cellsOf(Array.isArray(progress.cells) ? progress.cells : [], status => {
            const shown = PROGRESS_STATUS[String(status)] ?? 'pending';
            return stopped && (shown === 'running' || shown === 'pending') ? 'stopped' : shown;
          }),
          // The cells a stopped job never started (the server lists them): shown, not omitted.
          ...cellsOf(
            stopped && Array.isArray(progress.not_started) ? progress.not_started : [],
            () => 'not-started'
          )
        ].sort((a, b) => a.index - b.index);
  return {
    id: jobIdOf(raw) ?? id,
    state,
    cells,
    total: typeof progress.total === 'number' ? progress.total : undefined,
    outcome: report !== undefined ? text(report.status) : undefined,
    reason: report !== undefined ? text(report.reason) : undefined,
    diagnosis: report !== undefined ? text(report.diagnosis) : undefined,
    executedPath:
      text(raw.executed_path) ?? (report !== undefined ? text(report.output_path) : undefined),
    executedOpenable: raw.executed_openable !== false,
    error: state === 'failed' || state === 'cancelled' ? text(raw.message) : undefined
  };
}

/** Whether the job has stopped (no more polling). */
export function isFinal(job: { state: JobState }): boolean {
  return job.state === 'finished' || job.state === 'failed' || job.state === 'cancelled';
}

/**
 * Whether a path given by the server may be opened in JupyterLab: relative to the server root,
 * no `..` segment, no scheme.
 */
export function isOpenablePath(path: string | undefined): path is string {
  if (path === undefined || path.length === 0 || path.startsWith('/') || /^[a-z]+:/i.test(path)) {
    return false;
  }
  return !path.split(/[\\/]/).includes('..');
}
