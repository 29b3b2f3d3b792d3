/** The version handshake between the frontend and the server extension. */

/** What the server offers (`capabilities` of `GET /nbrepro/api/version`). */
export interface ICapabilities {
  /** Verification jobs (`POST verify`). */
  verify: boolean;
  /** Experiment runs (`POST runs`, `runs/jobs/<job>`). */
  runs: boolean;
}

/** Answer of `GET /nbrepro/api/version`. */
export interface IVersionInfo {
  version: string;
  api: number;
  /** Absent from servers older than the capability flags. */
  capabilities?: Partial<ICapabilities>;
}

/**
 * The capabilities of a handshake: none without a fitting server; a server that does not
 * advertise them offers verification only (the API generation 1 always had it).
 */
export function capabilitiesOf(result: HandshakeResult | undefined): ICapabilities {
  if (result === undefined || !result.ok) {
    return { verify: false, runs: false };
  }
  const caps = result.server.capabilities;
  const advertised = typeof caps === 'object' && caps !== null;
  return {
    verify: advertised ? caps.verify !== false : true,
    runs: advertised && caps.runs === true
  };
}

/** The REST API generation this frontend speaks. */
export const API_VERSION = 1;

/** Outcome of comparing the server's answer with this frontend. */
export type HandshakeResult =
  { ok: true; server: IVersionInfo } | { ok: false; reason: string; server?: IVersionInfo };

/**
 * Decide whether the server extension fits this frontend. A missing server (`server` undefined)
 * or a different API generation is reported in words a user can act on.
 */
export function checkHandshake(
  frontendVersion: string,
  server: IVersionInfo | undefined,
  error?: string
): HandshakeResult {
  if (server === undefined) {
    return {
      ok: false,
      reason:
        'The nbrepro server extension is not running' +
        (error ? ` (${error})` : '') +
        '. Install nbrepro with pip in the environment that runs Jupyter (if it is installed,' +
        ' enable it: jupyter server extension enable nbrepro), then restart Jupyter.'
    };
  }
  if (server.api !== API_VERSION) {
    return {
      ok: false,
      server,
      reason: `The nbrepro server extension ${server.version} speaks API ${server.api}; this frontend (${frontendVersion}) needs API ${API_VERSION}. Reinstall nbrepro so both parts match.`
    };
  }
  return { ok: true, server };
}
