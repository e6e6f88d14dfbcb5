const NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes; text goes in with `textContent`, never as markup. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Puts `el` where the figure's previous `selector` element was, or at its end the first time. */
export function place(figure: HTMLElement, selector: string, el: Element): void {
  const old = figure.querySelector(selector);
  if (old) old.replaceWith(el);
  else figure.append(el);
}
