import {
  buildReport,
  CHANGED_PIXEL,
  diffLines,
  diffWords,
  joined,
  outputView,
  pixelDiff,
  words
} from '../model/report';
import { normalizeJob } from '../model/verify';

/** A finished job whose second cell differs, diagnosed by the server. */
const JOB = normalizeJob('j1', {
  id: 'j1',
  state: 'failed',
  progress: { total: 2, cells: [] },
  result: {
    notebooks: [
      {
        status: 'not-reproduced',
        reason: '1 of 2 cells differ',
        diagnosis: 'unseeded randomness in cell 2',
        cells: [
          { index: 0, id: 'a', status: 'ok' },
          {
            index: 1,
            id: 'b',
            status: 'mismatch',
            summary: 'output differs',
            diff: '-3\n+2',
            cause: 'unseeded-random',
            cause_summary: 'random numbers without a seed',
            evidence: ['calls random.random()'],
            remedy: { message: 'seed it', code: 'random.seed(0)' }
          }
        ]
      }
    ]
  }
});

describe('outputs the report compares', () => {
  it('joins nbformat multi-line strings', () => {
    expect(joined(['a\n', 'b'])).toBe('a\nb');
    expect(joined('x')).toBe('x');
    expect(joined(3)).toBe('');
  });

  it('prefers an image, then HTML, then plain text', () => {
    const png = outputView({
      output_type: 'display_data',
      data: { 'image/png': 'iVBO\nRw==\n', 'text/plain': '<Figure>' }
    });
    expect(png).toMatchObject({ kind: 'image', value: 'iVBORw==' });
    const html = outputView({
      output_type: 'execute_result',
      data: { 'text/html': ['<b>', 'x</b>'], 'text/plain': 'x' }
    });
    expect(html).toMatchObject({ kind: 'html', value: '<b>x</b>' });
    expect(html?.data['text/plain']).toBe('x');
    expect(outputView({ output_type: 'stream', text: ['1\n', '2\n'] })).toMatchObject({
      kind: 'text',
      value: '1\n2\n'
    });
    expect(outputView({ output_type: 'display_data', data: {} })).toBeUndefined();
    expect(outputView('nonsense')).toBeUndefined();
  });

  it('shows an error as its traceback without colour codes', () => {
    const view = outputView({
      output_type: 'error',
      ename: 'NameError',
      evalue: "name 'x' is not defined",
      traceback: ['\u001b[0;31mNameError\u001b[0m: boom']
    });
    expect(view?.value).toBe('NameError: boom');
  });

  it("pairs each differing cell's outputs with the server's verdict of that cell", () => {
    const report = buildReport(
      JOB,
      {
        path: 'nb.ipynb',
        cells: [
          {
            index: 1,
            id: 'b',
            status: 'mismatch',
            stored: [{ output_type: 'stream', text: '3\n' }],
            new: [{ output_type: 'stream', text: '2\n' }],
            truncated: false
          },
          { id: 'no-index' }
        ]
      },
      'fallback.ipynb'
    );
    expect(report.path).toBe('nb.ipynb');
    expect(report.outcome).toBe('not-reproduced');
    expect(report.diagnosis).toBe('unseeded randomness in cell 2');
    expect(report.cells).toHaveLength(1);
    const [cell] = report.cells;
    expect(cell.stored?.[0].value).toBe('3\n');
    expect(cell.new?.[0].value).toBe('2\n');
    expect(cell.verdict?.cause).toBe('unseeded-random');
    expect(cell.verdict?.causeSummary).toBe('random numbers without a seed');
    expect(cell.verdict?.evidence).toEqual(['calls random.random()']);
    expect(cell.verdict?.remedy).toBe('seed it:\nrandom.seed(0)');
  });

  it('keeps a side the notebook lacks apart from an empty one', () => {
    const report = buildReport(
      JOB,
      { cells: [{ index: 1, id: 'b', stored: null, new: [] }] },
      'nb.ipynb'
    );
    expect(report.path).toBe('nb.ipynb');
    expect(report.cells[0].stored).toBeNull();
    expect(report.cells[0].new).toEqual([]);
    expect(buildReport(JOB, 'garbage', 'nb.ipynb').cells).toEqual([]);
  });
});

describe('text diff', () => {
  it('splits words so that they join back to the line', () => {
    const line = 'loss = 0.25, acc=0.9  done';
    expect(words(line).join('')).toBe(line);
  });

  it('marks the changed words of a changed line', () => {
    expect(diffWords('accuracy 0.91 on test', 'accuracy 0.87 on test')).toEqual([
      { op: 'same', text: 'accuracy ' },
      { op: 'removed', text: '0.91' },
      { op: 'added', text: '0.87' },
      { op: 'same', text: ' on test' }
    ]);
  });

  it('aligns lines and pairs a changed line with its replacement', () => {
    const lines = diffLines('a\nscore 1\nc\n', 'a\nscore 2\nc\nd\n');
    expect(lines.map(l => l.op)).toEqual(['same', 'removed', 'added', 'same', 'added']);
    expect(lines[1].parts).toEqual([
      { op: 'same', text: 'score ' },
      { op: 'removed', text: '1' }
    ]);
    expect(lines[2].parts).toEqual([
      { op: 'same', text: 'score ' },
      { op: 'added', text: '2' }
    ]);
    expect(lines[4].parts).toEqual([{ op: 'added', text: 'd' }]);
  });

  it('gives no change for equal texts and whole lines for unpaired ones', () => {
    expect(diffLines('x\ny', 'x\ny').every(l => l.op === 'same')).toBe(true);
    expect(diffLines('', 'new')).toEqual([{ op: 'added', parts: [{ op: 'added', text: 'new' }] }]);
    expect(diffLines('gone', '')).toEqual([
      { op: 'removed', parts: [{ op: 'removed', text: 'gone' }] }
    ]);
  });
});

/** A `width`×`height` image of one colour. */
function image(width: number, height: number, rgba: number[]) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data.set(rgba, i * 4);
  }
  return { width, height, data };
}

describe('image diff', () => {
  it('masks exactly the pixels that changed', () => {
    const a = image(3, 2, [0, 0, 0, 255]);
    const b = image(3, 2, [0, 0, 0, 255]);
    b.data.set([255, 255, 255, 255], (1 * 3 + 2) * 4);
    const diff = pixelDiff(a, b);
    expect(diff.changed).toBe(1);
    expect(diff.resized).toBe(false);
    expect(Array.from(diff.mask.slice((1 * 3 + 2) * 4, (1 * 3 + 2) * 4 + 4))).toEqual(
      CHANGED_PIXEL
    );
    expect(Array.from(diff.mask.slice(0, 4))).toEqual([0, 0, 0, 0]);
  });

  it('ignores differences within the threshold', () => {
    const a = image(2, 2, [100, 100, 100, 255]);
    const b = image(2, 2, [103, 100, 100, 255]);
    expect(pixelDiff(a, b).changed).toBe(4);
    expect(pixelDiff(a, b, 3).changed).toBe(0);
  });

  it('counts the pixels outside the smaller image as changed', () => {
    const diff = pixelDiff(image(2, 2, [1, 2, 3, 255]), image(3, 2, [1, 2, 3, 255]));
    expect(diff).toMatchObject({ width: 3, height: 2, changed: 2, resized: true });
  });
});
