/**
 * `util.inspect`'s hook, by its registry name so that core needs no Node import. Stores and
 * sessions print a short summary through it instead of their fields: a driver client's options
 * hold passwords (postgres.js keeps `pass` in clear), and `console.log(store)` must not show them.
 */
export const INSPECT = Symbol.for('nodejs.util.inspect.custom');
