/**
 * A small client of a running node's HTTP API, for the CLI commands that inspect or change the
 * node itself (actors, workers). Every request has a timeout.
 */
export async function nodeApi<T>(base: string, path: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
  const url = new URL(path, base.includes('://') ? base : `http://${base}`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? undefined : { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new Error(`cannot reach the node's HTTP API at ${url.origin} (--http): ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`${url.pathname}: ${body.error ?? res.statusText}`);
  return body;
}
