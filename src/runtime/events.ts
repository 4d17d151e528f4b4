/**
 * Typed event fan-out inside one thread (mitt). mitt's declarations describe an ES default
 * export, but under NodeNext resolution TypeScript reads the package as CommonJS and types the
 * default import as the module; this file resolves that once so callers import a function.
 */
import * as mittModule from 'mitt';
import type { Emitter, EventType } from 'mitt';

export type { Emitter };

type MittFn = <Events extends Record<EventType, unknown>>() => Emitter<Events>;
const mittFn = (mittModule as unknown as { default?: MittFn }).default ?? (mittModule as unknown as MittFn);

export function createEmitter<Events extends Record<EventType, unknown>>(): Emitter<Events> {
  return mittFn<Events>();
}
