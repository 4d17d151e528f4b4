/**
 * Where the registry of actor kinds (actors/index.ts) lives, as the module URL the supervisor
 * hands to every worker thread (SupervisorOptions.actorKinds). Read on the main thread; it
 * imports nothing of the actors themselves, so naming the registry costs the main thread
 * nothing.
 */

/**
 * The compiled registry. Tests run the TypeScript sources directly (vitest transforms them),
 * but a worker thread loads plain JavaScript, so from a `.ts` module this points at the build
 * output, which `npm test` produces first (as WorkerHandle does for the worker entry).
 */
export function actorKindsUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.ts')) return new URL('../dist/actors/index.js', here);
  return new URL('./index.js', here);
}
