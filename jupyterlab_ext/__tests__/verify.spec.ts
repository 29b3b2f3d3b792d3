import { cellStatusOf, isFinal, isOpenablePath, jobIdOf, normalizeJob } from '../model/verify';

/** A job answer as `nbrepro.jobs.manager.Job.to_dict()` gives it. */
function job(
  state: string,
  progressCells: unknown[],
  result: unknown = null,
  message: string | null = null
): unknown {
  return {
    id: 'j1',
    path: 'nb.ipynb',
    state,
    message,
    progress: { total: 3, finished: progressCells.length, current: null, cells: progressCells },
    result
  };
}

describe('verification jobs', () => {
  it('reads the job id of the start answer', () => {
    expect(jobIdOf({ id: 'abc', state: 'queued' })).toBe('abc');
    expect(jobIdOf('nope')).toBeUndefined();
  });

  it('shows per-cell progress while the job runs', () => {
    const running = normalizeJob(
      'j1',
      job('running', [
        { index: 2, id: 'c', status: 'running' },
        { index: 0, id: 'a', status: 'ok', duration: 0.1 }
      ])
    );
    expect(running.state).toBe('running');
    expect(running.total).toBe(3);
    expect(running.cells.map(c => [c.index, c.status])).toEqual([
      [0, 'executed'],
      [2, 'running']
    ]);
    expect(isFinal(running)).toBe(false);
  });

  it('shows the per-cell verdicts of the final report, with diffs', () => {
    const result = {
      notebooks: [
        {
          status: 'not-reproduced',
          reason: '1 cell differs',
          output_path: 'verified/nb.ipynb',
          cells: [
            { index: 1, id: 'b', status: 'mismatch', diff: '- 1\n+ 2', summary: 'outputs differ' },
            { index: 0, id: 'a', status: 'ok', diff: '' },
            {
              index: 2,
              id: 'c',
              status: 'error',
              diff: '',
              error_name: 'ZeroDivisionError',
              error_value: 'division by zero'
            },
            {
              index: 3,
              id: 'd',
              status: 'nondeterministic',
              diff: '',
              determinism_diff: '- 0.1\n+ 0.2'
            }
          ]
        }
      ]
    };
    const done = normalizeJob('j1', job('failed', [], result, 'the notebook did not reproduce'));
    expect(done.state).toBe('finished');
    expect(done.cells.map(c => [c.index, c.status, c.detail])).toEqual([
      [0, 'reproduced', undefined],
      [1, 'differs', '- 1\n+ 2'],
      [2, 'failed', 'ZeroDivisionError: division by zero'],
      [3, 'nondeterministic', '- 0.1\n+ 0.2']
    ]);
    expect(done.outcome).toBe('not-reproduced');
    expect(done.reason).toBe('1 cell differs');
    expect(done.executedPath).toBe('verified/nb.ipynb');
    expect(done.error).toBeUndefined();
    expect(isFinal(done)).toBe(true);
  });

  it('shows the cause, evidence and remedy the server diagnosed for a failing cell', () => {
    const result = {
      notebooks: [
        {
          status: 'not-reproduced',
          reason: '1 mismatch of 2 code cells',
          diagnosis: 'not reproducible: cell 1 calls random.random() and no cell above seeds it',
          remedies: [
            {
              kind: 'seed',
              message: 'add at the top of the first code cell',
              cells: [0],
              code: 'import random\nrandom.seed(0)'
            }
          ],
          cells: [
            {
              index: 0,
              id: 'seedless',
              status: 'mismatch',
              summary: 'text/plain differs (1 line)',
              diff: '-0.1\n+0.2',
              cause: 'nondeterminism',
              cause_summary: 'calls random.random() and no cell above seeds `random`',
              evidence: [
                {
                  kind: 'static-hint',
                  message: 'cell 1, line 2: calls random.random() and no cell above seeds `random`',
                  details: { cell: 0 }
                }
              ],
              remedy: null,
              causes: []
            },
            {
              index: 1,
              id: 'old',
              status: 'error',
              summary: 'raised NameError',
              error_name: 'NameError',
              error_value: "name 'helper' is not defined",
              cause: null,
              cause_summary: null,
              evidence: [],
              remedy: 'Define helper again, or restore its cell.',
              causes: [
                {
                  id: 'hidden-state',
                  summary: 'uses helper, which no cell defines any more',
                  strength: 85,
                  evidence: [{ kind: 'recorded', message: 'helper was defined by a deleted cell' }]
                }
              ]
            },
            { index: 2, id: 'same', status: 'ok', summary: '', evidence: [], causes: [] }
          ]
        }
      ]
    };
    const done = normalizeJob('j1', job('failed', [], result, 'the notebook did not reproduce'));
    expect(done.diagnosis).toBe(
      'not reproducible: cell 1 calls random.random() and no cell above seeds it'
    );
    expect(done.cells[0]).toMatchObject({
      status: 'differs',
      summary: 'text/plain differs (1 line)',
      cause: 'nondeterminism',
      causeSummary: 'calls random.random() and no cell above seeds `random`',
      evidence: ['cell 1, line 2: calls random.random() and no cell above seeds `random`'],
      remedy: 'add at the top of the first code cell:\nimport random\nrandom.seed(0)'
    });
    // Without a cause of its own, the strongest of `causes` speaks; the cell's remedy first.
    expect(done.cells[1]).toMatchObject({
      status: 'failed',
      cause: 'hidden-state',
      causeSummary: 'uses helper, which no cell defines any more',
      evidence: ['helper was defined by a deleted cell'],
      remedy: 'Define helper again, or restore its cell.'
    });
    expect(done.cells[2]).toMatchObject({ status: 'reproduced', evidence: [] });
    expect(done.cells[2].cause).toBeUndefined();
  });

  it('says why a job failed or was cancelled', () => {
    expect(normalizeJob('j1', job('error', [], null, 'kernel not found'))).toMatchObject({
      state: 'failed',
      error: 'kernel not found'
    });
    expect(normalizeJob('j1', job('timeout', [], null, 'too slow'))).toMatchObject({
      state: 'failed'
    });
    expect(normalizeJob('j1', job('cancelled', [], null, 'cancelled'))).toMatchObject({
      state: 'cancelled'
    });
    expect(normalizeJob('j', null)).toMatchObject({ state: 'failed' });
    expect(cellStatusOf('weird')).toBe('failed');
  });

  it('shows no cell still running once a job is cancelled', () => {
    const cancelled = normalizeJob(
      'j1',
      job('cancelled', [
        { index: 0, id: 'a', status: 'ok' },
        { index: 1, id: 'b', status: 'running' }
      ])
    );
    expect(cancelled.cells.map(c => [c.index, c.status])).toEqual([
      [0, 'executed'],
      [1, 'stopped']
    ]);
  });

  it('lists the cells a cancelled job never started', () => {
    const raw = job('cancelled', [{ index: 0, id: 'a', status: 'ok' }]) as {
      progress: Record<string, unknown>;
    };
    raw.progress.not_started = [
      { index: 3, id: 'd' },
      { index: 1, id: 'b' }
    ];
    expect(normalizeJob('j1', raw).cells.map(c => [c.index, c.id, c.status])).toEqual([
      [0, 'a', 'executed'],
      [1, 'b', 'not-started'],
      [3, 'd', 'not-started']
    ]);
    // A running job's list is not read: its cells are still to come.
    raw.progress.not_started = [{ index: 1, id: 'b' }];
    expect(normalizeJob('j1', { ...raw, state: 'running' }).cells).toHaveLength(1);
  });

  it('prefers the executed_path the server answers and whether it can be opened', () => {
    const answer = {
      ...(job('succeeded', [], { notebooks: [{ status: 'reproduced', cells: [] }] }) as object),
      executed_path: 'nbrepro-verified/j1/nb.ipynb',
      executed_openable: true
    };
    expect(normalizeJob('j1', answer)).toMatchObject({
      executedPath: 'nbrepro-verified/j1/nb.ipynb',
      executedOpenable: true
    });
    expect(
      normalizeJob('j1', {
        ...answer,
        executed_path: '.nbrepro/v/nb.ipynb',
        executed_openable: false
      })
    ).toMatchObject({ executedPath: '.nbrepro/v/nb.ipynb', executedOpenable: false });
  });

  it('opens only paths under the server root', () => {
    expect(isOpenablePath('out/nb.ipynb')).toBe(true);
    expect(isOpenablePath('../nb.ipynb')).toBe(false);
    expect(isOpenablePath('/etc/passwd')).toBe(false);
    expect(isOpenablePath('file:///x')).toBe(false);
    expect(isOpenablePath(undefined)).toBe(false);
  });
});
