// A thin RESP2 client for Redis: one socket, pipelined commands, replies in order. The parser is
// resumable (a reply split across TCP chunks is not re-parsed from its start) and bulk strings are
// returned as Buffer views without copying.
import { connect } from 'node:net';

const CRLF = Buffer.from('\r\n');

export function encodeCommand(args) {
  let n = 0;
  const parts = [`*${args.length}\r\n`];
  for (const a of args) {
    if (Buffer.isBuffer(a)) {
      parts.push(`$${a.length}\r\n`, a, CRLF);
    } else {
      const s = String(a);
      parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
    }
  }
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
  for (const b of bufs) n += b.length;
  return Buffer.concat(bufs, n);
}

export class RespClient {
  static async connect(host, port) {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RespClient(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.waiting = [];
    this.wHead = 0;
    this.buf = null;
    this.pos = 0;
    this.stack = []; // arrays being filled: { arr, left }
    socket.on('data', (c) => this.onData(c));
    const fail = (e) => {
      for (let i = this.wHead; i < this.waiting.length; i++) this.waiting[i].reject(e);
      this.waiting = [];
      this.wHead = 0;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Sends one command; resolves with its reply (errors reject). */
  call(...args) {
    return this.send(encodeCommand(args));
  }

  /** Writes pre-encoded bytes holding `count` commands; resolves with the last reply. */
  send(bytes, count = 1) {
    this.socket.write(bytes);
    return new Promise((resolve, reject) => {
      for (let i = 1; i < count; i++) this.waiting.push({ resolve: noop, reject });
      this.waiting.push({ resolve, reject });
    });
  }

  reply(v) {
    const w = this.waiting[this.wHead++];
    if (this.wHead > 4096) {
      this.waiting = this.waiting.slice(this.wHead);
      this.wHead = 0;
    }
    if (v instanceof Error) w.reject(v);
    else w.resolve(v);
  }

  push(v) {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.reply(v);
        return;
      }
      top.arr.push(v);
      if (--top.left > 0) return;
      this.stack.pop();
      v = top.arr;
    }
  }

  onData(chunk) {
    let buf = this.buf && this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    let p = 0;
    const n = buf.length;
    for (;;) {
      if (p >= n) break;
      const eol = buf.indexOf(13, p);
      if (eol < 0 || eol + 1 >= n) break;
      const type = buf[p];
      if (type === 36) {
        // $ bulk
        const len = parseIntAscii(buf, p + 1, eol);
        if (len < 0) {
          p = eol + 2;
          this.push(null);
          continue;
        }
        if (eol + 2 + len + 2 > n) break;
        const v = buf.subarray(eol + 2, eol + 2 + len);
        p = eol + 2 + len + 2;
        this.push(v);
      } else if (type === 42) {
        // * array
        const len = parseIntAscii(buf, p + 1, eol);
        p = eol + 2;
        if (len < 0) this.push(null);
        else if (len === 0) this.push([]);
        else this.stack.push({ arr: [], left: len });
      } else if (type === 43) {
        this.push(buf.toString('latin1', p + 1, eol));
        p = eol + 2;
      } else if (type === 58) {
        this.push(parseIntAscii(buf, p + 1, eol));
        p = eol + 2;
      } else if (type === 45) {
        this.push(new Error(buf.toString('utf8', p + 1, eol)));
        p = eol + 2;
      } else throw new Error(`RESP: unexpected byte ${type}`);
    }
    this.buf = buf;
    this.pos = p;
  }

  close() {
    this.socket.destroy();
  }
}

function noop() {}

function parseIntAscii(buf, s, e) {
  let neg = false;
  if (buf[s] === 45) {
    neg = true;
    s++;
  }
  let v = 0;
  for (let i = s; i < e; i++) v = v * 10 + (buf[i] - 48);
  return neg ? -v : v;
}
