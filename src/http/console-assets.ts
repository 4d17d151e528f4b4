/**
 * Serves the web console's static files (plain HTML, CSS and JavaScript; no CDN, no bundler).
 * They live in src/console/ and are found relative to this module: beside it in dist when a
 * build copies them there (dist/src/console, for the published package), else in the source
 * tree (a clone after `npm ci`, where dist/src/http/../../../src/console is src/console).
 * Files are read once and kept in memory; only names in the folder are served.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { httpLimits } from './limits.js';

const here = dirname(fileURLToPath(import.meta.url));
const candidates = [join(here, '../console'), join(here, '../../../src/console'), join(here, '../../src/console')];

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export class ConsoleAssets {
  private readonly files = new Map<string, { body: Buffer; type: string }>();
  readonly folder: string | undefined;

  constructor() {
    this.folder = candidates.find((c) => existsSync(join(c, 'index.html')));
    if (!this.folder) return;
    for (const name of readdirSync(this.folder)) {
      const type = types[extname(name)];
      const path = join(this.folder, name);
      if (!type || !statSync(path).isFile() || statSync(path).size > httpLimits.staticFileBytesMax) continue;
      this.files.set(name, { body: readFileSync(path), type });
    }
  }

  /** Serves `/` as index.html and `/console/<name>`; false when the path is not a console file. */
  serve(pathname: string, res: ServerResponse): boolean {
    const name = pathname === '/' || pathname === '/index.html' ? 'index.html' : pathname.startsWith('/console/') ? pathname.slice(9) : undefined;
    if (name === undefined) return false;
    const f = this.files.get(name);
    if (!f) {
      if (name !== 'index.html') return false;
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end(`the console's files were not found (looked in ${candidates.join(', ')})\n`);
      return true;
    }
    res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-cache' });
    res.end(f.body);
    return true;
  }
}
