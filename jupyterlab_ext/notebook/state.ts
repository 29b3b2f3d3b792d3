/** Reading a live notebook's state for the model: cells as they are now, plus provenance. */

import { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookModel } from '@jupyterlab/notebook';

import { SourceHashCache } from '../model/hash';
import { ICellState, INotebookState, IProvenance } from '../tokens';

/** What the watcher knows about executions in this browser session. */
export interface IExecutionMemory {
  /** Source of each cell (by id) when its last execution was scheduled. */
  executedSource: Map<string, string>;
  /** Ids of cells whose execution is scheduled or running. */
  pending: Set<string>;
}

/** The notebook's provenance (`metadata.nbrepro`), if it carries any. */
export function provenanceOf(model: INotebookModel): IProvenance | undefined {
  const value = model.getMetadata('nbrepro');
  return typeof value === 'object' && value !== null ? (value as IProvenance) : undefined;
}

/**
 * The live state of every cell. `hashes` supplies known source hashes; the sources whose hash
 * is needed (a recorded hash to compare with) but not known yet are added to `missing`.
 */
export function readNotebookState(
  path: string,
  model: INotebookModel,
  memory: IExecutionMemory,
  hashes: SourceHashCache,
  missing: Set<string>
): INotebookState {
  const provenance = provenanceOf(model);
  const recorded = provenance?.cells ?? {};
  const cells: ICellState[] = [];
  const list = model.cells;
  for (let i = 0; i < list.length; i++) {
    const cell = list.get(i);
    const source = cell.sharedModel.getSource();
    if (cell.type !== 'code') {
      cells.push({
        id: cell.id,
        type: cell.type === 'markdown' ? 'markdown' : 'raw',
        source,
        executionCount: null,
        hasOutputs: false,
        pending: false
      });
      continue;
    }
    const code = cell as ICodeCellModel;
    const state: ICellState = {
      id: cell.id,
      type: 'code',
      source,
      executionCount: code.executionCount ?? null,
      hasOutputs: code.outputs.length > 0,
      pending: memory.pending.has(cell.id) || code.executionState === 'running',
      executedSource: memory.executedSource.get(cell.id)
    };
    if (state.executedSource === undefined && recorded[cell.id]?.source_hash !== undefined) {
      state.sourceHash = hashes.get(source);
      if (state.sourceHash === undefined) {
        missing.add(source);
      }
    }
    cells.push(state);
  }
  return { path, cells, provenance, dismissed: dismissedOf(model) };
}

/** Metadata key of the panel's own per-notebook state (dismissed findings). */
export const PANEL_METADATA = 'nbrepro_panel';

/** Keys of the findings dismissed in this notebook. */
export function dismissedOf(model: INotebookModel): string[] {
  const value = model.getMetadata(PANEL_METADATA) as { dismissed?: unknown } | undefined;
  const list = typeof value === 'object' && value !== null ? value.dismissed : undefined;
  return Array.isArray(list) ? list.filter((k): k is string => typeof k === 'string') : [];
}

/** Dismiss (or restore) a finding: kept in the notebook's metadata, saved with it. */
export function setDismissed(model: INotebookModel, key: string, dismissed: boolean): void {
  const current = new Set(dismissedOf(model));
  if (dismissed) {
    current.add(key);
  } else {
    current.delete(key);
  }
  const previous = model.getMetadata(PANEL_METADATA);
  const base = typeof previous === 'object' && previous !== null ? previous : {};
  model.setMetadata(PANEL_METADATA, { ...base, dismissed: [...current].sort() });
}
