// A thin NATS client speaking the raw text protocol: CONNECT, PUB, SUB, MSG/HMSG, PING/PONG.
// Enough for JetStream's API (requests with a reply inbox), asynchronous publishes whose acks are
// counted, and pull consumers. Messages are routed by subscription id; payloads are Buffer views.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

export class NatsClient {
  static async connect(host, port) {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new NatsClient(socket);
    socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, name: 'brook-bench' })}\r\n`);
    await c.ping();
    return c;
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = null;
    this.pos = 0;
    this.subs = new Map();
    this.nextSid = 1;
    this.pongs = [];
    this.inbox = `_INBOX.${randomBytes(8).toString('hex')}`;
    this.requests = new Map();
    this.nextReq = 1;
    this.inboxSid = 0;
    this.error = null;
    socket.on('data', (c) => this.onData(c));
    const fail = (e) => {
      this.error = e;
      for (const p of this.pongs) p.reject(e);
      this.pongs = [];
      for (const r of this.requests.values()) r.reject(e);
      this.requests.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  ping() {
    this.socket.write('PING\r\n');
    return new Promise((resolve, reject) => this.pongs.push({ resolve, reject }));
  }

  /** handler(payload, subject, reply, headers|null) */
  subscribe(subject, handler) {
    const sid = this.nextSid++;
    this.subs.set(sid, handler);
    this.socket.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  unsubscribe(sid) {
    this.subs.delete(sid);
    this.socket.write(`UNSUB ${sid}\r\n`);
  }

  publish(subject, payload, reply) {
    const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.socket.write(Buffer.concat([Buffer.from(`PUB ${subject}${reply ? ` ${reply}` : ''} ${p.length}\r\n`), p, CRLF]));
  }

  /** Request/reply through one wildcard inbox subscription; resolves with the reply payload. */
  request(subject, payload = '', timeoutMs = 10_000) {
    if (!this.inboxSid) {
      this.inboxSid = this.subscribe(`${this.inbox}.*`, (data, subj, _r, headers) => {
        const id = Number(subj.slice(this.inbox.length + 1));
        const r = this.requests.get(id);
        if (!r) return;
        this.requests.delete(id);
        clearTimeout(r.timer);
        if (headers && /^NATS\/1\.0 503/.test(headers)) r.reject(new Error(`no responders for ${subject}`));
        else r.resolve(data);
      });
    }
    const id = this.nextReq++;
    this.publish(subject, payload, `${this.inbox}.${id}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(new Error(`request ${subject} timed out`));
      }, timeoutMs);
      this.requests.set(id, { resolve, reject, timer });
    });
  }

  async jsApi(subject, body) {
    const r = JSON.parse((await this.request(subject, JSON.stringify(body))).toString());
    if (r.error) throw new Error(`${subject}: ${r.error.description ?? JSON.stringify(r.error)}`);
    return r;
  }

  onData(chunk) {
    const buf = this.buf && this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    let p = 0;
    const n = buf.length;
    for (;;) {
      const eol = buf.indexOf(CRLF, p);
      if (eol < 0) break;
      const c0 = buf[p];
      if (c0 === 77 || c0 === 72) {
        // MSG / HMSG
        const args = buf.toString('latin1', p, eol).split(' ');
        const h = c0 === 72;
        const total = Number(args[args.length - 1]);
        if (eol + 2 + total + 2 > n) break;
        const hdrLen = h ? Number(args[args.length - 2]) : 0;
        const subject = args[1];
        const sid = Number(args[2]);
        const reply = args.length === (h ? 6 : 5) ? args[3] : null;
        const start = eol + 2;
        const headers = h ? buf.toString('latin1', start, start + hdrLen) : null;
        const payload = buf.subarray(start + hdrLen, start + total);
        p = start + total + 2;
        const handler = this.subs.get(sid);
        if (handler) handler(payload, subject, reply, headers);
      } else {
        const line = buf.toString('latin1', p, eol);
        p = eol + 2;
        if (line === 'PING') this.socket.write('PONG\r\n');
        else if (line === 'PONG') this.pongs.shift()?.resolve();
        else if (line.startsWith('-ERR')) {
          const e = new Error(`nats: ${line}`);
          this.error = e;
          for (const q of this.pongs) q.reject(e);
        }
        // INFO and +OK are ignored
      }
    }
    this.buf = buf;
    this.pos = p;
  }

  close() {
    this.socket.destroy();
  }
}

const CRLF = Buffer.from('\r\n');
