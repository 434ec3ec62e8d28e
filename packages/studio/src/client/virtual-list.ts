/**
 * A virtualised list of rows of any height: only the rows in (and near) the viewport are in the
 * DOM. Heights start as an estimate and are measured by a ResizeObserver as rows render (an image
 * that loads, a section that opens); offsets are re-summed and the first visible row keeps its place
 * on screen, or a pinned row (first / last item, a turn) keeps being scrolled to until the user
 * scrolls by hand.
 */
import { h } from './dom.js';

export interface VirtualListOptions {
  count: number;
  /** Initial height of an unmeasured row, in pixels. */
  estimate: number;
  /** Rows rendered above and below the viewport, in pixels. */
  overscan: number;
  render(index: number): HTMLElement;
  /** The indexes on screen changed (load what they need). */
  onRange?(first: number, last: number): void;
}

type Pin = { index: number; align: 'start' | 'end' };

export class VirtualList {
  readonly #viewport: HTMLElement;
  readonly #canvas: HTMLElement;
  readonly #options: VirtualListOptions;
  readonly #heights: Float64Array;
  readonly #offsets: Float64Array;
  readonly #rows = new Map<number, HTMLElement>();
  readonly #rowObserver: ResizeObserver;
  readonly #viewportObserver: ResizeObserver;
  readonly #stopPin = () => {
    this.#pin = undefined;
  };
  #pin: Pin | undefined;
  #frame = 0;

  constructor(viewport: HTMLElement, options: VirtualListOptions) {
    this.#viewport = viewport;
    this.#options = options;
    this.#heights = new Float64Array(options.count).fill(options.estimate);
    this.#offsets = new Float64Array(options.count + 1);
    this.#canvas = h('div', { class: 'vlist-canvas' });
    viewport.replaceChildren(this.#canvas);
    this.#sum();
    viewport.addEventListener('scroll', this.#schedule, { passive: true });
    for (const event of ['wheel', 'touchstart', 'pointerdown', 'keydown']) {
      viewport.addEventListener(event, this.#stopPin, { passive: true });
    }
    this.#rowObserver = new ResizeObserver((entries) => {
      let changed = false;
      for (const entry of entries) {
        const index = Number((entry.target as HTMLElement).dataset.index);
        if (!this.#rows.has(index)) continue;
        const height = entry.borderBoxSize?.[0]?.blockSize ?? entry.target.getBoundingClientRect().height;
        if (height > 0 && Math.abs(height - this.#heights[index]!) > 0.5) {
          this.#heights[index] = height;
          changed = true;
        }
      }
      if (changed) this.#layout();
    });
    this.#viewportObserver = new ResizeObserver(() => this.#layout());
    this.#viewportObserver.observe(viewport);
  }

  get count(): number {
    return this.#options.count;
  }

  /** Scrolls to a row and keeps it there while heights settle, until the user scrolls. */
  scrollTo(index: number, align: Pin['align'] = 'start'): void {
    if (this.count === 0) return;
    this.#pin = { index: Math.max(0, Math.min(index, this.count - 1)), align };
    this.#layout();
  }

  /** Renders rows `[start, end)` again (their data arrived or changed). */
  invalidate(start: number, end: number): void {
    for (const [index, row] of this.#rows) {
      if (index >= start && index < end) this.#remove(index, row);
    }
    this.#update();
  }

  /** The first and last rows on screen. */
  visibleRange(): [number, number] {
    const top = this.#viewport.scrollTop;
    return [this.#indexAt(top), this.#indexAt(top + this.#viewport.clientHeight - 1)];
  }

  destroy(): void {
    cancelAnimationFrame(this.#frame);
    this.#rowObserver.disconnect();
    this.#viewportObserver.disconnect();
    this.#viewport.removeEventListener('scroll', this.#schedule);
    for (const event of ['wheel', 'touchstart', 'pointerdown', 'keydown']) {
      this.#viewport.removeEventListener(event, this.#stopPin);
    }
    this.#viewport.replaceChildren();
  }

  readonly #schedule = () => {
    cancelAnimationFrame(this.#frame);
    this.#frame = requestAnimationFrame(() => this.#update());
  };

  #sum(): void {
    let y = 0;
    for (let i = 0; i < this.#heights.length; i++) {
      this.#offsets[i] = y;
      y += this.#heights[i]!;
    }
    this.#offsets[this.#heights.length] = y;
    this.#canvas.style.height = `${y}px`;
  }

  /** Heights changed: re-sum, re-place rows, keep the pinned row or the first visible one in place. */
  #layout(): void {
    const viewport = this.#viewport;
    const anchor = this.#indexAt(viewport.scrollTop);
    const within = viewport.scrollTop - this.#offsets[anchor]!;
    this.#sum();
    for (const [index, row] of this.#rows) row.style.transform = `translateY(${this.#offsets[index]}px)`;
    if (this.#pin) {
      const { index, align } = this.#pin;
      viewport.scrollTop =
        align === 'start' ? this.#offsets[index]! : this.#offsets[index + 1]! - viewport.clientHeight;
    } else if (this.count > 0) {
      viewport.scrollTop = this.#offsets[anchor]! + within;
    }
    this.#update();
  }

  #update(): void {
    const { count, overscan } = this.#options;
    if (count === 0) return;
    const top = this.#viewport.scrollTop;
    const bottom = top + this.#viewport.clientHeight;
    const first = this.#indexAt(top - overscan);
    const last = this.#indexAt(bottom + overscan);
    for (const [index, row] of this.#rows) {
      if (index < first || index > last) this.#remove(index, row);
    }
    for (let index = first; index <= last; index++) {
      if (this.#rows.has(index)) continue;
      const row = this.#options.render(index);
      row.classList.add('vrow');
      row.dataset.index = String(index);
      row.style.transform = `translateY(${this.#offsets[index]}px)`;
      this.#canvas.appendChild(row);
      this.#rows.set(index, row);
      this.#rowObserver.observe(row);
    }
    this.#options.onRange?.(this.#indexAt(top), this.#indexAt(bottom - 1));
  }

  #remove(index: number, row: HTMLElement): void {
    this.#rowObserver.unobserve(row);
    row.remove();
    this.#rows.delete(index);
  }

  /** The row at pixel `y` (binary search of the offsets), clamped to the list. */
  #indexAt(y: number): number {
    let low = 0;
    let high = this.count - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.#offsets[middle]! <= y) low = middle;
      else high = middle - 1;
    }
    return Math.max(0, low);
  }
}
