/**
 * The `--metadata-store etcd://host:port[,host:port...][/prefix]` URL (kept apart from the etcd
 * store so that parsing a config does not load the etcd client).
 */

/** The endpoints and key prefix of an etcd:// URL, or an error message naming what is wrong. */
export function parseEtcdUrl(url: string): { hosts: string[]; prefix: string } | string {
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(url.trim());
  if (!m) return `expected etcd://host:port[,host:port...][/prefix], got '${url}'`;
  const hosts = m[1]!.split(',').map((h) => h.trim());
  for (const h of hosts) {
    const hp = /^(.+):(\d+)$/.exec(h);
    if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) return `'${h}' in ${url} is not host:port (port 1-65535)`;
  }
  let prefix = m[2] ?? '/brook';
  if (!prefix.endsWith('/')) prefix += '/';
  return { hosts, prefix };
}
