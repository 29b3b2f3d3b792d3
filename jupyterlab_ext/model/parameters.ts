/**
 * The "Run as experiment" form's fields, read from the notebook's `parameters` cell
 * (papermill's convention: assignments of literals, one per line, optional `# comment`).
 */

/** The type of a parameter, from its default value. */
export type ParameterType = 'int' | 'float' | 'bool' | 'str' | 'none' | 'other';

/** One typed parameter. */
export interface IParameter {
  name: string;
  type: ParameterType;
  /** The default as written in the cell. */
  literal: string;
  /** The comment after the assignment, as help text. */
  help: string;
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[^=]+)?=\s*(.+?)\s*$/;

function splitComment(line: string): [string, string] {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote !== null) {
      if (ch === '\\') {
        i++;
      } else if (ch === quote) {
        quote = null;
      }
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#') {
      return [line.slice(0, i), line.slice(i + 1).trim()];
    }
  }
  return [line, ''];
}

/** The type of a Python literal. */
export function literalType(literal: string): ParameterType {
  if (/^[-+]?\d+$/.test(literal)) {
    return 'int';
  }
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(literal)) {
    return 'float';
  }
  if (literal === 'True' || literal === 'False') {
    return 'bool';
  }
  if (literal === 'None') {
    return 'none';
  }
  if (/^[rbuf]?(['"]).*\1$/i.test(literal)) {
    return 'str';
  }
  return 'other';
}

/** The parameters of a `parameters` cell's source, in order (later assignments win). */
export function parseParameters(source: string): IParameter[] {
  const byName = new Map<string, IParameter>();
  for (const rawLine of source.split(/\r?\n/)) {
    if (/^\s/.test(rawLine)) {
      continue;
    }
    const [code, help] = splitComment(rawLine);
    const match = ASSIGNMENT.exec(code.trim());
    if (match === null) {
      continue;
    }
    const [, name, literal] = match;
    byName.delete(name);
    byName.set(name, { name, type: literalType(literal), literal, help });
  }
  return [...byName.values()];
}

/** The value of a form field as JSON for the server, typed by the parameter. */
export function parseFieldValue(param: IParameter, text: string): unknown {
  const value = text.trim();
  switch (param.type) {
    case 'int': {
      if (!/^[-+]?\d+$/.test(value)) {
        throw new Error(`${param.name} must be a whole number`);
      }
      return parseInt(value, 10);
    }
    case 'float': {
      const number = Number(value);
      if (value.length === 0 || Number.isNaN(number)) {
        throw new Error(`${param.name} must be a number`);
      }
      return number;
    }
    case 'bool':
      return value === 'True' || value === 'true';
    case 'none':
      return value.length === 0 || value === 'None' ? null : value;
    case 'str':
      return text;
    default:
      return value;
  }
}
