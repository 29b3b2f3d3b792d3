/**
 * The verification report's pure logic: pairing the stored and new outputs the server sends
 * (`GET verify/<job>/outputs`) with the job's per-cell verdicts (cause, evidence, remedy — the
 * server's, never re-decided here), a line and word diff of texts, and the mask of the pixels
 * that differ between two images.
 */

import { ICellVerifyResult, IVerifyJob } from '../tokens';
import { isObject, text } from './verify';

/** What one output shows, reduced to the part the report compares. */
export interface IOutputView {
  /** `image` (a PNG, base64), `html`, `text` (plain text, a stream, an error's traceback). */
  kind: 'image' | 'html' | 'text';
  /** The MIME type rendered (`image/png`, `text/html`, `text/plain`, ...). */
  mimeType: string;
  /** The base64 PNG, the HTML or the text. */
  value: string;
  /** The whole MIME bundle, for rendering through JupyterLab's rendermime. */
  data: Record<string, unknown>;
}

/** One differing cell of the report: the server's verdict and both sides' outputs. */
export interface IReportCell {
  index: number;
  id: string;
  /** The server's cell status (`mismatch`, `nondeterministic`, `error`, ...). */
  status: string;
  /** The panel's view of the cell's verdict (summary, cause, evidence, remedy). */
  verdict?: ICellVerifyResult;
  /** `null`: that notebook has no such cell. */
  stored: IOutputView[] | null;
  new: IOutputView[] | null;
  truncated: boolean;
}

/** The report of one verification job. */
export interface IVerificationReport {
  jobId: string;
  path: string;
  outcome?: string;
  reason?: string;
  diagnosis?: string;
  cells: IReportCell[];
}

/** A multi-line nbformat string (a string or a list of lines) as one string. */
export function joined(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map(String).join('');
  }
  return typeof value === 'string' ? value : '';
}

/** ANSI colour codes, as tracebacks carry them. */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** The part of one nbformat output the report compares, or `undefined` for none. */
export function outputView(raw: unknown): IOutputView | undefined {
  if (!isObject(raw)) {
    return undefined;
  }
  const type = raw.output_type;
  if (type === 'stream') {
    const value = joined(raw.text);
    return { kind: 'text', mimeType: 'text/plain', value, data: { 'text/plain': value } };
  }
  if (type === 'error') {
    const trace = Array.isArray(raw.traceback) ? raw.traceback.map(String).join('\n') : '';
    const value = (trace || `${raw.ename}: ${raw.evalue}`).replace(ANSI, '');
    return { kind: 'text', mimeType: 'text/plain', value, data: { 'text/plain': value } };
  }
  if (!isObject(raw.data)) {
    return undefined;
  }
  const data: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(raw.data)) {
    data[mime] = mime.endsWith('json') || mime.includes('+json') ? value : joined(value);
  }
  if (typeof data['image/png'] === 'string') {
    const value = (data['image/png'] as string).replace(/\s/g, '');
    return { kind: 'image', mimeType: 'image/png', value, data: { 'image/png': value } };
  }
  if (typeof data['text/html'] === 'string') {
    return { kind: 'html', mimeType: 'text/html', value: data['text/html'] as string, data };
  }
  if (typeof data['text/plain'] === 'string') {
    const value = data['text/plain'] as string;
    return { kind: 'text', mimeType: 'text/plain', value, data: { 'text/plain': value } };
  }
  return undefined;
}

function viewsOf(raw: unknown): IOutputView[] | null {
  if (!Array.isArray(raw)) {
    return null;
  }
  return raw.map(outputView).filter((v): v is IOutputView => v !== undefined);
}

/**
 * The report from the server's outputs answer and the job's result: one entry per cell the
 * server found differing, in notebook order, each with the job's verdict of that cell.
 */
export function buildReport(job: IVerifyJob, outputs: unknown, path: string): IVerificationReport {
  const answer = isObject(outputs) ? outputs : {};
  const verdicts = new Map<string, ICellVerifyResult>();
  for (const cell of job.cells) {
    if (cell.id !== undefined) {
      verdicts.set(cell.id, cell);
    }
  }
  const cells: IReportCell[] = (Array.isArray(answer.cells) ? answer.cells : [])
    .filter(isObject)
    .filter(cell => typeof cell.index === 'number' && typeof cell.id === 'string')
    .map(cell => ({
      index: cell.index as number,
      id: cell.id as string,
      status: text(cell.status) ?? 'mismatch',
      verdict: verdicts.get(cell.id as string),
      stored: viewsOf(cell.stored),
      new: viewsOf(cell.new),
      truncated: cell.truncated === true
    }))
    .sort((a, b) => a.index - b.index);
  return {
    jobId: job.id,
    path: text(answer.path) ?? path,
    outcome: job.outcome,
    reason: job.reason,
    diagnosis: job.diagnosis,
    cells
  };
}

/** A piece of a diff: kept, removed (only on the stored side) or added (only on the new). */
export interface IDiffPart {
  op: 'same' | 'removed' | 'added';
  text: string;
}

/** One line of a side-by-side diff, with its words marked where the line changed. */
export interface IDiffLine {
  op: 'same' | 'removed' | 'added';
  parts: IDiffPart[];
}

/** Longest-common-subsequence alignment of two token lists. */
function align(a: string[], b: string[]): IDiffPart[] {
  const n = a.length;
  const m = b.length;
  // Tokens beyond this many cells of the table are compared as one changed block.
  if (n * m > 4_000_000) {
    return [
      ...a.map(token => ({ op: 'removed' as const, text: token })),
      ...b.map(token => ({ op: 'added' as const, text: token }))
    ];
  }
  const table: Uint32Array[] = [];
  for (let i = 0; i <= n; i++) {
    table.push(new Uint32Array(m + 1));
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] =
        a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out: IDiffPart[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: 'same', text: a[i] });
      i++;
      j++;
    } else if (table[i + 1][j] >= table[i][j + 1]) {
      out.push({ op: 'removed', text: a[i] });
      i++;
    } else {
      out.push({ op: 'added', text: b[j] });
      j++;
    }
  }
  for (; i < n; i++) {
    out.push({ op: 'removed', text: a[i] });
  }
  for (; j < m; j++) {
    out.push({ op: 'added', text: b[j] });
  }
  return out;
}

/** Merge neighbouring parts of the same kind. */
function merged(parts: IDiffPart[]): IDiffPart[] {
  const out: IDiffPart[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (last !== undefined && last.op === part.op) {
      last.text += part.text;
    } else {
      out.push({ op: part.op, text: part.text });
    }
  }
  return out;
}

/**
 * Words, numbers (`0.91`, `1e-3` as one) and the spaces between them, so that joining the
 * tokens gives the text back.
 */
export function words(line: string): string[] {
  return line.match(/\s+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

/** A word diff of two lines. */
export function diffWords(a: string, b: string): IDiffPart[] {
  return merged(align(words(a), words(b)));
}

/**
 * A line diff of two texts; a removed line followed by an added one (a changed line) gets its
 * changed words marked on each side.
 */
export function diffLines(a: string, b: string): IDiffLine[] {
  const split = (s: string): string[] => (s.length === 0 ? [] : s.replace(/\n$/, '').split('\n'));
  const steps = align(split(a), split(b));
  const lines: IDiffLine[] = [];
  for (let k = 0; k < steps.length; k++) {
    const step = steps[k];
    if (step.op === 'same') {
      lines.push({ op: 'same', parts: [{ op: 'same', text: step.text }] });
      continue;
    }
    // A run of removed lines then a run of added ones: pair them up for the word diff.
    let end = k;
    while (end < steps.length && steps[end].op === 'removed') {
      end++;
    }
    let added = end;
    while (added < steps.length && steps[added].op === 'added') {
      added++;
    }
    const removedLines = steps.slice(k, end).map(s => s.text);
    const addedLines = steps.slice(end, added).map(s => s.text);
    const pairs = Math.min(removedLines.length, addedLines.length);
    for (let p = 0; p < removedLines.length; p++) {
      const parts =
        p < pairs
          ? diffWords(removedLines[p], addedLines[p]).filter(x => x.op !== 'added')
          : [{ op: 'removed' as const, text: removedLines[p] }];
      lines.push({ op: 'removed', parts });
    }
    for (let p = 0; p < addedLines.length; p++) {
      const parts =
        p < pairs
          ? diffWords(removedLines[p], addedLines[p]).filter(x => x.op !== 'removed')
          : [{ op: 'added' as const, text: addedLines[p] }];
      lines.push({ op: 'added', parts });
    }
    k = Math.max(k, added - 1);
  }
  return lines;
}

/** An image's pixels, as a canvas's `ImageData` holds them (RGBA, row by row). */
export interface IPixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** The changed pixels of two images: a mask (RGBA, changed pixels opaque) and their count. */
export interface IPixelDiff {
  width: number;
  height: number;
  mask: Uint8ClampedArray;
  changed: number;
  /** Whether the two images have different sizes (compared over the larger size). */
  resized: boolean;
}

/** The colour of changed pixels in the mask (RGBA). */
export const CHANGED_PIXEL: readonly number[] = [255, 0, 170, 255];

/**
 * Which pixels differ between `a` and `b` (a channel differing by more than `threshold` out of
 * 255); pixels outside one of the images differ. The mask is transparent where they agree.
 */
export function pixelDiff(a: IPixels, b: IPixels, threshold = 0): IPixelDiff {
  const width = Math.max(a.width, b.width);
  const height = Math.max(a.height, b.height);
  const mask = new Uint8ClampedArray(width * height * 4);
  let changed = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inA = x < a.width && y < a.height;
      const inB = x < b.width && y < b.height;
      let differs = inA !== inB;
      if (inA && inB) {
        const ia = (y * a.width + x) * 4;
        const ib = (y * b.width + x) * 4;
        for (let c = 0; c < 4 && !differs; c++) {
          differs = Math.abs(a.data[ia + c] - b.data[ib + c]) > threshold;
        }
      }
      if (differs) {
        changed++;
        mask.set(CHANGED_PIXEL, (y * width + x) * 4);
      }
    }
  }
  return {
    width,
    height,
    mask,
    changed,
    resized: a.width !== b.width || a.height !== b.height
  };
}
