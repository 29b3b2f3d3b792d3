import { computeReport } from '../model/findings';
import { normalizeStatus, normalizeVerdict } from '../model/status';
import { headlineVerdict } from '../model/verdict';
import { ICellState, INotebookState } from '../tokens';

function code(id: string, source: string, executionCount: number | null): ICellState {
  return {
    id,
    type: 'code',
    source,
    executionCount,
    hasOutputs: executionCount !== null,
    pending: false
  };
}

function notebook(cells: ICellState[]): INotebookState {
  return { path: 'nb.ipynb', cells };
}

/** A status answer whose verdict is `status_verdict`'s (src/nbrepro/verify/verdict.py). */
function status(verdict: Record<string, unknown>): ReturnType<typeof normalizeStatus> {
  return normalizeStatus('nb.ipynb', { path: 'nb.ipynb', findings: [], drift: null, verdict });
}

const OK = {
  level: 'ok',
  label: 'Looks reproducible',
  summary: 'no problem found',
  reasons: [],
  verification: null
};

const NAME_ERROR = {
  level: 'error',
  label: 'Not reproducible',
  summary: '1 cell raised an error when last run in the current kernel session',
  reasons: [
    {
      kind: 'execution-error',
      severity: 'error',
      text: '1 cell raised an error when last run in the current kernel session',
      cell_ids: ['uses']
    }
  ],
  verification: null
};

const NOT_REPRODUCED = {
  level: 'error',
  label: 'Not reproducible',
  summary: 'the latest verification did not reproduce: 1 mismatch of 2 code cells',
  reasons: [
    {
      kind: 'verification',
      severity: 'error',
      text: 'the latest verification did not reproduce: 1 mismatch of 2 code cells',
      cell_ids: ['random', 'deleted-since']
    }
  ],
  verification: {
    job_id: 'j1',
    state: 'failed',
    finished: '2024-01-01T00:00:00Z',
    status: 'not-reproduced',
    summary: '1 mismatch of 2 code cells',
    diagnosis: 'not reproducible: cell 2 calls random.random() and no cell above seeds `random`',
    failing_cell_ids: ['random'],
    stale: false
  }
};

describe('the headline verdict: the server verdict combined with the live findings', () => {
  // Cell 2 raised a NameError in Restart & Run All; the cells ran in order.
  const ranAll = notebook([code('defines', 'x = 1', 1), code('uses', 'helper(x)', 2)]);

  it("says Not reproducible when the server's journal saw a cell raise (not At risk)", () => {
    const report = computeReport(ranAll, status(NAME_ERROR));
    expect(report.verdict).toMatchObject({
      level: 'not-reproducible',
      label: 'Not reproducible',
      source: 'server'
    });
    expect(report.verdict.summary).toBe(
      '1 cell raised an error when last run in the current kernel session.'
    );
    expect(report.verdict.reasons).toEqual([
      {
        kind: 'execution-error',
        severity: 'error',
        text: '1 cell raised an error when last run in the current kernel session.',
        cells: [{ id: 'uses', index: 1 }],
        origin: 'server'
      }
    ]);
  });

  it('keeps the worse level: a server error beats a live warning', () => {
    const outOfOrder = notebook([code('defines', 'x = 1', 3), code('uses', 'helper(x)', 2)]);
    const report = computeReport(outOfOrder, status(NAME_ERROR));
    expect(report.verdict.level).toBe('not-reproducible');
    expect(report.verdict.label).toBe('Not reproducible');
    // The server's reasons first, then the live ones, each with the cells to jump to.
    expect(report.verdict.reasons.map(r => [r.origin, r.kind, r.cells.map(c => c.id)])).toEqual([
      ['server', 'execution-error', ['uses']],
      ['live', 'out-of-order', ['uses']]
    ]);
  });

  it('follows a finished "Not reproduced" verification', () => {
    const state = notebook([code('same', '1 + 1', 1), code('random', 'random.random()', 2)]);
    expect(computeReport(state, status(OK)).verdict.label).toBe('Looks reproducible');
    const report = computeReport(state, status(NOT_REPRODUCED));
    expect(report.verdict).toMatchObject({ level: 'not-reproducible', label: 'Not reproducible' });
    expect(report.verdict.summary).toBe(
      'The latest verification did not reproduce: 1 mismatch of 2 code cells.'
    );
    // A cell deleted since the verification has nothing to jump to.
    expect(report.verdict.reasons[0].cells).toEqual([{ id: 'random', index: 1 }]);
    expect(report.signature).not.toBe(computeReport(state, status(OK)).signature);
  });

  it('says At risk when the live findings are worse than the server verdict', () => {
    const edited = notebook([
      { ...code('a', 'x = 2', 1), executedSource: 'x = 1' },
      code('b', 'y = x', 2)
    ]);
    const verdict = computeReport(edited, status({ ...OK, label: 'Reproduced' })).verdict;
    expect(verdict).toMatchObject({ level: 'at-risk', label: 'At risk', source: 'live' });
    expect(verdict.summary).toMatch(/^1 problem in the notebook as it is now/);
    expect(verdict.reasons).toEqual([
      {
        kind: 'stale',
        severity: 'warning',
        text: '1 cell edited after it ran (seen live)',
        cells: [{ id: 'a', index: 0 }],
        origin: 'live'
      }
    ]);
  });

  it('gives a tie to the server: its label and summary, which saw more', () => {
    const outOfOrder = notebook([code('a', 'x = 1', 2), code('b', 'y = x', 1)]);
    const warning = {
      level: 'warning',
      label: 'At risk',
      summary: 'cells ran out of order in the current kernel session (1 time)',
      reasons: [
        {
          kind: 'out-of-order',
          severity: 'warning',
          text: 'cells ran out of order in the current kernel session (1 time)',
          cell_ids: []
        }
      ],
      verification: null
    };
    const verdict = computeReport(outOfOrder, status(warning)).verdict;
    expect(verdict).toMatchObject({ level: 'at-risk', source: 'server' });
    expect(verdict.summary).toBe('Cells ran out of order in the current kernel session (1 time).');
  });

  it("shows the server's Reproduced when nothing live is wrong", () => {
    const state = notebook([code('a', 'x = 1', 1)]);
    const verdict = computeReport(state, status({ ...OK, label: 'Reproduced' })).verdict;
    expect(verdict).toMatchObject({ level: 'reproducible', label: 'Reproduced' });
  });

  it('uses the live findings alone, and says so, without a server verdict', () => {
    const outOfOrder = notebook([code('a', 'x = 1', 2), code('b', 'y = x', 1)]);
    const alone = computeReport(outOfOrder).verdict;
    expect(alone).toMatchObject({ level: 'at-risk', label: 'At risk', source: 'live-only' });
    expect(alone.summary).toMatch(/^1 problem in the notebook .*Browser checks only/);
    // An answer without a readable verdict (an older server) counts as none.
    const old = normalizeStatus('nb.ipynb', { verdict: { level: 'warning', reasons: ['x'] } });
    expect(old.verdict).toMatchObject({ level: 'warning', label: 'At risk', reasons: [] });
    expect(normalizeStatus('nb.ipynb', { verdict: 'warning' }).verdict).toBeUndefined();
    expect(
      computeReport(notebook([code('a', 'x = 1', 1)]), normalizeStatus('nb.ipynb', {})).verdict
        .source
    ).toBe('live-only');
  });

  it('says Not run yet when nothing ran and the server has nothing against it', () => {
    const fresh = notebook([code('a', 'x = 1', null)]);
    expect(computeReport(fresh, status(OK)).verdict.level).toBe('not-run');
    expect(computeReport(fresh, status(NAME_ERROR)).verdict.level).toBe('not-reproducible');
    expect(computeReport(fresh, status({ ...OK, label: 'Reproduced' })).verdict.label).toBe(
      'Reproduced'
    );
  });

  it('reads the verification of the verdict, tolerating garbage', () => {
    const verdict = normalizeVerdict(NOT_REPRODUCED);
    expect(verdict?.verification).toEqual({
      jobId: 'j1',
      state: 'failed',
      finished: '2024-01-01T00:00:00Z',
      status: 'not-reproduced',
      summary: '1 mismatch of 2 code cells',
      diagnosis: 'not reproducible: cell 2 calls random.random() and no cell above seeds `random`',
      failingCellIds: ['random'],
      stale: false
    });
    expect(normalizeVerdict({ level: 'bad' })).toBeUndefined();
    expect(normalizeVerdict({ ...OK, reasons: [null, { text: '' }, 3] })?.reasons).toEqual([]);
    expect(normalizeVerdict({ ...OK, verification: 'x' })?.verification).toBeNull();
    expect(headlineVerdict(notebook([]), [], normalizeVerdict(OK)).level).toBe('not-run');
  });
});
