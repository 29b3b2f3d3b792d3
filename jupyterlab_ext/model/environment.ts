/**
 * The environment view's rows: the recorded kernel environment against the current one,
 * differences first. The current side is the recorded one with the server's drift applied.
 */

import { IEnvironment, IPackageDrift } from '../tokens';

/** One line of the environment table. */
export interface IEnvironmentRow {
  name: string;
  recorded: string | null;
  current: string | null;
  differs: boolean;
}

function recordedRows(env: IEnvironment | undefined): Map<string, string> {
  const rows = new Map<string, string>();
  if (env === undefined) {
    return rows;
  }
  if (env.python?.implementation !== undefined) {
    rows.set('Python implementation', env.python.implementation);
  }
  if (env.python?.version !== undefined) {
    rows.set('Python version', env.python.version);
  }
  for (const key of ['system', 'machine', 'release'] as const) {
    const value = env.platform?.[key];
    if (value !== undefined) {
      rows.set(`platform ${key}`, value);
    }
  }
  for (const [name, version] of Object.entries(env.packages ?? {})) {
    rows.set(name, String(version));
  }
  return rows;
}

/**
 * Rows for the environment view: every recorded value, with the current value where the server
 * reports a difference, plus what is only present now. Differences first, then by name.
 * Without the server's comparison (`drift` undefined) the current values are unknown (null).
 */
export function environmentRows(
  recorded: IEnvironment | undefined,
  drift: IPackageDrift[] | undefined
): IEnvironmentRow[] {
  const rows = new Map<string, IEnvironmentRow>();
  for (const [name, value] of recordedRows(recorded)) {
    rows.set(name, {
      name,
      recorded: value,
      current: drift === undefined ? null : value,
      differs: false
    });
  }
  for (const item of drift ?? []) {
    // Drift names match the row names: "Python version", "platform system", package names.
    const name = item.name;
    rows.set(name, {
      name,
      recorded: item.recorded ?? rows.get(name)?.recorded ?? null,
      current: item.current,
      differs: true
    });
  }
  return [...rows.values()].sort((a, b) =>
    a.differs === b.differs ? a.name.localeCompare(b.name) : a.differs ? -1 : 1
  );
}

/**
 * The shell commands that bring the current environment back to the recorded one, as far as
 * commands can: one `pip install` pinning every package whose version differs or that is
 * missing, and `export`/`unset` of the variables that differ. Python and the platform cannot be
 * changed by a command (their fix is another kernel): they are left out.
 */
export function fixCommands(drift: IPackageDrift[]): string[] {
  const pins = drift
    .filter(d => d.kind === 'package' && d.recorded !== null)
    .map(d => `"${d.name}==${d.recorded}"`);
  const commands = pins.length > 0 ? [`pip install ${pins.join(' ')}`] : [];
  for (const item of drift) {
    if (item.kind !== 'env-var') {
      continue;
    }
    const variable = item.name.replace(/^\$/, '');
    commands.push(
      item.recorded === null
        ? `unset ${variable}`
        : `export ${variable}=${shellQuote(item.recorded)}`
    );
  }
  return commands;
}

/** A POSIX shell single-quoted word. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}
