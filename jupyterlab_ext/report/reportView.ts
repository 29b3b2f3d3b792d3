/**
 * The verification report in the main area: per differing cell, its stored and new outputs side
 * by side, rendered — texts with their changed lines and words coloured, images side by side
 * with a third picture of the changed pixels, HTML (and other rich outputs) through JupyterLab's
 * rendermime, untrusted (so sanitized) — and the cause, evidence and remedy the server
 * diagnosed. Nothing is judged here: which cells differ and why is the job's result.
 */

import { MainAreaWidget } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { button, h } from '../panel/dom';
import { renderCause } from '../panel/verifyView';
import {
  diffLines,
  IDiffLine,
  IOutputView,
  IPixels,
  IReportCell,
  IVerificationReport,
  pixelDiff
} from '../model/report';

/** What the report needs from its host. */
export interface IReportViewOptions {
  /** Renders rich outputs (the notebook's registry). */
  rendermime: IRenderMimeRegistry;
  /** Show a cell of the verified notebook. */
  jump: (cellId: string) => void;
}

const STATUS_TEXT: Record<string, string> = {
  mismatch: 'output differs',
  nondeterministic: 'output changes from run to run',
  error: 'raised an error',
  timeout: 'timed out',
  'kernel-died': 'the kernel died'
};

const OUTCOME_TEXT: Record<string, string> = {
  reproduced: 'Reproduced',
  'not-reproduced': 'Not reproduced',
  'could-not-run': 'Could not run'
};

/** How the panel names a cell (its 1-based position, as the verification view does). */
function cellLabel(index: number): string {
  return `Cell ${index + 1}`;
}

/** A mime model of an output that is never trusted: HTML goes through the sanitizer. */
function untrusted(data: Record<string, unknown>): IRenderMime.IMimeModel {
  return {
    trusted: false,
    data: data as IRenderMime.IMimeModel['data'],
    metadata: {},
    setData: () => undefined
  };
}

/** One side's lines of a text diff, the changed ones and their changed words marked. */
function diffPre(lines: IDiffLine[], side: 'removed' | 'added', label: string): HTMLElement {
  const pre = h('pre', { class: 'nbrepro-report-text', 'aria-label': label });
  for (const line of lines) {
    if (line.op !== 'same' && line.op !== side) {
      continue;
    }
    const row = h('span', {
      class: `nbrepro-report-line nbrepro-report-line-${line.op}`,
      'data-op': line.op
    });
    for (const part of line.parts) {
      row.append(
        part.op === 'same' || line.op === 'same'
          ? part.text
          : h(side === 'removed' ? 'del' : 'ins', { class: 'nbrepro-report-word' }, part.text)
      );
    }
    pre.append(row, '\n');
  }
  return pre;
}

/** Small images are shown enlarged (whole multiples, pixels kept sharp) to this width. */
const SHOWN_WIDTH = 160;

/** Show `node`, an image `width` pixels wide, at a whole multiple of its size up to SHOWN_WIDTH. */
function enlarge(node: HTMLElement, width: number): void {
  const scale = Math.floor(SHOWN_WIDTH / Math.max(width, 1));
  if (scale > 1) {
    node.style.width = `${width * scale}px`;
  }
}

/** The pixels of a base64 PNG. */
async function pixelsOf(base64: string): Promise<IPixels> {
  const img = new Image();
  img.src = `data:image/png;base64,${base64}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  if (context === null) {
    throw new Error('no 2D canvas');
  }
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height);
  return { width: data.width, height: data.height, data: data.data };
}

/**
 * The changed pixels of two PNGs: the new image faded, the changed pixels drawn over it in a
 * vivid colour, and how many there are.
 */
async function renderPixelDiff(stored: string, fresh: string): Promise<HTMLElement> {
  const [a, b] = await Promise.all([pixelsOf(stored), pixelsOf(fresh)]);
  const diff = pixelDiff(a, b);
  const canvas = h('canvas', {
    class: 'nbrepro-report-mask',
    'aria-label': 'Changed pixels',
    'data-changed': String(diff.changed)
  });
  canvas.width = diff.width;
  canvas.height = diff.height;
  enlarge(canvas, diff.width);
  const context = canvas.getContext('2d');
  if (context !== null) {
    const faded = new ImageData(diff.width, diff.height);
    for (let y = 0; y < b.height; y++) {
      for (let x = 0; x < b.width; x++) {
        const from = (y * b.width + x) * 4;
        const to = (y * diff.width + x) * 4;
        faded.data.set(b.data.subarray(from, from + 3), to);
        faded.data[to + 3] = Math.round(b.data[from + 3] * 0.25);
      }
    }
    context.putImageData(faded, 0, 0);
    const overlay = document.createElement('canvas');
    overlay.width = diff.width;
    overlay.height = diff.height;
    overlay.getContext('2d')?.putImageData(new ImageData(diff.mask, diff.width), 0, 0);
    context.drawImage(overlay, 0, 0);
  }
  const total = diff.width * diff.height;
  const share = total > 0 ? (100 * diff.changed) / total : 0;
  return h(
    'figure',
    { class: 'nbrepro-report-pixels' },
    canvas,
    h(
      'figcaption',
      {},
      `Changed pixels: ${diff.changed} of ${total} (${share < 0.1 && share > 0 ? '<0.1' : share.toFixed(1)}%)` +
        (diff.resized ? `; sizes ${a.width}×${a.height} → ${b.width}×${b.height}` : '')
    )
  );
}

/** The report's widget (the content of the main-area tab). */
export class ReportContent extends Widget {
  constructor(
    readonly report: IVerificationReport,
    private readonly _options: IReportViewOptions
  ) {
    super();
    this.addClass('nbrepro-report');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Verification report');
    this.node.tabIndex = -1;
    this.ready = this._render();
  }

  /** Resolves once every output (images decoded, rich outputs rendered) is in place. */
  readonly ready: Promise<void>;

  dispose(): void {
    for (const renderer of this._renderers) {
      renderer.dispose();
    }
    this._renderers.length = 0;
    super.dispose();
  }

  private async _render(): Promise<void> {
    const report = this.report;
    const outcome = OUTCOME_TEXT[report.outcome ?? ''] ?? report.outcome ?? 'Finished';
    this.node.append(
      h(
        'header',
        { class: 'nbrepro-report-header' },
        h('h2', {}, `Verification of ${report.path}`),
        h(
          'p',
          { class: `nbrepro-report-outcome nbrepro-outcome-${report.outcome ?? 'unknown'}` },
          `${outcome}.`,
          report.reason ? ` ${report.reason}` : null
        ),
        report.diagnosis ? h('p', { class: 'nbrepro-help' }, report.diagnosis) : null,
        h(
          'p',
          { class: 'nbrepro-help' },
          'Left: the outputs stored in the saved notebook. Right: the outputs of a fresh run on the server.'
        )
      )
    );
    if (report.cells.length === 0) {
      this.node.append(
        h('p', { class: 'nbrepro-empty' }, 'Every compared output came back the same.')
      );
      return;
    }
    const pending: Promise<void>[] = [];
    for (const cell of report.cells) {
      this.node.append(this._renderCell(cell, pending));
    }
    await Promise.all(pending);
  }

  private _renderCell(cell: IReportCell, pending: Promise<void>[]): HTMLElement {
    const verdict = cell.verdict;
    const section = h(
      'section',
      {
        class: 'nbrepro-report-cell',
        'data-cell-id': cell.id,
        'data-status': cell.status,
        'aria-label': cellLabel(cell.index)
      },
      h(
        'div',
        { class: 'nbrepro-report-cell-head' },
        h('h3', {}, cellLabel(cell.index)),
        h(
          'span',
          { class: 'nbrepro-report-status' },
          verdict?.summary || STATUS_TEXT[cell.status] || cell.status
        ),
        button('Go to cell', () => this._options.jump(cell.id), {
          class: 'jp-Button nbrepro-button nbrepro-report-jump',
          'aria-label': `Go to ${cellLabel(cell.index).toLowerCase()} in the notebook`
        })
      )
    );
    const cause = verdict !== undefined ? renderCause(verdict) : null;
    if (cause !== null) {
      section.append(cause);
    }
    if (cell.truncated) {
      section.append(
        h('p', { class: 'nbrepro-help' }, 'The outputs are too large to show here (over 2 MB).')
      );
    }
    const stored = h(
      'div',
      { class: 'nbrepro-report-side', 'data-side': 'stored' },
      h('h4', {}, 'Stored')
    );
    const fresh = h(
      'div',
      { class: 'nbrepro-report-side', 'data-side': 'new' },
      h('h4', {}, 'New')
    );
    const sides = h('div', { class: 'nbrepro-report-sides' }, stored, fresh);
    section.append(sides);
    let changed: HTMLElement | undefined;
    if (cell.stored === null) {
      stored.append(h('p', { class: 'nbrepro-empty' }, 'The saved notebook has no such cell.'));
    }
    if (cell.new === null) {
      fresh.append(h('p', { class: 'nbrepro-empty' }, 'The fresh run has no such cell.'));
    }
    const before = cell.stored ?? [];
    const after = cell.new ?? [];
    if (cell.stored !== null && before.length === 0) {
      stored.append(h('p', { class: 'nbrepro-empty' }, 'No output.'));
    }
    if (cell.new !== null && after.length === 0) {
      fresh.append(h('p', { class: 'nbrepro-empty' }, 'No output.'));
    }
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const a = before[i];
      const b = after[i];
      if (a?.kind === 'text' && b?.kind === 'text') {
        const lines = diffLines(a.value, b.value);
        stored.append(diffPre(lines, 'removed', 'Stored output'));
        fresh.append(diffPre(lines, 'added', 'New output'));
        continue;
      }
      if (a !== undefined) {
        pending.push(this._renderOutput(a, stored));
      }
      if (b !== undefined) {
        pending.push(this._renderOutput(b, fresh));
      }
      if (a?.kind === 'image' && b?.kind === 'image') {
        if (changed === undefined) {
          changed = h(
            'div',
            { class: 'nbrepro-report-side', 'data-side': 'changed' },
            h('h4', {}, 'Changed pixels')
          );
          sides.append(changed);
        }
        const slot = h('div', { class: 'nbrepro-report-pixel-slot' });
        changed.append(slot);
        pending.push(
          renderPixelDiff(a.value, b.value)
            .then(figure => slot.replaceChildren(figure))
            .catch(reason =>
              slot.replaceChildren(
                h('p', { class: 'nbrepro-help' }, `The images could not be compared: ${reason}`)
              )
            )
        );
      }
    }
    return section;
  }

  private async _renderOutput(output: IOutputView, into: HTMLElement): Promise<void> {
    const slot = h('div', { class: 'nbrepro-report-output', 'data-kind': output.kind });
    into.append(slot);
    if (output.kind === 'image') {
      const img = h('img', {
        src: `data:image/png;base64,${output.value}`,
        alt: into.dataset.side === 'stored' ? 'Stored image' : 'New image'
      });
      slot.append(img);
      await img.decode().catch(() => undefined);
      enlarge(img, img.naturalWidth);
      return;
    }
    const rendermime = this._options.rendermime;
    const mime = rendermime.preferredMimeType(
      output.data as IRenderMime.IMimeModel['data'],
      'ensure'
    );
    if (mime === undefined) {
      slot.append(h('pre', { class: 'nbrepro-report-text' }, output.value));
      return;
    }
    const renderer = rendermime.createRenderer(mime);
    this._renderers.push(renderer);
    await renderer.renderModel(untrusted(output.data));
    slot.append(renderer.node);
  }

  private readonly _renderers: IRenderMime.IRenderer[] = [];
}

/** The report in a main-area tab. */
export function reportWidget(
  report: IVerificationReport,
  options: IReportViewOptions
): MainAreaWidget<ReportContent> {
  const content = new ReportContent(report, options);
  const widget = new MainAreaWidget({ content });
  widget.id = `nbrepro-report-${report.jobId}`;
  widget.addClass('nbrepro-report-widget');
  const name = report.path.split('/').pop() ?? report.path;
  widget.title.label = `Verification: ${name}`;
  widget.title.caption = `Verification report of ${report.path} (job ${report.jobId})`;
  widget.title.closable = true;
  return widget;
}
