import {
  columnsOf,
  finishedCells,
  formatMetric,
  formatValue,
  mlflowRunUrl,
  normalizeRunDiff,
  normalizeRunJob,
  normalizeRuns,
  runJobIdOf
} from '../model/runs';
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

describe('the runs table', () => {
  const answer = {
    path: 'exp.ipynb',
    runs: [
      {
        run_id: 'r-old',
        name: null,
        created: '2026-01-01T10:00:00Z',
        duration: 1.5,
        verdict: 'succeeded',
        parameters: { alpha: 1 },
        metrics: { score: 10, curve: [1, 2] },
        mlflow_run_id: null
      },
      {
        run_id: 'r-new',
        name: 'tuned',
        verdict: 'failed',
        parameters: { alpha: 2, beta: 'x' },
        metrics: { score: 20.123456789 },
        mlflow_run_id: 'abc'
      },
      { name: 'no id' }
    ]
  };

  it('lists runs newest first, with scalar metrics only', () => {
    const runs = normalizeRuns(answer);
    expect(runs.map(r => r.runId)).toEqual(['r-new', 'r-old']);
    expect(runs[0]).toMatchObject({ name: 'tuned', verdict: 'failed', mlflowRunId: 'abc' });
    expect(runs[1].name).toBeUndefined();
    expect(runs[1].metrics).toEqual({ score: 10 });
    expect(normalizeRuns('garbage')).toEqual([]);
  });

  it('has one column per parameter and metric any run has', () => {
    const runs = normalizeRuns(answer);
    expect(columnsOf(runs, 'parameters')).toEqual(['alpha', 'beta']);
    expect(columnsOf(runs, 'metrics')).toEqual(['score']);
    expect(formatValue(20.123456789)).toBe('20.1235');
    expect(formatValue('x')).toBe('x');
    expect(formatValue([1, 2])).toBe('[1,2]');
  });

  it('reads a runs diff', () => {
    const diff = normalizeRunDiff({
      a: 'r-old',
      b: 'r-new',
      same_configuration: false,
      notebook_changed: false,
      parameters: [{ name: 'alpha', a: 1, b: 2, in_a: true, in_b: true }],
      inputs: [],
      metrics: [{ name: 'extra', a: null, b: 3, in_a: false, in_b: true }],
      cells: [{ id: 'c1', index_a: 1, index_b: 1 }],
      verdicts: ['succeeded', 'failed'],
      text: 'Runs r-old (a) and r-new (b)'
    });
    expect(diff.parameters).toEqual([{ name: 'alpha', a: 1, b: 2, inA: true, inB: true }]);
    expect(diff.metrics[0]).toMatchObject({ inA: false, inB: true });
    expect(diff.cells).toEqual(['c1']);
    expect(diff.verdicts).toEqual(['succeeded', 'failed']);
    expect(normalizeRunDiff(null).parameters).toEqual([]);
  });

  it('links to the MLflow page of an exported run on an http server only', () => {
    const run = (uri: string) => ({
      mlflow: { tracking_uri: uri, experiment_id: '7', run_id: 'abc' }
    });
    expect(mlflowRunUrl(run('http://127.0.0.1:5000/'))).toBe(
      'http://127.0.0.1:5000/#/experiments/7/runs/abc'
    );
    expect(mlflowRunUrl(run('sqlite:///mlflow.db'))).toBeUndefined();
    expect(mlflowRunUrl(run('javascript:alert(1)//http://x'))).toBeUndefined();
    expect(mlflowRunUrl({ mlflow: null })).toBeUndefined();
  });
});
