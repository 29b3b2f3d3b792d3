/**
 * Normalising the server's `GET /nbrepro/api/status` answer into `IServerStatus`.
 * Tolerant: a missing or unknown part gives an empty list, never an exception.
 */

import {
  IChangedInput,
  IEnvironment,
  IPackageDrift,
  IServerFinding,
  IServerStatus,
  IServerVerdict,
  IVerdictReason,
  IVerificationFact,
  ServerLevel,
  Severity
} from '../tokens';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function asNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function asSeverity(value: unknown): Severity {
  return value === 'error' || value === 'info' ? value : 'warning';
}

/** One finding of the static check (`Finding.to_dict()`). */
export function normalizeFinding(raw: unknown): IServerFinding | undefined {
  if (!isObject(raw) || typeof raw.message !== 'string') {
    return undefined;
  }
  return {
    rule: String(raw.rule ?? ''),
    name: String(raw.name ?? ''),
    severity: asSeverity(raw.severity),
    cell_index: asNumber(raw.cell_index),
    cell_id: asString(raw.cell_id),
    line: asNumber(raw.line),
    column: asNumber(raw.column),
    message: raw.message,
    fix: String(raw.fix ?? '')
  };
}

/** Changed and missing inputs of a `DriftReport.to_dict()`. */
export function changedInputsOf(drift: unknown): IChangedInput[] {
  if (!isObject(drift) || !Array.isArray(drift.inputs)) {
    return [];
  }
  const result: IChangedInput[] = [];
  for (const item of drift.inputs) {
    if (!isObject(item) || (item.status !== 'changed' && item.status !== 'missing')) {
      continue;
    }
    const cells = Array.isArray(item.cells) ? item.cells : [];
    result.push({
      path: String(item.path),
      change: String(item.status),
      cellIds: cells
        .map(cell => (isObject(cell) ? asString(cell.id) : asString(cell)))
        .filter((id): id is string => id !== null)
    });
  }
  return result;
}

function changeList(raw: unknown, prefix: string, kind: IPackageDrift['kind']): IPackageDrift[] {
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw.filter(isObject).map(change => ({
    name: prefix + String(change.name),
    recorded: asString(change.recorded),
    current: asString(change.current),
    kind
  }));
}

/** Environment differences of an `EnvDiff.to_dict()`: Python and platform first, then packages. */
export function environmentDriftOf(environment: unknown): IPackageDrift[] {
  if (!isObject(environment)) {
    return [];
  }
  const packages = isObject(environment.packages) ? environment.packages : {};
  const added = isObject(packages.added) ? packages.added : {};
  const removed = isObject(packages.removed) ? packages.removed : {};
  return [
    ...changeList(environment.python, 'Python ', 'python'),
    ...changeList(environment.platform, 'platform ', 'platform'),
    ...changeList(packages.changed, '', 'package'),
    ...Object.entries(removed).map(([name, version]) => ({
      name,
      recorded: asString(version),
      current: null,
      kind: 'package' as const
    })),
    ...Object.entries(added).map(([name, version]) => ({
      name,
      recorded: null,
      current: asString(version),
      kind: 'package' as const
    })),
    ...changeList(environment.env_vars, '$', 'env-var')
  ];
}

function findFindings(raw: Json): unknown[] {
  if (Array.isArray(raw.findings)) {
    return raw.findings;
  }
  for (const key of ['check', 'analysis', 'static']) {
    const part = raw[key];
    if (isObject(part) && Array.isArray(part.findings)) {
      return part.findings;
    }
    if (Array.isArray(part)) {
      return part;
    }
  }
  return [];
}

function stringList(raw: unknown): string[] {
  return Array.isArray(raw)
    ? raw.filter(item => typeof item === 'string' || typeof item === 'number').map(String)
    : [];
}

/** One reason of the server's verdict; `undefined` when it has no text. */
export function normalizeReason(raw: unknown): IVerdictReason | undefined {
  if (!isObject(raw) || typeof raw.text !== 'string' || raw.text.length === 0) {
    return undefined;
  }
  return {
    kind: String(raw.kind ?? ''),
    severity: asSeverity(raw.severity),
    text: raw.text,
    cellIds: stringList(raw.cell_ids)
  };
}

/** The latest verification of the status verdict (`verification_fact`). */
export function normalizeVerification(raw: unknown): IVerificationFact | null {
  if (!isObject(raw) || typeof raw.status !== 'string') {
    return null;
  }
  return {
    jobId: asString(raw.job_id) ?? undefined,
    state: asString(raw.state) ?? undefined,
    finished: asString(raw.finished) ?? undefined,
    status: raw.status,
    summary: String(raw.summary ?? ''),
    diagnosis: String(raw.diagnosis ?? ''),
    failingCellIds: stringList(raw.failing_cell_ids),
    stale: raw.stale === true
  };
}

const LEVELS: readonly ServerLevel[] = ['ok', 'warning', 'error'];

/**
 * The server's verdict (`status_verdict`); `undefined` when the answer has none or one the
 * frontend cannot read (an unknown level), so that the panel falls back to the live findings.
 */
export function normalizeVerdict(raw: unknown): IServerVerdict | undefined {
  if (!isObject(raw) || !LEVELS.includes(raw.level as ServerLevel)) {
    return undefined;
  }
  const level = raw.level as ServerLevel;
  const fallback = { ok: 'Looks reproducible', warning: 'At risk', error: 'Not reproducible' };
  return {
    level,
    label: typeof raw.label === 'string' && raw.label.length > 0 ? raw.label : fallback[level],
    summary: typeof raw.summary === 'string' ? raw.summary : '',
    reasons: (Array.isArray(raw.reasons) ? raw.reasons : [])
      .map(normalizeReason)
      .filter((r): r is IVerdictReason => r !== undefined),
    verification: normalizeVerification(raw.verification)
  };
}

function runsAdvertised(raw: Json): boolean {
  const caps = raw.capabilities;
  if (isObject(caps)) {
    return caps.runs === true;
  }
  if (Array.isArray(caps)) {
    return caps.includes('runs');
  }
  return false;
}

/** The dataflow graph of `status.dependencies`; `undefined` when the server sent none. */
export function dependenciesOf(raw: unknown): Record<string, Record<string, string[]>> | undefined {
  if (!isObject(raw)) {
    return undefined;
  }
  const graph: Record<string, Record<string, string[]>> = {};
  for (const [reader, providers] of Object.entries(raw)) {
    if (!isObject(providers)) {
      continue;
    }
    const entry: Record<string, string[]> = {};
    for (const [provider, names] of Object.entries(providers)) {
      entry[provider] = stringList(names);
    }
    graph[reader] = entry;
  }
  return graph;
}

/** The status answer as the panel uses it. */
export function normalizeStatus(path: string, raw: unknown): IServerStatus {
  const body: Json = isObject(raw) ? raw : {};
  const drift = body.drift;
  const environment = isObject(drift) ? drift.environment : undefined;
  const current = body.environment ?? body.current_environment;
  return {
    path: typeof body.path === 'string' ? body.path : path,
    findings: findFindings(body)
      .map(normalizeFinding)
      .filter((f): f is IServerFinding => f !== undefined),
    changedInputs: changedInputsOf(drift),
    drift: environmentDriftOf(environment),
    environmentCompared: isObject(environment),
    environmentUnavailable:
      isObject(drift) && typeof drift.environment_unavailable === 'string'
        ? drift.environment_unavailable
        : undefined,
    currentEnvironment: isObject(current) ? (current as IEnvironment) : undefined,
    verdict: normalizeVerdict(body.verdict),
    unavailable: Array.isArray(body.unavailable) ? body.unavailable.map(String) : [],
    runs: runsAdvertised(body),
    dependencies: dependenciesOf(body.dependencies),
    copyOf: typeof body.copy_of === 'string' && body.copy_of.length > 0 ? body.copy_of : undefined,
    requirements:
      typeof body.requirements === 'string' && body.requirements.length > 0
        ? body.requirements
        : undefined,
    recordedEnvironment:
      body.recorded_environment === undefined
        ? undefined
        : isObject(body.recorded_environment)
          ? (body.recorded_environment as IEnvironment)
          : null,
    raw
  };
}
