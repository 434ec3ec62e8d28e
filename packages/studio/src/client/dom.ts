/**
 * The only way the page builds DOM: elements, class names, text (`textContent`) and a few
 * attributes. No HTML string is ever parsed (the CSP enforces it with Trusted Types).
 */

type Child = Node | string | number | false | null | undefined;

export interface Attributes {
  class?: string;
  title?: string;
  /** `data-*` attributes. */
  data?: Record<string, string>;
  [attribute: string]: string | boolean | Record<string, string> | undefined;
}

/** Attributes that can carry script or a navigation target are refused outright. */
const FORBIDDEN = /^(on|href$|src$|srcdoc$|action$|formaction$|style$|xlink:href$)/i;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (attributes) {
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === false) continue;
      if (name === 'class') element.className = value as string;
      else if (name === 'data') Object.assign(element.dataset, value);
      else if (FORBIDDEN.test(name)) throw new Error(`h(): set ${name} through a checked helper`);
      else element.setAttribute(name, value === true ? '' : (value as string));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? text(String(child)) : child);
  }
}

export function text(value: string): Text {
  return document.createTextNode(value);
}

export function clear(element: Element): void {
  element.replaceChildren();
}

export function button(label: string, onClick: (event: MouseEvent) => void, attributes: Attributes = {}) {
  const element = h('button', { type: 'button', ...attributes }, label);
  element.addEventListener('click', onClick);
  return element;
}

/** An in-app link: only `#/…` routes, never a URL from data. */
export function routeLink(route: string, ...children: Child[]): HTMLAnchorElement {
  const element = h('a', null, ...children);
  element.href = `#${route}`;
  return element;
}
