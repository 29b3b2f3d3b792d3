import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Error raised when the nbrepro server extension answers with an error or is missing. */
export class NbreproApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'NbreproApiError';
  }
}

/**
 * Call the nbrepro REST API (`/nbrepro/api/<endPoint>`) with the server's auth settings.
 * Resolves with the parsed JSON body; rejects with NbreproApiError on HTTP or network errors.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'nbrepro', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new NbreproApiError(`cannot reach the nbrepro server extension: ${error}`, 0);
  }
  const text = await response.text();
  let data: unknown = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const message =
      typeof data === 'object' && data !== null && 'message' in data
        ? String((data as { message: unknown }).message)
        : `HTTP ${response.status}`;
    throw new NbreproApiError(message, response.status);
  }
  return data as T;
}
