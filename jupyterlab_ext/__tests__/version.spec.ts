import { API_VERSION, capabilitiesOf, checkHandshake } from '../version';

describe('checkHandshake', () => {
  it('accepts a server that speaks the same API', () => {
    const result = checkHandshake('0.1.0', { version: '0.1.0', api: API_VERSION });
    expect(result.ok).toBe(true);
  });

  it('says plainly when the server extension is missing', () => {
    const result = checkHandshake('0.1.0', undefined, 'HTTP 404');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain('not running');
      expect(result.reason).toContain('HTTP 404');
      expect(result.reason).toContain('jupyter server extension enable nbrepro');
    }
  });

  it('refuses a server of another API generation', () => {
    const result = checkHandshake('0.1.0', { version: '9.0.0', api: API_VERSION + 1 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain('9.0.0');
    }
  });

  it('reads the advertised capabilities; an older server offers verification only', () => {
    const withRuns = checkHandshake('0.1.0', {
      version: '0.1.0',
      api: API_VERSION,
      capabilities: { verify: true, runs: true }
    });
    expect(capabilitiesOf(withRuns)).toEqual({ verify: true, runs: true });
    const older = checkHandshake('0.1.0', { version: '0.0.9', api: API_VERSION });
    expect(capabilitiesOf(older)).toEqual({ verify: true, runs: false });
    const noRuns = checkHandshake('0.1.0', {
      version: '0.1.0',
      api: API_VERSION,
      capabilities: { verify: true, runs: false }
    });
    expect(capabilitiesOf(noRuns).runs).toBe(false);
    expect(capabilitiesOf(checkHandshake('0.1.0', undefined))).toEqual({
      verify: false,
      runs: false
    });
    expect(capabilitiesOf(undefined).runs).toBe(false);
  });
});
