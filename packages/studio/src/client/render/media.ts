/** Images, shown only from sources `safeImageSource` accepts; everything else is described, not loaded. */
import { safeImageSource } from '../../shared/safe-url.js';
import { h } from '../dom.js';

export function describeSource(source: string | undefined): string {
  if (source === undefined) return 'no source';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1];
  return scheme ? `${scheme}: source refused` : 'unrecognised data';
}

/** An `<img>` only for a source that passed `safeImageSource`; otherwise `undefined`. */
export function image(candidate: string | undefined, alt: string): HTMLElement | undefined {
  const source = safeImageSource(candidate);
  if (!source) return undefined;
  const element = h('img', { class: 'inline-image', alt, loading: 'lazy', decoding: 'async' });
  element.referrerPolicy = 'no-referrer';
  element.src = source;
  return element;
}
