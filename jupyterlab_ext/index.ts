import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { requestAPI } from './handler';
import { checkHandshake, IVersionInfo } from './version';

/** The frontend's own version, kept equal to the Python package's by the build. */
export const FRONTEND_VERSION = '0.1.0';

/**
 * The nbrepro plugin: checks that the server extension answers and speaks the same API.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbrepro:plugin',
  description: 'Notebook reproducibility: provenance, stale-cell flags and verification.',
  autoStart: true,
  activate: async (app: JupyterFrontEnd): Promise<void> => {
    let server: IVersionInfo | undefined;
    let error: string | undefined;
    try {
      server = await requestAPI<IVersionInfo>('version');
    } catch (reason) {
      error = String(reason);
    }
    const result = checkHandshake(FRONTEND_VERSION, server, error);
    document.body.dataset.nbreproServer = result.ok ? result.server.version : 'missing';
    if (result.ok) {
      console.log(`nbrepro ${result.server.version} is active.`);
    } else {
      console.warn(`nbrepro: ${result.reason}`);
    }
  }
};

export default plugin;
