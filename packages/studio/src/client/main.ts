/**
 * The studio's page: the session catalog on the left (a full-width page on a narrow window), one
 * conversation on the right, in a virtualised list fed page by page from the newest items.
 * Routes live in the hash: `#/` and `#/s/<session id>`.
 */
import {
  ITEMS_PAGE_SIZE,
  type ItemEntry,
  type ItemsResponse,
  type SessionDetail,
  type SessionListResponse,
  type SessionSummary,
  type StoreView,
} from '../shared/api.js';
import { append, button, clear, h, routeLink } from './dom.js';
import { type RenderContext, renderPlaceholder, renderRow } from './render.js';
import { VirtualList } from './virtual-list.js';

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init?.headers } });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body as T;
}

function get<T>(path: string, params: Record<string, string | string[] | undefined> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) query.append(key, one);
  }
  return request<T>(`${path}?${query}`);
}

function post<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function relative(iso: string): string {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return Math.abs(seconds) < 10 ? 'just now' : format.format(Math.round(seconds), 'second');
}

function time(iso: string, prefix = ''): HTMLElement {
  return h('time', { datetime: iso, title: iso }, `${prefix}${relative(iso)}`);
}

function metadataChips(metadata: Record<string, unknown>, skip: string[] = []): HTMLElement[] {
  return Object.entries(metadata)
    .filter(([key]) => !skip.includes(key))
    .map(([key, value]) =>
      h('span', { class: 'chip' }, `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`),
    );
}

function forkedFrom(info: SessionSummary): string | undefined {
  return typeof info.metadata.forkedFrom === 'string' ? info.metadata.forkedFrom : undefined;
}

/** A button that asks for a second click before it acts (no native dialogs). */
function confirmButton(label: string, action: () => Promise<void>, attributes: Record<string, string> = {}) {
  let armed = false;
  let timer = 0;
  const element = button(
    label,
    async () => {
      if (!armed) {
        armed = true;
        element.textContent = `${label}: click again`;
        element.classList.add('armed');
        timer = window.setTimeout(() => {
          armed = false;
          element.textContent = label;
          element.classList.remove('armed');
        }, 4000);
        return;
      }
      window.clearTimeout(timer);
      armed = false;
      element.textContent = label;
      element.classList.remove('armed');
      await action();
    },
    attributes,
  );
  return element;
}

class App {
  readonly store: StoreView;
  readonly layout = h('main', { class: 'layout' });
  readonly sidebar = h('section', { class: 'sidebar', 'aria-label': 'Sessions' });
  readonly pane = h('section', { class: 'conversation', 'aria-label': 'Conversation' });
  readonly status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  readonly listElement = h('ul', { class: 'sessions' });
  readonly moreButton = button('Load more', () => void this.loadSessions(true), { class: 'more', hidden: true });
  readonly prefixInput = h('input', {
    type: 'search',
    placeholder: 'id prefix',
    'aria-label': 'Filter by id prefix',
    name: 'prefix',
  });
  readonly metadataInput = h('input', {
    type: 'search',
    placeholder: 'metadata key=value …',
    'aria-label': 'Filter by metadata',
    name: 'metadata',
  });
  sessions: SessionSummary[] = [];
  cursor: string | undefined;
  listGeneration = 0;
  current: SessionView | undefined;

  constructor(store: StoreView) {
    this.store = store;
    const brand = routeLink('/', 'Sessions Studio');
    brand.className = 'brand';
    const header = h(
      'header',
      { class: 'top' },
      brand,
      h('span', { class: 'store', title: 'store (credentials masked)' }, store.label),
      h(
        'span',
        { class: `mode ${store.allowWrites ? 'writes' : 'readonly'}` },
        store.allowWrites ? 'writes allowed' : 'read-only',
      ),
    );
    const filters = h('form', { class: 'filters', role: 'search' }, this.prefixInput, this.metadataInput);
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.loadSessions(false);
    });
    let debounce = 0;
    for (const input of [this.prefixInput, this.metadataInput]) {
      input.addEventListener('input', () => {
        window.clearTimeout(debounce);
        debounce = window.setTimeout(() => void this.loadSessions(false), 250);
      });
    }
    append(this.sidebar, filters, this.listElement, this.moreButton);
    append(this.layout, this.sidebar, this.pane);
    document.body.replaceChildren(header, this.layout, this.status);
    window.addEventListener('hashchange', () => this.route());
  }

  say(message: string, kind: 'info' | 'error' = 'info'): void {
    this.status.textContent = message;
    this.status.className = `status show ${kind}`;
    window.setTimeout(() => {
      if (this.status.textContent === message) this.status.className = 'status';
    }, 6000);
  }

  async loadSessions(more: boolean): Promise<void> {
    const generation = ++this.listGeneration;
    try {
      const page = await get<SessionListResponse>('/api/sessions', {
        prefix: this.prefixInput.value || undefined,
        metadata: this.metadataInput.value.split(/\s+/).filter(Boolean),
        cursor: more ? this.cursor : undefined,
        limit: '50',
      });
      if (generation !== this.listGeneration) return;
      this.sessions = more ? [...this.sessions, ...page.sessions] : page.sessions;
      this.cursor = page.nextCursor;
      this.renderSessions();
    } catch (error) {
      this.say(`Listing failed: ${(error as Error).message}`, 'error');
    }
  }

  /** Newest first; a branch is listed under its source when both are loaded. */
  renderSessions(): void {
    const loaded = new Set(this.sessions.map((s) => s.sessionId));
    const children = new Map<string, SessionSummary[]>();
    const roots: SessionSummary[] = [];
    for (const info of this.sessions) {
      const source = forkedFrom(info);
      if (source && source !== info.sessionId && loaded.has(source)) {
        children.set(source, [...(children.get(source) ?? []), info]);
      } else {
        roots.push(info);
      }
    }
    clear(this.listElement);
    const selected = this.current?.sessionId;
    const seen = new Set<string>();
    const add = (info: SessionSummary, depth: number, parent: HTMLElement) => {
      if (seen.has(info.sessionId)) return;
      seen.add(info.sessionId);
      const link = routeLink(
        `/s/${encodeURIComponent(info.sessionId)}`,
        h('span', { class: 'sid' }, info.sessionId),
        h(
          'span',
          { class: 'sub' },
          `${info.itemCount.toLocaleString('en-US')} items · `,
          time(info.updatedAt),
          info.expiresAt ? h('span', { class: 'expires' }, ' · ', time(info.expiresAt, 'expires ')) : null,
        ),
        h('span', { class: 'chips' }, ...metadataChips(info.metadata, ['forkedFrom', 'forkedAtTurn'])),
      );
      if (forkedFrom(info))
        link.prepend(
          h(
            'span',
            { class: 'branch-mark', title: `branch of ${forkedFrom(info)}` },
            `↳ turn ${String(info.metadata.forkedAtTurn ?? '?')}`,
          ),
        );
      const item = h(
        'li',
        { class: `session${info.sessionId === selected ? ' selected' : ''}`, data: { sessionId: info.sessionId } },
        link,
      );
      parent.append(item);
      const branches = children.get(info.sessionId);
      if (branches) {
        const nested = h('ul', { class: 'branches' });
        item.append(nested);
        for (const branch of branches) add(branch, depth + 1, nested);
      }
    };
    for (const info of roots) add(info, 0, this.listElement);
    if (this.sessions.length === 0) this.listElement.append(h('li', { class: 'empty' }, 'No sessions match.'));
    this.moreButton.hidden = this.cursor === undefined;
  }

  route(): void {
    const match = /^#\/s\/(.+)$/.exec(location.hash);
    const sessionId = match ? decodeURIComponent(match[1]!) : undefined;
    this.layout.classList.toggle('has-session', sessionId !== undefined);
    if (sessionId === undefined) {
      this.current?.destroy();
      this.current = undefined;
      this.pane.replaceChildren(h('div', { class: 'placeholder-pane' }, 'Choose a session.'));
    } else if (this.current?.sessionId !== sessionId) {
      this.current?.destroy();
      this.current = new SessionView(this, sessionId);
      void this.current.load();
    }
    for (const item of this.listElement.querySelectorAll<HTMLElement>('li.session')) {
      item.classList.toggle('selected', item.dataset.sessionId === sessionId);
    }
  }
}

class SessionView {
  readonly app: App;
  readonly sessionId: string;
  readonly head = h('div', { class: 'session-head' });
  readonly viewport = h('div', { class: 'items', tabindex: '0', 'aria-label': 'Items' });
  readonly banner = h('div', { class: 'banner', hidden: true });
  detail: SessionDetail | undefined;
  list: VirtualList | undefined;
  pages = new Map<number, ItemEntry[] | Promise<void>>();

  constructor(app: App, sessionId: string) {
    this.app = app;
    this.sessionId = sessionId;
    app.pane.replaceChildren(this.head, this.banner, this.viewport);
  }

  destroy(): void {
    this.list?.destroy();
    this.list = undefined;
  }

  async load(): Promise<void> {
    try {
      this.detail = await get<SessionDetail>('/api/session', { id: this.sessionId });
    } catch (error) {
      this.head.replaceChildren(
        h('div', { class: 'error' }, `Cannot open ${this.sessionId}: ${(error as Error).message}`),
      );
      this.viewport.replaceChildren();
      return;
    }
    if (this.app.current !== this) return;
    this.banner.hidden = true;
    this.pages = new Map();
    this.renderHead();
    this.list?.destroy();
    const context: RenderContext = {
      allowWrites: this.app.store.allowWrites,
      turns: new Map(this.detail.turns.map((t) => [t.turn, t])),
      raw: (index) => get('/api/item', { id: this.sessionId, index: String(index) }),
      fork: (turn) => void this.fork(turn),
      jump: (index) => this.list?.scrollTo(index, 'start'),
    };
    const total = this.detail.total;
    if (total === 0) {
      this.viewport.replaceChildren(h('div', { class: 'placeholder-pane' }, 'This session has no items.'));
      return;
    }
    this.list = new VirtualList(this.viewport, {
      count: total,
      estimate: 96,
      overscan: 600,
      render: (index) => {
        const entry = this.entry(index);
        return entry ? renderRow(entry, context) : renderPlaceholder(index);
      },
      onRange: (first, last) => this.ensure(first, last),
    });
    // Opens at the newest items, like a chat; the page holding them is the first one fetched.
    this.list.scrollTo(total - 1, 'end');
  }

  entry(index: number): ItemEntry | undefined {
    const page = this.pages.get(Math.floor(index / ITEMS_PAGE_SIZE));
    return Array.isArray(page) ? page[index % ITEMS_PAGE_SIZE] : undefined;
  }

  ensure(first: number, last: number): void {
    for (let page = Math.floor(first / ITEMS_PAGE_SIZE); page <= Math.floor(last / ITEMS_PAGE_SIZE); page++) {
      if (!this.pages.has(page)) this.pages.set(page, this.fetchPage(page));
    }
  }

  async fetchPage(page: number): Promise<void> {
    const start = page * ITEMS_PAGE_SIZE;
    try {
      const response = await get<ItemsResponse>('/api/items', {
        id: this.sessionId,
        start: String(start),
        end: String(start + ITEMS_PAGE_SIZE),
      });
      if (this.app.current !== this || !this.list) return;
      if (response.version !== this.detail?.version) {
        this.pages.delete(page);
        this.stale();
        return;
      }
      this.pages.set(page, response.entries);
      this.list.invalidate(start, start + ITEMS_PAGE_SIZE);
    } catch (error) {
      this.pages.delete(page);
      this.app.say(`Loading items failed: ${(error as Error).message}`, 'error');
    }
  }

  stale(): void {
    this.banner.replaceChildren(
      'This session changed since it was opened. ',
      button('Reload', () => void this.load(), { class: 'small' }),
    );
    this.banner.hidden = false;
  }

  renderHead(): void {
    const detail = this.detail!;
    const { info } = detail;
    const writes = this.app.store.allowWrites;
    const source = forkedFrom(info);
    const turnCount = detail.turns.filter((t) => t.turn > 0).length;
    const facts = h(
      'div',
      { class: 'facts' },
      `${detail.total.toLocaleString('en-US')} items · ${turnCount} turns · created `,
      time(info.createdAt),
      ' · updated ',
      time(info.updatedAt),
      info.expiresAt ? h('span', null, ' · ', time(info.expiresAt, 'expires ')) : null,
    );
    const title = h(
      'div',
      { class: 'title-row' },
      Object.assign(routeLink('/', '← Sessions'), { className: 'back' }),
      h('h2', { class: 'sid', title: info.sessionId }, info.sessionId),
    );
    const nav = h(
      'div',
      { class: 'nav' },
      button('First', () => this.list?.scrollTo(0, 'start'), { class: 'small', 'data-action': 'first' }),
      button('Last', () => this.list?.scrollTo(detail.total - 1, 'end'), { class: 'small', 'data-action': 'last' }),
    );
    if (detail.turns.length > 1) {
      const select = h(
        'select',
        { class: 'small', 'aria-label': 'Go to turn' },
        h('option', { value: '' }, 'Go to turn…'),
      );
      for (const turn of detail.turns) {
        select.append(
          h('option', { value: String(turn.start) }, turn.turn === 0 ? 'Before turn 1' : `Turn ${turn.turn}`),
        );
      }
      select.addEventListener('change', () => {
        if (select.value !== '') this.list?.scrollTo(Number(select.value), 'start');
        select.value = '';
      });
      nav.append(select);
    }
    this.head.replaceChildren(title, facts);
    if (source) {
      this.head.append(
        h(
          'div',
          { class: 'forked-from' },
          'Branch of ',
          routeLink(`/s/${encodeURIComponent(source)}`, source),
          ` at turn ${String(info.metadata.forkedAtTurn ?? '?')}`,
        ),
      );
    }
    const metadata = h('div', { class: 'metadata' }, ...metadataChips(info.metadata));
    if (Object.keys(info.metadata).length === 0) metadata.append(h('span', { class: 'muted' }, 'no metadata'));
    if (writes) metadata.append(button('Edit metadata', () => this.editMetadata(metadata), { class: 'small' }));
    this.head.append(metadata);
    if (detail.branches.length > 0) {
      this.head.append(
        h(
          'div',
          { class: 'branch-list' },
          'Branches: ',
          ...detail.branches.flatMap((b, i) => [
            i > 0 ? ', ' : '',
            routeLink(`/s/${encodeURIComponent(b.sessionId)}`, b.sessionId),
          ]),
        ),
      );
    }
    if (writes) {
      const exportLink = h('a', { class: 'button small', download: '' }, 'Export JSONL');
      exportLink.href = `/api/export?${new URLSearchParams({ id: this.sessionId })}`;
      this.head.append(
        h(
          'div',
          { class: 'actions' },
          exportLink,
          confirmButton('Pop last item', () => this.act('/api/pop', 'Popped the last item')),
          confirmButton('Clear', () => this.act('/api/clear', 'Cleared the items')),
          confirmButton('Delete', () => this.act('/api/delete', 'Deleted the session'), { class: 'danger' }),
        ),
      );
    }
    this.head.append(nav);
  }

  editMetadata(container: HTMLElement): void {
    const before = this.detail!.info.metadata;
    const editor = h('textarea', {
      class: 'metadata-editor',
      rows: '6',
      spellcheck: 'false',
      'aria-label': 'Metadata JSON',
    });
    editor.value = JSON.stringify(before, null, 2);
    const save = button(
      'Save',
      async () => {
        let after: Record<string, unknown>;
        try {
          after = JSON.parse(editor.value);
          if (after === null || typeof after !== 'object' || Array.isArray(after))
            throw new Error('expected a JSON object');
        } catch (error) {
          this.app.say(`Metadata not saved: ${(error as Error).message}`, 'error');
          return;
        }
        // Keys that disappeared are removed (null), the rest are set.
        const patch: Record<string, unknown> = { ...after };
        for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
        try {
          await post('/api/metadata', { id: this.sessionId, patch });
          this.app.say('Metadata saved');
          await Promise.all([this.load(), this.app.loadSessions(false)]);
        } catch (error) {
          this.app.say(`Metadata not saved: ${(error as Error).message}`, 'error');
        }
      },
      { class: 'small primary' },
    );
    const cancel = button('Cancel', () => this.renderHead(), { class: 'small' });
    container.replaceChildren(editor, h('div', { class: 'row-buttons' }, save, cancel));
    editor.focus();
  }

  async act(path: string, done: string): Promise<void> {
    try {
      await post(path, { id: this.sessionId });
      this.app.say(done);
      await this.app.loadSessions(false);
      if (path === '/api/delete') location.hash = '#/';
      else await this.load();
    } catch (error) {
      this.app.say(`Failed: ${(error as Error).message}`, 'error');
    }
  }

  async fork(turn: number): Promise<void> {
    try {
      const result = await post<{ sessionId: string; itemCount: number }>('/api/fork', { id: this.sessionId, turn });
      this.app.say(`Forked: ${result.sessionId} (${result.itemCount} items)`);
      await Promise.all([this.app.loadSessions(false), this.reloadHead()]);
    } catch (error) {
      this.app.say(`Fork failed: ${(error as Error).message}`, 'error');
    }
  }

  /** The header again (branches changed) without rebuilding the list. */
  async reloadHead(): Promise<void> {
    const detail = await get<SessionDetail>('/api/session', { id: this.sessionId });
    if (this.app.current !== this || !this.detail) return;
    if (detail.version !== this.detail.version) this.stale();
    this.detail = { ...this.detail, branches: detail.branches };
    this.renderHead();
  }
}

async function main(): Promise<void> {
  let store: StoreView;
  try {
    store = await get<StoreView>('/api/store');
  } catch (error) {
    document.body.replaceChildren(h('p', { class: 'error' }, `Sessions Studio: ${(error as Error).message}`));
    return;
  }
  const app = new App(store);
  app.route();
  await app.loadSessions(false);
}

void main();
