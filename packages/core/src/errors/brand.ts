/**
 * `instanceof` that works across copies of this package. An app that loads one backend through
 * `require` and another through `import` has two copies of every error class (the CommonJS and
 * the ESM build); the prototype chain of one never contains the other. So every error carries
 * the kinds of its class chain under a registry symbol (`Symbol.for` is shared by all copies),
 * and `instanceof` asks for the kind instead of the prototype.
 */
export const ERROR_KINDS = Symbol.for('@sessions/core.error-kinds');

/** The static property under which a class declares its kind. */
export const ERROR_KIND = Symbol.for('@sessions/core.error-kind');

type Branded = { [ERROR_KINDS]?: unknown };
type KindedClass = { [ERROR_KIND]?: string; prototype: unknown };

/** The kinds of `ctor` and its ancestors that declare one, most derived first. */
export function kindsOf(ctor: unknown): string[] {
  const kinds: string[] = [];
  for (let c = ctor as KindedClass | null; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (Object.hasOwn(c, ERROR_KIND)) kinds.push(c[ERROR_KIND] as string);
  }
  return kinds;
}

/**
 * The `Symbol.hasInstance` of every error class. A class that declares its own kind matches any
 * error branded with it; a subclass that does not (one a user writes) keeps ordinary `instanceof`.
 */
export function hasErrorKind(ctor: KindedClass, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.hasOwn(ctor, ERROR_KIND)) {
    const kinds = (value as Branded)[ERROR_KINDS];
    if (Array.isArray(kinds)) return kinds.includes(ctor[ERROR_KIND]);
  }
  return Function.prototype[Symbol.hasInstance].call(ctor, value);
}
