/**
 * Shared types of the nbrepro frontend: the notebook's live state, the server's answers
 * (request/response bodies of `/nbrepro/api/*`) and the findings the panel shows.
 */

/** The kinds of problem the panel groups findings by, in display order. */
export const FINDING_KINDS = [
  'use-before-def',
  'hidden-state',
  'out-of-order',
  'stale',
  'never-run',
  'changed-input',
  'dependent',
  'env-drift'
] as const;

/** One kind of reproducibility problem. */
export type FindingKind = (typeof FINDING_KINDS)[number];

/** How bad a finding is; also the scale of the verdict. */
export type Severity = 'error' | 'warning' | 'info';

/** A cell as the frontend sees it now. */
export interface ICellState {
  /** The cell's nbformat id. */
  id: string;
  type: 'code' | 'markdown' | 'raw';
  /** The current source. */
  source: string;
  /** The prompt number, `null` when the cell has not run (or its count was cleared). */
  executionCount: number | null;
  /** Whether the cell shows outputs. */
  hasOutputs: boolean;
  /** Whether an execution of the cell is scheduled or running. */
  pending: boolean;
  /**
   * The source the cell had when it was last executed in this browser session; `undefined` when
   * it has not run since the notebook was opened.
   */
  executedSource?: string;
  /** `sha256:<hex>` of the current source, when computed (needed only with provenance). */
  sourceHash?: string;
}

/** A cell's last recorded execution, from `metadata.nbrepro.cells[<cell id>]`. */
export interface IRecordedCell {
  execution_count?: number | null;
  source_hash?: string;
  status?: string;
  inputs?: string[];
}

/** The recorded kernel environment (`metadata.nbrepro.environment`), loosely typed. */
export interface IEnvironment {
  python?: { version?: string; implementation?: string };
  platform?: { system?: string; release?: string; machine?: string };
  kernel?: { name?: string; language?: string; language_version?: string };
  packages?: Record<string, string>;
  [key: string]: unknown;
}

/** The provenance that travels in `metadata.nbrepro`, the parts the frontend reads. */
export interface IProvenance {
  schema_version?: number;
  cells?: Record<string, IRecordedCell>;
  environment?: IEnvironment;
  inputs?: Record<string, { hash?: string | null; size?: number; kind?: string }>;
}

/** The live state of one notebook, as handed to the model. */
export interface INotebookState {
  path: string;
  cells: ICellState[];
  provenance?: IProvenance;
  /** Keys (`findingKey`) of the findings dismissed in this notebook (`metadata.nbrepro_panel`). */
  dismissed?: string[];
}

/** A static finding from `nbrepro.analysis.Finding.to_dict()`, as the server sends it. */
export interface IServerFinding {
  rule: string;
  name: string;
  severity: Severity;
  cell_index: number | null;
  cell_id: string | null;
  line: number | null;
  column: number | null;
  message: string;
  fix: string;
}

/** An input file whose content changed since it was recorded. */
export interface IChangedInput {
  path: string;
  /** 'changed' | 'missing' | ... as the server says. */
  change: string;
  /** Ids of the cells that read the file. */
  cellIds: string[];
}

/** A package (or the Python / platform) that differs between recording and now. */
export interface IPackageDrift {
  name: string;
  recorded: string | null;
  current: string | null;
  /** What differs: a package, the Python interpreter, the platform or an environment variable. */
  kind: 'package' | 'python' | 'platform' | 'env-var';
}

/** The server's answer to `GET /nbrepro/api/status?path=`, normalised. */
export interface IServerStatus {
  path: string;
  findings: IServerFinding[];
  changedInputs: IChangedInput[];
  drift: IPackageDrift[];
  /** Whether the server compared the recorded environment with the kernel's (`drift` is empty
   * both when nothing differs and when nothing was compared). */
  environmentCompared: boolean;
  /** Why the environment was not compared, in the server's words (when it says). */
  environmentUnavailable?: string;
  /** The current kernel environment, when the server knows it. */
  currentEnvironment?: IEnvironment;
  /** The server's verdict (`status.verdict`), when it sent one the frontend can read. */
  verdict?: IServerVerdict;
  /** Parts of the status the server could not compute, in its words. */
  unavailable: string[];
  /** Whether the server offers experiment runs (`POST runs`). */
  runs: boolean;
  /**
   * The saved file's dataflow graph (`status.dependencies`): for each code cell id, the cells it
   * reads names from, with the names (`nbrepro.analysis.dependents`).
   */
  dependencies?: Record<string, Record<string, string[]>>;
  /** The environment recorded in the saved file (`status.recorded_environment`). */
  recordedEnvironment?: IEnvironment | null;
  /** The recorded environment as a pinned requirements file (`status.requirements`). */
  requirements?: string;
  /** For an executed copy a verification kept: the original notebook's path (`copy_of`). */
  copyOf?: string;
  /** The raw answer, for fields the frontend does not model. */
  raw: unknown;
}

/** Levels of the server's verdict, from best to worst. */
export type ServerLevel = 'ok' | 'warning' | 'error';

/** One reason of the server's verdict (`status_verdict` in `nbrepro/verify/verdict.py`). */
export interface IVerdictReason {
  /** What kind of fact: `execution-error`, `verification`, `changed-input`, a finding kind... */
  kind: string;
  severity: Severity;
  /** One line, in the server's words. */
  text: string;
  /** The cells it concerns (nbformat ids), possibly none. */
  cellIds: string[];
}

/** The latest finished verification of the notebook, as the status carries it. */
export interface IVerificationFact {
  jobId?: string;
  state?: string;
  finished?: string;
  /** 'reproduced', 'not-reproduced' or 'could-not-run'. */
  status: string;
  summary: string;
  /** The diagnosis in one line (empty when none). */
  diagnosis: string;
  failingCellIds: string[];
  /** Made before the notebook's code last changed: the server ignores it in its verdict. */
  stale: boolean;
}

/** The server's verdict of a notebook (`GET status` → `verdict`). */
export interface IServerVerdict {
  level: ServerLevel;
  /** 'Reproduced', 'Looks reproducible', 'At risk' or 'Not reproducible'. */
  label: string;
  summary: string;
  /** Worst first. */
  reasons: IVerdictReason[];
  verification: IVerificationFact | null;
}

/** One problem shown in the panel. */
export interface IFinding {
  kind: FindingKind;
  severity: Severity;
  /** Id and current index of the cell it concerns; absent for notebook-wide findings. */
  cellId?: string;
  cellIndex?: number;
  message: string;
  /** A one-line how-to-fix. */
  fix: string;
  /** The rule id when the finding came from the static check. */
  rule?: string;
  origin: 'live' | 'server';
  /** For a dependent: the id of the changed cell it depends on. */
  dependsOn?: string;
  /** Dismissed by the user (kept in the notebook's metadata): shown as such, not counted. */
  dismissed?: boolean;
}

/** Findings of one kind. */
export interface IFindingGroup {
  kind: FindingKind;
  title: string;
  findings: IFinding[];
}

/** The overall judgement shown at the top of the panel. */
export type VerdictLevel = 'not-run' | 'reproducible' | 'at-risk' | 'not-reproducible';

/** One reason shown under the verdict, with the cells it concerns as they are now. */
export interface IHeadlineReason {
  kind: string;
  severity: Severity;
  text: string;
  /** The cells it concerns that exist in the live notebook, in notebook order. */
  cells: { id: string; index: number }[];
  /** The server's verdict, or a live finding of the browser. */
  origin: 'server' | 'live';
}

/** The verdict with its one-line explanation. */
export interface IVerdict {
  level: VerdictLevel;
  label: string;
  summary: string;
  /**
   * Where the headline comes from: the server's verdict alone, the browser's live findings alone
   * (no server verdict yet), or the live findings because they are worse than the server's.
   */
  source: 'server' | 'live' | 'live-only';
  /** Why: the server's reasons (worst first), then the live ones. */
  reasons: IHeadlineReason[];
}

/** What the model computes for the panel, markers and status bar. */
export interface IReport {
  verdict: IVerdict;
  groups: IFindingGroup[];
  /** The findings per cell id, for the markers. */
  byCell: Map<string, IFinding[]>;
  /** A string that changes iff the report's visible content changes. */
  signature: string;
}

/** Outcome of re-executing one cell in a verification. */
export type CellVerifyStatus =
  | 'pending'
  | 'running'
  | 'executed'
  | 'reproduced'
  | 'differs'
  | 'nondeterministic'
  | 'failed'
  | 'skipped'
  | 'stopped'
  | 'not-started';

/** One cell's line in the verification view. */
export interface ICellVerifyResult {
  index: number;
  id?: string;
  status: CellVerifyStatus;
  /** The diff text when the outputs differ (or the error when it failed). */
  detail?: string;
  /** What happened, in one line (the report's `summary`). */
  summary?: string;
  /** The strongest cause's id (`nbrepro.diagnose.causes.CAUSES`) and its one line. */
  cause?: string;
  causeSummary?: string;
  /** The evidence of the strongest cause, one line each. */
  evidence: string[];
  /** What to do about it, when the server says. */
  remedy?: string;
}

/** State of a verification job. */
export type JobState = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';

/** The server's answer to `GET /nbrepro/api/verify/<job>`, normalised. */
export interface IVerifyJob {
  id: string;
  state: JobState;
  cells: ICellVerifyResult[];
  /** Total number of cells to run, when known. */
  total?: number;
  /** The overall outcome: 'reproduced', 'not-reproduced' or 'could-not-run'. */
  outcome?: string;
  /** The one-line reason of the outcome. */
  reason?: string;
  /** The diagnosis of the notebook in one line (why it did not reproduce). */
  diagnosis?: string;
  /** Path (relative to the server root) of the executed copy, if any. */
  executedPath?: string;
  /** Whether JupyterLab can open `executedPath` (false for files in hidden folders). */
  executedOpenable: boolean;
  /** An error message when the job failed. */
  error?: string;
}

/** Progress of one cell of a run job. */
export interface IRunCellProgress {
  index: number;
  id?: string;
  /** 'running', 'ok', 'error', 'timeout', 'kernel-died' or 'skipped'. */
  status: string;
}

/** The server's answer to `POST runs` and `GET /nbrepro/api/runs/jobs/<job>`, normalised. */
export interface IRunJob {
  id: string;
  /** 'finished' once the run is stored (whatever its verdict), 'failed' when it could not run. */
  state: JobState;
  cells: IRunCellProgress[];
  /** Code cells to run, when known. */
  total?: number;
  /** The run's name, if it was given one. */
  name?: string;
  /** The stored run's id, once finished. */
  runId?: string;
  /** 'succeeded' or 'failed' (a cell raised, timed out or killed the kernel). */
  verdict?: string;
  /** Why the run failed (the run's failure, or the server's message). */
  failure?: string;
  /** The run's scalar metrics (name → value). */
  metrics: Record<string, unknown>;
  /** Path (relative to the server root) of the run's executed notebook. */
  executedPath?: string;
  /** Whether JupyterLab can open `executedPath`. */
  executedOpenable: boolean;
  /** Absolute path of the run bundle on the server, for display. */
  bundle?: string;
  /** An error message when the job could not run or was cancelled. */
  error?: string;
}

/** The extension's settings (`schema/plugin.json`). */
export interface ISettings {
  markers: boolean;
  autoRefreshSeconds: number;
  verifyTimeoutSeconds: number;
  debounceMs: number;
  maxItemsPerGroup: number;
}

/** Defaults, kept equal to `schema/plugin.json`. */
export const DEFAULT_SETTINGS: ISettings = {
  markers: true,
  autoRefreshSeconds: 30,
  verifyTimeoutSeconds: 600,
  debounceMs: 150,
  maxItemsPerGroup: 50
};

/** One stored run of a notebook (`RunSummary.to_dict()` of `GET runs?path=`), normalised. */
export interface IRunSummary {
  runId: string;
  name?: string;
  /** ISO time the run started. */
  created?: string;
  duration?: number;
  /** 'succeeded', 'failed', ... as the server says. */
  verdict: string;
  configurationId?: string;
  parameters: Record<string, unknown>;
  /** Scalar metrics only. */
  metrics: Record<string, unknown>;
  /** The MLflow run id when the run was exported. */
  mlflowRunId?: string;
}

/** A named value on each side of a runs diff (`ValueChange.to_dict()`). */
export interface IRunValueChange {
  name: string;
  a: unknown;
  b: unknown;
  inA: boolean;
  inB: boolean;
}

/** What differs between two runs (`RunDiff.to_dict()` of `GET runs/<a>/diff/<b>`). */
export interface IRunDiff {
  a: string;
  b: string;
  sameConfiguration: boolean;
  notebookChanged: boolean;
  parameters: IRunValueChange[];
  inputs: IRunValueChange[];
  metrics: IRunValueChange[];
  /** Ids of the cells whose outputs differ. */
  cells: string[];
  verdicts: [string, string];
  /** The server's readable report (`RunDiff.render_text()`). */
  text: string;
}
