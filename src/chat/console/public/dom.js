// Small DOM helpers for the console's page. Everything shown is inserted as text nodes, never as
// markup, because request reasons, captured statements and model output are untrusted.

export const $ = (selector) => document.querySelector(selector);

const present = (child) => child !== undefined && child !== null && child !== false;

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else if (present(value)) node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (present(child)) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** replaceChildren without the empty parts (null would show as the text "null"). */
export const fill = (node, ...children) => node.replaceChildren(...children.flat().filter(present));

export const list = (items) => (items && items.length ? el('ul', {}, items.map((item) => el('li', {}, rich(item)))) : null);

export const title = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** `1 request`, `2 requests`. */
export const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * A server string, or the neutral rich text of src/lib/rich-text.ts (`{ parts: [...] }`), as DOM
 * nodes: code in a monospace span, people as `@id`, links only to this console's own pages.
 */
export function rich(value) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') return String(value);
  const parts = Array.isArray(value.parts) ? value.parts : [value];
  return parts.map((part) => {
    switch (part.kind) {
      case 'strong': return el('strong', {}, part.text);
      case 'code': return el('code', {}, part.text);
      case 'person': return el('span', { class: 'person' }, `@${part.id}`);
      case 'link': return /^\/(?!\/)/.test(part.url) ? el('a', { href: part.url }, part.text) : part.text;
      default: return part.text ?? '';
    }
  });
}

/** Puts text on the clipboard; over plain HTTP from another machine, where there is no Clipboard API, the old way. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = el('textarea', { readonly: true, class: 'offscreen' });
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('The browser refused to copy.');
  return undefined;
}
