/**
 * "Run as experiment": a form built from the notebook's `parameters` cell (typed fields) that
 * starts a versioned run. Shown only when the server advertises runs.
 */

import { startRun } from '../api';
import { IParameter, parseFieldValue, parseParameters } from '../model/parameters';
import { button, h } from './dom';

const INPUT_TYPES: Record<string, string> = { int: 'number', float: 'number' };

/** Render the form for a `parameters` cell source; `undefined` when there is nothing to show. */
export function renderExperimentForm(
  path: string,
  parametersSource: string | undefined
): HTMLElement | undefined {
  if (parametersSource === undefined) {
    return undefined;
  }
  const params = parseParameters(parametersSource);
  const form = h('form', { class: 'nbrepro-experiment', 'aria-label': 'Run as experiment' });
  const message = h('p', { class: 'nbrepro-experiment-message', role: 'status' });
  const inputs = new Map<IParameter, HTMLInputElement>();
  form.append(h('h3', { class: 'nbrepro-section-title' }, 'Run as experiment'));
  for (const param of params) {
    const id = `nbrepro-param-${param.name}`;
    const input =
      param.type === 'bool'
        ? h('input', { id, type: 'checkbox', name: param.name })
        : h('input', {
            id,
            name: param.name,
            type: INPUT_TYPES[param.type] ?? 'text',
            step: param.type === 'float' ? 'any' : undefined,
            value:
              param.type === 'str'
                ? param.literal.replace(/^[rbuf]?(['"])(.*)\1$/i, '$2')
                : param.literal
          });
    if (param.type === 'bool') {
      input.checked = param.literal === 'True';
    }
    inputs.set(param, input);
    form.append(
      h(
        'div',
        { class: 'nbrepro-field' },
        h('label', { for: id }, `${param.name} `, h('span', { class: 'nbrepro-type' }, param.type)),
        input,
        param.help ? h('div', { class: 'nbrepro-help' }, param.help) : null
      )
    );
  }
  form.append(
    button('Start run', () => form.requestSubmit(), {
      class: 'jp-Button jp-mod-styled jp-mod-accept'
    }),
    message
  );
  form.addEventListener('submit', async event => {
    event.preventDefault();
    try {
      const values: Record<string, unknown> = {};
      for (const [param, input] of inputs) {
        values[param.name] =
          param.type === 'bool' ? input.checked : parseFieldValue(param, input.value);
      }
      const answer = await startRun(path, values);
      const id =
        typeof answer === 'object' && answer !== null && 'id' in answer
          ? String((answer as { id: unknown }).id)
          : '';
      message.textContent = `Run ${id} started.`;
    } catch (reason) {
      message.textContent = reason instanceof Error ? reason.message : String(reason);
    }
  });
  return form;
}
