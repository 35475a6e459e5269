// Tiny DOM helpers; the page is small enough not to need a framework.

export interface ElementProps {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: ElementProps = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** An element index.html must contain; a clear error beats a null dereference later. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`index.html lacks #${id} (${type.name})`);
  return node;
}

/** Sets text only when it changed, so ticking clocks don't churn the DOM or selections. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}
