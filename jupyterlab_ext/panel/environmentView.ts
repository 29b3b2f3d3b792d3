/** The environment view: recorded vs current kernel environment, differences first. */

import { environmentRows } from '../model/environment';
import { IEnvironment, IServerStatus } from '../tokens';
import { h } from './dom';

/** Render the environment table (collapsed unless something differs). */
export function renderEnvironment(
  recorded: IEnvironment | undefined,
  status: IServerStatus | undefined
): HTMLElement {
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
        h('th', { scope: 'row' }, row.name),
        h('td', {}, row.recorded ?? '—'),
        h('td', {}, row.current ?? '—')
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
  return details;
}
