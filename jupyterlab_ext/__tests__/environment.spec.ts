import { environmentRows, fixCommands } from '../model/environment';
import { environmentDriftOf, normalizeStatus } from '../model/status';

describe('environmentRows', () => {
  it('lists differences first, then the recorded values that still hold', () => {
    const recorded = {
      python: { version: '3.11.7', implementation: 'CPython' },
      platform: { system: 'Linux' },
      packages: { numpy: '1.26.4', pandas: '2.1.0', scipy: '1.0' }
    };
    const drift = environmentDriftOf({
      packages: {
        added: { polars: '1.0' },
        removed: { scipy: '1.0' },
        changed: [{ name: 'pandas', recorded: '2.1.0', current: '2.2.3' }]
      },
      python: [{ name: 'version', recorded: '3.11.7', current: '3.12.1' }],
      platform: [],
      env_vars: [{ name: 'PYTHONHASHSEED', recorded: '0', current: null }]
    });
    const rows = environmentRows(recorded, drift);
    expect(rows.map(r => [r.name, r.recorded, r.current, r.differs])).toEqual([
      ['$PYTHONHASHSEED', '0', null, true],
      ['pandas', '2.1.0', '2.2.3', true],
      ['polars', null, '1.0', true],
      ['Python version', '3.11.7', '3.12.1', true],
      ['scipy', '1.0', null, true],
      ['numpy', '1.26.4', '1.26.4', false],
      ['platform system', 'Linux', 'Linux', false],
      ['Python implementation', 'CPython', 'CPython', false]
    ]);
  });

  it('leaves the current values unknown when the server did not compare them', () => {
    const rows = environmentRows({ packages: { numpy: '1.26.4' } }, undefined);
    expect(rows.map(r => [r.name, r.recorded, r.current, r.differs])).toEqual([
      ['numpy', '1.26.4', null, false]
    ]);
  });

  it('is empty without a recording or drift', () => {
    expect(environmentRows(undefined, [])).toEqual([]);
  });
});

describe('fixCommands', () => {
  it('pins the recorded versions in one pip install and sets the recorded variables', () => {
    const drift = environmentDriftOf({
      packages: {
        added: { polars: '1.0' },
        removed: { scipy: '1.0' },
        changed: [{ name: 'pandas', recorded: '2.1.0', current: '3.0.0' }]
      },
      python: [{ name: 'version', recorded: '3.10.0', current: '3.11.7' }],
      env_vars: [
        { name: 'PYTHONHASHSEED', recorded: '0', current: null },
        { name: 'MODE', recorded: "it's on", current: 'off' },
        { name: 'EXTRA', recorded: null, current: '1' }
      ]
    });
    expect(fixCommands(drift)).toEqual([
      'pip install "pandas==2.1.0" "scipy==1.0"',
      'export PYTHONHASHSEED=0',
      "export MODE='it'\\''s on'",
      'unset EXTRA'
    ]);
    expect(fixCommands([])).toEqual([]);
  });
});

describe('the status parts of the environment view', () => {
  it('reads the recorded environment, requirements, graph and copy of the status', () => {
    const status = normalizeStatus('nb.ipynb', {
      recorded_environment: { packages: { numpy: '1.0' } },
      requirements: 'numpy==1.0\n',
      dependencies: { b: { a: ['x', 7] }, bad: 'no' },
      copy_of: 'sub/nb.ipynb'
    });
    expect(status.recordedEnvironment).toEqual({ packages: { numpy: '1.0' } });
    expect(status.requirements).toBe('numpy==1.0\n');
    expect(status.dependencies).toEqual({ b: { a: ['x', '7'] } });
    expect(status.copyOf).toBe('sub/nb.ipynb');
    const old = normalizeStatus('nb.ipynb', {});
    expect(old.recordedEnvironment).toBeUndefined();
    expect(old.dependencies).toBeUndefined();
    expect(normalizeStatus('nb.ipynb', { recorded_environment: null }).recordedEnvironment).toBe(
      null
    );
  });
});
