import { environmentRows } from '../model/environment';
import { environmentDriftOf } from '../model/status';

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
