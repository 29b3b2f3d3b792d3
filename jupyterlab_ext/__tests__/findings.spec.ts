/// <reference types="node" />
import { readFileSync } from 'fs';
import { join } from 'path';
import { createHash } from 'crypto';

import {
  affectedCellIds,
  computeReport,
  countFindings,
  findingKey,
  kindOfServerFinding
} from '../model/findings';
import { normalizeStatus } from '../model/status';
import { ICellState, INotebookState } from '../tokens';

function code(
  id: string,
  source: string,
  executionCount: number | null,
  extra: Partial<ICellState> = {}
): ICellState {
  return {
    id,
    type: 'code',
    source,
    executionCount,
    hasOutputs: executionCount !== null,
    pending: false,
    ...extra
  };
}

function nodeHash(source: string): string {
  return (
    'sha256:' + createHash('sha256').update(source.replace(/\r\n/g, '\n'), 'utf8').digest('hex')
  );
}

function notebook(cells: ICellState[], extra: Partial<INotebookState> = {}): INotebookState {
  return { path: 'nb.ipynb', cells, ...extra };
}

function kinds(
  state: INotebookState,
  status = normalizeStatus(state.path, {})
): Record<string, string[]> {
  const report = computeReport(state, status);
  return Object.fromEntries(report.groups.map(g => [g.kind, g.findings.map(f => f.cellId ?? '-')]));
}

describe('out-of-order execution', () => {
  it('flags a cell that ran before a cell above it', () => {
    const state = notebook([code('a', 'x = 1', 1), code('b', 'y = x', 3), code('c', 'z = y', 2)]);
    expect(kinds(state)['out-of-order']).toEqual(['c']);
    const finding = computeReport(state).groups[0].findings[0];
    expect(finding.message).toContain('[2]');
    expect(finding.message).toContain('[3]');
    expect(finding.fix).toMatch(/Restart/);
  });

  it('is silent for cells run top to bottom, with gaps and markdown between', () => {
    const state = notebook([
      code('a', 'x = 1', 2),
      { ...code('m', '# title', null), type: 'markdown' },
      code('b', 'y = x', 5),
      code('c', 'z = y', 9)
    ]);
    expect(kinds(state)['out-of-order']).toBeUndefined();
  });

  it('follows a move: the same counts in a new order', () => {
    const moved = notebook([code('b', 'y = x', 2), code('a', 'x = 1', 1)]);
    expect(kinds(moved)['out-of-order']).toEqual(['a']);
  });
});

describe('edited after run (stale)', () => {
  it('marks a cell edited since its execution in this session', () => {
    const state = notebook([
      code('a', 'x = 2', 1, { executedSource: 'x = 1' }),
      code('b', 'y = x', 2, { executedSource: 'y = x' })
    ]);
    expect(kinds(state).stale).toEqual(['a']);
  });

  it('treats \\r\\n and \\n as the same source', () => {
    const state = notebook([code('a', 'x = 1\ny = 2', 1, { executedSource: 'x = 1\r\ny = 2' })]);
    expect(kinds(state).stale).toBeUndefined();
  });

  it('is silent while the cell is running again', () => {
    const state = notebook([code('a', 'x = 2', 1, { executedSource: 'x = 1', pending: true })]);
    expect(kinds(state).stale).toBeUndefined();
  });

  it('uses recorded source hashes when the cell has not run in this session', () => {
    const recorded = {
      a: { execution_count: 1, source_hash: nodeHash('x = 1') },
      b: { execution_count: 2, source_hash: nodeHash('y = x') }
    };
    const state = notebook(
      [
        code('a', 'x = 42', 1, { sourceHash: nodeHash('x = 42') }),
        code('b', 'y = x', 2, { sourceHash: nodeHash('y = x') })
      ],
      { provenance: { cells: recorded } }
    );
    expect(kinds(state).stale).toEqual(['a']);
  });

  it('ignores a recorded hash of another execution of the cell', () => {
    const recorded = { a: { execution_count: 7, source_hash: nodeHash('x = 1') } };
    const state = notebook([code('a', 'x = 42', 1, { sourceHash: nodeHash('x = 42') })], {
      provenance: { cells: recorded }
    });
    expect(kinds(state).stale).toBeUndefined();
  });
});

describe('never-run cells', () => {
  it('flags code cells with source that never ran, above and below the last one that ran', () => {
    const state = notebook([
      code('a', 'x = 1', 1),
      code('b', 'y = 2', null),
      code('c', '', null),
      code('d', 'z = x', 2),
      code('e', 'w = 1', null)
    ]);
    expect(kinds(state)['never-run']).toEqual(['b', 'e']);
    const messages = computeReport(state).groups.find(g => g.kind === 'never-run')?.findings;
    expect(messages?.[0].message).toContain('cells below it have');
    expect(messages?.[1].message).toContain('Cell 5 has not run');
  });

  it('counts problems and notes apart', () => {
    const report = computeReport(
      notebook([code('a', 'x = 1', 1), code('b', 'y = 2', null)]),
      normalizeStatus('nb.ipynb', {
        drift: {
          environment: {
            packages: { changed: [{ name: 'numpy', recorded: '1.0', current: '2.0' }] }
          }
        }
      })
    );
    expect(countFindings(report.groups)).toEqual({ problems: 1, notes: 1 });
  });

  it('is silent when nothing has run and for queued cells', () => {
    expect(
      kinds(notebook([code('a', 'x = 1', null), code('b', 'y = 1', null)]))['never-run']
    ).toBeUndefined();
    const queued = notebook([code('a', 'x = 1', null, { pending: true }), code('b', 'y = 1', 1)]);
    expect(kinds(queued)['never-run']).toBeUndefined();
  });
});

describe('server findings', () => {
  const state = notebook([code('a', 'print(df)', 1), code('b', 'df = 1', 2)]);

  it('adds dataflow findings at the current index of their cell', () => {
    const status = normalizeStatus('nb.ipynb', {
      findings: [
        {
          rule: 'NBR201',
          name: 'defined-below',
          severity: 'error',
          cell_index: 0,
          cell_id: 'a',
          line: 1,
          column: 7,
          message: "'df' is used before the cell that defines it",
          fix: 'Move cell 2 above cell 1.'
        },
        {
          rule: 'NBR202',
          name: 'undefined-name',
          severity: 'error',
          cell_index: 5,
          cell_id: 'gone',
          line: 1,
          column: 1,
          message: "'model' is defined nowhere",
          fix: 'Define it.'
        },
        {
          rule: 'NBR203',
          name: 'used-after-del',
          severity: 'warning',
          cell_index: 1,
          cell_id: 'b',
          line: 1,
          column: 1,
          message: "'t' comes from a deleted cell",
          fix: 'Define it again.'
        }
      ]
    });
    const report = computeReport(state, status);
    const byKind = Object.fromEntries(report.groups.map(g => [g.kind, g.findings]));
    expect(byKind['use-before-def'][0]).toMatchObject({
      cellId: 'a',
      cellIndex: 0,
      rule: 'NBR201',
      origin: 'server'
    });
    // The finding about a deleted cell describes the saved file only: dropped.
    expect(byKind['hidden-state'].map(f => f.cellId)).toEqual(['b']);
    // The verdict is the server's (here: none sent, so the live findings alone), not re-decided
    // from the server's findings in the browser.
    expect(report.verdict).toMatchObject({ level: 'reproducible', source: 'live-only' });
    expect(report.byCell.get('a')?.[0].kind).toBe('use-before-def');
  });

  it('ignores the server view of kinds the frontend computes live', () => {
    const status = normalizeStatus('nb.ipynb', {
      findings: [
        {
          rule: 'NBR101',
          name: 'out-of-order',
          severity: 'warning',
          cell_index: 1,
          cell_id: 'b',
          line: null,
          column: null,
          message: 'old',
          fix: ''
        }
      ]
    });
    expect(kinds(state, status)['out-of-order']).toBeUndefined();
  });

  it('maps the rule ids of the static check to kinds', () => {
    expect(kindOfServerFinding({ name: 'out-of-order', rule: 'NBR101' })).toBe('out-of-order');
    expect(kindOfServerFinding({ name: 'never-executed', rule: 'NBR102' })).toBe('never-run');
    expect(kindOfServerFinding({ name: 'execution-gap', rule: 'NBR104' })).toBe('hidden-state');
    expect(kindOfServerFinding({ name: 'defined-below', rule: 'NBR201' })).toBe('use-before-def');
    expect(kindOfServerFinding({ name: 'undefined-name', rule: 'NBR202' })).toBe('hidden-state');
    expect(kindOfServerFinding({ name: 'stale-output', rule: 'NBR301' })).toBe('stale');
    expect(kindOfServerFinding({ name: 'something-else', rule: 'NBR999' })).toBeUndefined();
  });

  it('knows every rule of the static check', () => {
    const rules = readFileSync(join(__dirname, '../../docs/check.md'), 'utf-8').match(/NBR\d{3}/g);
    expect(rules).not.toBeNull();
    for (const rule of new Set(rules ?? [])) {
      expect(kindOfServerFinding({ name: '', rule })).toBeDefined();
    }
  });

  it('reports changed inputs with the cells that read them, and environment drift', () => {
    const status = normalizeStatus('nb.ipynb', {
      drift: {
        has_provenance: true,
        drift: true,
        environment: {
          drift: true,
          packages: {
            added: {},
            removed: { scipy: '1.0' },
            changed: [{ name: 'pandas', recorded: '2.1.0', current: '2.2.3' }]
          },
          python: [{ name: 'version', recorded: '3.11.7', current: '3.12.1' }],
          platform: [],
          env_vars: []
        },
        inputs: [
          {
            path: 'data/train.csv',
            status: 'changed',
            kind: 'file',
            cells: [
              { id: 'b', index: 1 },
              { id: 'a', index: 0 }
            ]
          },
          { path: 'data/same.csv', status: 'unchanged', kind: 'file', cells: [] },
          { path: 'gone.csv', status: 'missing', kind: 'file', cells: [] }
        ]
      }
    });
    const report = computeReport(state, status);
    const inputs = report.groups.find(g => g.kind === 'changed-input')!.findings;
    expect(inputs.map(f => f.cellId ?? '-')).toEqual(['a', '-']);
    expect(inputs[0].message).toContain('data/train.csv');
    expect(inputs[0].message).toContain('cells 1, 2');
    expect(inputs[1].message).toContain('missing');
    const drift = report.groups.find(g => g.kind === 'env-drift')!.findings.map(f => f.message);
    expect(drift).toEqual([
      'Python version was 3.11.7 when recorded, 3.12.1 now.',
      'pandas was 2.1.0 when recorded, 2.2.3 now.',
      'scipy 1.0 was recorded but is not installed now.'
    ]);
  });

  it('tells how to fix Python, platform and variable drift in their own words', () => {
    const status = normalizeStatus('nb.ipynb', {
      drift: {
        environment: {
          drift: true,
          packages: { added: {}, removed: {}, changed: [] },
          python: [{ name: 'version', recorded: '3.11.4', current: '3.11.7' }],
          platform: [{ name: 'release', recorded: '6.1.0', current: '6.8.0' }],
          env_vars: [
            { name: 'OMP_NUM_THREADS', recorded: '4', current: null },
            { name: 'TZ', recorded: null, current: 'UTC' }
          ]
        },
        inputs: []
      }
    });
    const drift = computeReport(state, status).groups.find(g => g.kind === 'env-drift')!.findings;
    expect(drift.map(f => f.message)).toEqual([
      'Python version was 3.11.4 when recorded, 3.11.7 now.',
      'platform release was 6.1.0 when recorded, 6.8.0 now.',
      'OMP_NUM_THREADS was set to "4" when recorded but is not set now.',
      'TZ is set to "UTC" now but was not set when recorded.'
    ]);
    for (const finding of drift) {
      expect(finding.fix).not.toContain('pip install');
      expect(finding.message).not.toContain('installed');
    }
    expect(drift[2].fix).toMatch(/^Set OMP_NUM_THREADS=4 /);
    expect(drift[3].fix).toMatch(/^Unset TZ /);
  });
});

describe('verdict', () => {
  it('says not run, reproducible, at risk, not reproducible', () => {
    expect(computeReport(notebook([code('a', 'x', null)])).verdict.level).toBe('not-run');
    expect(
      computeReport(notebook([code('a', 'x = 1', 1), code('b', 'y = x', 2)])).verdict.level
    ).toBe('reproducible');
    const risky = computeReport(notebook([code('a', 'x = 1', 2), code('b', 'y = x', 1)]));
    expect(risky.verdict.level).toBe('at-risk');
    expect(risky.verdict.summary).toMatch(/^1 problem in the notebook as it is now/);
  });

  it('changes its signature only when the visible content changes', () => {
    const one = computeReport(notebook([code('a', 'x = 1', 2), code('b', 'y = x', 1)]));
    const same = computeReport(notebook([code('a', 'x = 1 ', 2), code('b', 'y = x', 1)]));
    const other = computeReport(notebook([code('a', 'x = 1', 1), code('b', 'y = x', 2)]));
    expect(same.signature).toBe(one.signature);
    expect(other.signature).not.toBe(one.signature);
  });

  it('computes a 500-cell notebook quickly', () => {
    const cells = Array.from({ length: 500 }, (_, i) =>
      code(`c${i}`, `x${i} = ${i}`, 500 - i, { executedSource: `x${i} = ${i}` })
    );
    const start = performance.now();
    const report = computeReport(notebook(cells));
    const elapsed = performance.now() - start;
    expect(report.groups[0].findings).toHaveLength(499);
    expect(elapsed).toBeLessThan(200);
  });
});

describe('normalizeStatus', () => {
  it('tells an environment compared and found the same from one not compared', () => {
    const same = normalizeStatus('nb.ipynb', {
      drift: {
        environment: { packages: { added: {}, removed: {}, changed: [] } },
        inputs: []
      }
    });
    expect(same.environmentCompared).toBe(true);
    expect(same.drift).toEqual([]);
    const notCompared = normalizeStatus('nb.ipynb', {
      drift: {
        environment: null,
        environment_unavailable: "kernel 'gone' is not installed",
        inputs: []
      }
    });
    expect(notCompared.environmentCompared).toBe(false);
    expect(notCompared.environmentUnavailable).toBe("kernel 'gone' is not installed");
  });

  it('reads the server status document and tolerates missing parts', () => {
    const status = normalizeStatus('nb.ipynb', {
      path: 'dir/nb.ipynb',
      findings: null,
      drift: null,
      unavailable: ['static analysis unavailable: no module'],
      verdict: {
        level: 'warning',
        label: 'At risk',
        summary: 'x',
        reasons: [{ kind: 'out-of-order', severity: 'warning', text: 'x', cell_ids: [] }],
        verification: null
      }
    });
    expect(status).toMatchObject({
      path: 'dir/nb.ipynb',
      findings: [],
      changedInputs: [],
      drift: [],
      unavailable: ['static analysis unavailable: no module'],
      verdict: { level: 'warning', label: 'At risk', summary: 'x', verification: null },
      runs: false
    });
    expect(status.environmentCompared).toBe(false);
    expect(normalizeStatus('x', 'garbage').findings).toEqual([]);
    expect(normalizeStatus('x', { capabilities: { runs: true } }).runs).toBe(true);
  });
});

describe('dependents', () => {
  const graph = { b: { a: ['x'] }, c: { b: ['y'] }, d: { z: ['w'] } };

  it('flags, live, the cells that read what an edited cell defines, through others too', () => {
    const state = notebook([
      code('a', 'x = 2', 1, { executedSource: 'x = 1' }),
      code('b', 'y = x', 2),
      code('c', 'print(y)', 3),
      code('z', 'w = 1', 4),
      code('d', 'w', 5)
    ]);
    const report = computeReport(state, normalizeStatus('nb.ipynb', { dependencies: graph }));
    const dependents = report.groups.find(g => g.kind === 'dependent')?.findings ?? [];
    expect(dependents.map(f => [f.cellId, f.dependsOn])).toEqual([
      ['b', 'a'],
      ['c', 'a']
    ]);
    expect(dependents[0].message).toBe('Cell 2 depends on cell 1, which changed (uses x).');
    expect(dependents[1].message).toBe(
      'Cell 3 depends on cell 1, which changed, through cell 2 (uses y).'
    );
    expect(affectedCellIds(report)).toEqual(['a', 'b', 'c']);
  });

  it('needs the graph and a changed cell; cells deleted since are left out', () => {
    const clean = notebook([code('a', 'x = 1', 1), code('b', 'y = x', 2)]);
    expect(kinds(clean, normalizeStatus('nb.ipynb', { dependencies: graph })).dependent).toBe(
      undefined
    );
    const edited = notebook([code('a', 'x = 2', 1, { executedSource: 'x = 1' })]);
    expect(kinds(edited, normalizeStatus('nb.ipynb', { dependencies: graph })).dependent).toBe(
      undefined
    );
    expect(kinds(edited).dependent).toBeUndefined();
  });

  it('marks dismissed findings, which are neither counted nor marked on the cell', () => {
    const state = notebook([code('a', 'x = 1', 1), code('b', 'y = 2', null)]);
    const key = findingKey({ kind: 'never-run', cellId: 'b', message: '' });
    const report = computeReport({ ...state, dismissed: [key] });
    expect(report.groups[0].findings[0].dismissed).toBe(true);
    expect(countFindings(report.groups)).toEqual({ problems: 0, notes: 0 });
    expect(report.byCell.get('b')).toBeUndefined();
    expect(report.signature).not.toBe(computeReport(state).signature);
  });
});
