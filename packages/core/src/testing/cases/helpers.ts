import { expect } from 'vitest';
import type { AgentInputItem } from '../../protocol/session.js';
import type { ContractContext } from '../types.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function message(text: string, extra: Record<string, unknown> = {}): AgentInputItem {
  return { type: 'message', role: 'user', content: text, ...extra };
}

/** `count` distinct items tagged with `tag` and their index. */
export function numbered(tag: string, count: number): AgentInputItem[] {
  return Array.from({ length: count }, (_, i) => message(`${tag}-${i}`, { tag, i }));
}

/** Asserts what is physically stored, when the backend gave the suite raw access. */
export async function expectStored(context: ContractContext, suffix: string | undefined, count: number) {
  if (!context.inspector) return;
  expect(await context.inspector.storedItemCount(context.idFor(suffix))).toBe(count);
}

/** Asserts that `promise` rejects with an instance of `type` and returns the error. */
export async function rejection<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a ${type.name}`).toBeInstanceOf(type);
  return caught as T;
}

export function thrown<T extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => T): T {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a ${type.name}`).toBeInstanceOf(type);
  return caught as T;
}
