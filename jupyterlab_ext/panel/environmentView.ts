/**
 * The environment view: recorded vs current kernel environment, differences first, with the
 * commands that bring the recorded versions back (copied to the clipboard) and the recorded
 * environment as a requirements file (downloaded).
 *
 * The recorded side is the saved file's, as the server read it (`status.recorded_environment`):
 * the server merges the recording into the file on save, which the browser's model never sees.
 * The model's is used only when the server sent none (an older server).
 */

import { environmentRows, fixCommands } from '../model/environment';
import { IEnvironment, IServerStatus } from '../tokens';
import { button, h } from './dom';

/** Copy text to the clipboard; resolves with whether it worked. */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Offer `text` as a file download named `name`. */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The buttons under the table: copy the fix commands, export the requirements. */
function renderTools(status: IServerStatus | undefined, notebookPath: string): HTMLElement | null {
  const commands = fixCommands(status?.drift ?? []);
  const requirements = status?.requirements;
  if (commands.length === 0 && requirements === undefined) {
    return null;
  }
  const feedback = h('span', { class: 'nbrepro-help nbrepro-copy-feedback', role: 'status' });
  const tools = h('div', { class: 'nbrepro-env-tools' });
  if (commands.length > 0) {
    tools.append(
      h(
        'pre',
        {
          class: 'nbrepro-fix-commands',
          'aria-label': 'Commands that restore the recorded versions'
        },
        commands.join('\n')
      ),
      button(
        'Copy fix commands',
        () =>
          void copyText(commands.join('\n') + '\n').then(ok => {
            feedback.textContent = ok
              ? 'Copied.'
              : 'The browser refused the clipboard: select the commands above and copy them.';
          }),
        {
          class: 'jp-Button nbrepro-button nbrepro-copy-fix',
          title: 'Copy the commands that install the recorded versions'
        }
      )
    );
  }
  if (requirements !== undefined) {
    const stem = (notebookPath.split('/').pop() ?? 'notebook').replace(/\.ipynb$/, '');
    tools.append(
      button('Export requirements', () => download(`${stem}-requirements.txt`, requirements), {
        class: 'jp-Button nbrepro-button nbrepro-export-requirements',
        title:
          'Download the recorded environment as a pinned requirements file (nbrepro env export)'
      })
    );
  }
  tools.append(feedback);
  return tools;
}

/**
 * Render the environment table (collapsed unless something differs). `recorded`: the browser
 * model's recorded environment, used only when the server's status has none to say.
 */
export function renderEnvironment(
  modelRecorded: IEnvironment | undefined,
  status: IServerStatus | undefined,
  notebookPath = ''
): HTMLElement {
  const recorded =
    status?.recordedEnvironment !== undefined
      ? (status.recordedEnvironment ?? undefined)
      : modelRecorded;
  const compared = status?.environmentCompared === true;
  const rows = environmentRows(recorded, compared ? status?.drift : undefined);
  const differences = rows.filter(r => r.differs).length;
  const details = h('details', { class: 'nbrepro-environment' });
  if (differences > 0) {
    details.open = true;
  }
  details.append(
    h(
      'summary',
      {},
      'Environment',
      h(
        'span',
        { class: 'nbrepro-count' },
        differences > 0
          ? `${differences} differ`
          : rows.length === 0
            ? 'not recorded'
            : compared
              ? 'same'
              : 'not compared'
      )
    )
  );
  if (rows.length > 0 && !compared && status?.environmentUnavailable) {
    details.append(
      h(
        'p',
        { class: 'nbrepro-empty' },
        `Not compared with the kernel's environment: ${status.environmentUnavailable}`
      )
    );
  }
  if (rows.length === 0) {
    details.append(
      h(
        'p',
        { class: 'nbrepro-empty' },
        'No environment recorded yet: it is recorded when the notebook runs with the nbrepro server extension and is saved.'
      )
    );
    return details;
  }
  const body = h('tbody');
  for (const row of rows) {
    body.append(
      h(
        'tr',
        { class: row.differs ? 'nbrepro-differs' : undefined },
        h('th', { scope: 'row', title: row.name }, row.name),
        h('td', { 'data-label': 'Recorded' }, row.recorded ?? '—'),
        h('td', { 'data-label': 'Now' }, row.current ?? '—')
      )
    );
  }
  details.append(
    h(
      'table',
      { class: 'nbrepro-env-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Name'),
          h('th', { scope: 'col' }, 'Recorded'),
          h('th', { scope: 'col' }, 'Now')
        )
      ),
      body
    )
  );
  const tools = renderTools(status, notebookPath);
  if (tools !== null) {
    details.append(tools);
  }
  return details;
}
