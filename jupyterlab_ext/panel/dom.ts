/** A tiny helper to build DOM nodes. */

type Child = Node | string | null | undefined | false;

/** Create an element with attributes (`class`, `aria-*`, `data-*`, ...) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined) {
      node.setAttribute(name, value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child);
    }
  }
  return node;
}

/** A button with an accessible label and a click handler. */
export function button(
  label: string,
  onClick: () => void,
  attrs: Record<string, string | undefined> = {}
): HTMLButtonElement {
  const node = h('button', { type: 'button', class: 'jp-Button nbrepro-button', ...attrs }, label);
  node.addEventListener('click', onClick);
  return node;
}
