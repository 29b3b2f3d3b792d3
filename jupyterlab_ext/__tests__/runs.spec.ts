import { finishedCells, formatMetric, normalizeRunJob, runJobIdOf } from '../model/runs';
import { isFinal } from '../model/verify';

/** A run job answer as `Job.to_dict()` of kind `run` plus the handler's fields gives it. */
function runJob(
  state: string,
  cells: unknown[],
  result: unknown = null,
  extra: Record<string, unknown> = {}
): Record<string, unknown> {
  return {
    id: 'r1',
    kind: 'run',
    path: 'exp.ipynb',
    name: 'baseline',
    state,
    message: null,
    progress: { total: 3, finished: 0, current: null, cells },
    result,
    run_id: (result as { run_id?: string } | null)?.run_id ?? null,
    executed_path: null,
    executed_openable: false,
    ...extra
  };
}

const SUMMARY = {
  run_id: '20260101-120000-000-abcdef',
  name: 'baseline',
  verdict: 'succeeded',
  parameters: { alpha: 4 },
  metrics: { accuracy: 0.912345678, epochs: 3, curve: [1, 2], note: 'ok' },
  path: '/srv/root/.nbrepro/runs/20260101-120000-000-abcdef',
  failure: null
};

describe('run jobs', () => {
  it('reads the job id of the start answer', () => {
    expect(runJobIdOf({ id: 'r1', state: 'queued' })).toBe('r1');
    expect(runJobIdOf({ state: 'queued' })).toBeUndefined();
    expect(runJobIdOf('nope')).toBeUndefined();
  });

  it('shows per-cell progress while the run executes', () => {
    const job = normalizeRunJob(
      'r1',
      runJob('running', [
        { index: 1, id: 'injected-parameters', status: 'running' },
        { index: 0, id: 'a', status: 'ok' }
      ])
    );
    expect(job.state).toBe('running');
    expect(job.total).toBe(3);
    expect(job.cells.map(c => [c.index, c.status])).toEqual([
      [0, 'ok'],
      [1, 'running']
    ]);
    expect(finishedCells(job)).toBe(1);
    expect(job.runId).toBeUndefined();
    expect(isFinal(job)).toBe(false);
  });

  it('answers the stored run: id, verdict, scalar metrics and the executed notebook', () => {
    const job = normalizeRunJob(
      'r1',
      runJob('succeeded', [], SUMMARY, {
        executed_path: '.nbrepro/runs/20260101-120000-000-abcdef/notebook.ipynb',
        executed_openable: true
      })
    );
    expect(job).toMatchObject({
      state: 'finished',
      runId: '20260101-120000-000-abcdef',
      verdict: 'succeeded',
      name: 'baseline',
      executedPath: '.nbrepro/runs/20260101-120000-000-abcdef/notebook.ipynb',
      executedOpenable: true,
      bundle: SUMMARY.path
    });
    expect(job.metrics).toEqual({ accuracy: 0.912345678, epochs: 3, note: 'ok' });
    expect(job.failure).toBeUndefined();
    expect(isFinal(job)).toBe(true);
  });

  it('keeps a failed run (stored, with its failure) apart from a run that could not run', () => {
    const failedRun = normalizeRunJob(
      'r1',
      runJob('failed', [], { ...SUMMARY, verdict: 'failed', failure: 'cell 2 raised ValueError' })
    );
    expect(failedRun).toMatchObject({
      state: 'finished',
      verdict: 'failed',
      failure: 'cell 2 raised ValueError'
    });
    const couldNot = normalizeRunJob(
      'r1',
      runJob('error', [], null, { message: 'nbrepro: error: no kernel named "r"' })
    );
    expect(couldNot).toMatchObject({
      state: 'failed',
      error: 'nbrepro: error: no kernel named "r"'
    });
    expect(normalizeRunJob('r1', runJob('failed', [], null, { message: 'x' })).state).toBe(
      'failed'
    );
    expect(
      normalizeRunJob('r1', runJob('cancelled', [], null, { message: 'cancelled' }))
    ).toMatchObject({ state: 'cancelled', error: 'cancelled' });
    expect(normalizeRunJob('r1', 'garbage')).toMatchObject({ state: 'failed', metrics: {} });
  });

  it('prints metrics compactly', () => {
    expect(formatMetric(0.912345678)).toBe('0.912346');
    expect(formatMetric(3)).toBe('3');
    expect(formatMetric(true)).toBe('true');
  });
});
