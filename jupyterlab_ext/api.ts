/** The typed REST client of the nbrepro server extension (`/nbrepro/api/*`). */

import { requestAPI } from './handler';
import { normalizeStatus } from './model/status';
import { normalizeRunDiff, normalizeRunJob, normalizeRuns, runJobIdOf } from './model/runs';
import { jobIdOf, normalizeJob } from './model/verify';
import { IRunDiff, IRunJob, IRunSummary, IServerStatus, IVerifyJob } from './tokens';

/** `GET status?path=`: journal, static findings, changed inputs, environment drift. */
export async function fetchStatus(path: string): Promise<IServerStatus> {
  const raw = await requestAPI<unknown>(`status?path=${encodeURIComponent(path)}`);
  return normalizeStatus(path, raw);
}

/** Options of a verification job (the REST face of the core's `VERIFY_OPTIONS`). */
export interface IVerifyOptions {
  timeout?: number;
  notebook_timeout?: number;
  runs?: number;
  /** Ask for mechanical remedies (cell order, seed line, pinned environment). */
  suggest?: boolean;
  /**
   * Run in an environment rebuilt from the recorded one: 'require' (fail when it cannot be
   * built), 'prefer' (fall back to the server's), 'off' (default). Validated by the server.
   */
  rebuild_env?: 'off' | 'require' | 'prefer';
}

/** `POST verify`: start verifying the saved notebook; resolves with the job. */
export async function startVerify(
  path: string,
  options: IVerifyOptions = {},
  parameters: Record<string, unknown> = {}
): Promise<IVerifyJob> {
  const raw = await requestAPI<unknown>('verify', {
    method: 'POST',
    body: JSON.stringify({ path, parameters, options })
  });
  const id = jobIdOf(raw);
  if (id === undefined) {
    throw new Error('The server did not answer a verification job id.');
  }
  return normalizeJob(id, raw);
}

/** `GET verify/<job>`: progress per cell and, when done, the result. */
export async function fetchJob(id: string): Promise<IVerifyJob> {
  return normalizeJob(id, await requestAPI<unknown>(`verify/${encodeURIComponent(id)}`));
}

/** `DELETE verify/<job>`: cancel. */
export async function cancelJob(id: string): Promise<IVerifyJob> {
  return normalizeJob(
    id,
    await requestAPI<unknown>(`verify/${encodeURIComponent(id)}`, { method: 'DELETE' })
  );
}

/** `POST runs`: start a versioned run of the saved notebook with these parameters. */
export async function startRun(
  path: string,
  parameters: Record<string, unknown>,
  name?: string
): Promise<IRunJob> {
  const body: Record<string, unknown> = { path, parameters };
  if (name !== undefined && name.trim().length > 0) {
    body.name = name.trim();
  }
  const raw = await requestAPI<unknown>('runs', { method: 'POST', body: JSON.stringify(body) });
  const id = runJobIdOf(raw);
  if (id === undefined) {
    throw new Error('The server did not answer a run job id.');
  }
  return normalizeRunJob(id, raw);
}

/** `GET runs/jobs/<job>`: progress per cell and, when done, the stored run. */
export async function fetchRunJob(id: string): Promise<IRunJob> {
  return normalizeRunJob(id, await requestAPI<unknown>(`runs/jobs/${encodeURIComponent(id)}`));
}

/** `DELETE runs/jobs/<job>`: cancel the run. */
export async function cancelRunJob(id: string): Promise<IRunJob> {
  return normalizeRunJob(
    id,
    await requestAPI<unknown>(`runs/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' })
  );
}

/** `GET verify/<job>/outputs`: stored and new outputs of the cells the job found differing. */
export async function fetchVerifyOutputs(id: string): Promise<unknown> {
  return requestAPI<unknown>(`verify/${encodeURIComponent(id)}/outputs`);
}

/** `GET runs?path=`: the stored runs of a notebook, oldest first. */
export async function fetchRuns(path: string): Promise<IRunSummary[]> {
  const raw = await requestAPI<unknown>(`runs?path=${encodeURIComponent(path)}`);
  return normalizeRuns(raw);
}

/** `GET runs/<a>/diff/<b>?path=`: what differs between two runs of a notebook. */
export async function fetchRunDiff(path: string, a: string, b: string): Promise<IRunDiff> {
  const raw = await requestAPI<unknown>(
    `runs/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}?path=${encodeURIComponent(path)}`
  );
  return normalizeRunDiff(raw);
}

/** `GET runs/<id>?path=`: one run's manifest, with its MLflow export. */
export async function fetchRun(path: string, id: string): Promise<unknown> {
  return requestAPI<unknown>(`runs/${encodeURIComponent(id)}?path=${encodeURIComponent(path)}`);
}

/** `GET runs/<id>/notebook?path=`: the executed notebook of a run (nbformat JSON). */
export async function fetchRunNotebook(path: string, id: string): Promise<unknown> {
  const raw = await requestAPI<unknown>(
    `runs/${encodeURIComponent(id)}/notebook?path=${encodeURIComponent(path)}`
  );
  return typeof raw === 'object' && raw !== null ? (raw as { notebook?: unknown }).notebook : raw;
}
