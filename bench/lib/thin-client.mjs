// A thin Kafka client for benchmarks: one socket, pipelined requests, Brook's own codec (from
// dist/). It is deliberately minimal so that the client costs little of the two cores it shares
// with the broker.
import { connect } from 'node:net';
import { encodeRequest, decodeResponse } from '../../dist/src/protocol/index.js';

export class ThinClient {
  static async connect(host, port) {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new ThinClient(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.pending = new Map();
    this.nextId = 1;
    this.chunks = [];
    this.buffered = 0;
    socket.on('data', (c) => this.onData(c));
    socket.on('error', (err) => this.failAll(err));
    socket.on('close', () => this.failAll(new Error('connection closed')));
  }

  request(apiKey, version, body, { expectResponse = true, timeoutMs = 30_000 } = {}) {
    const id = this.nextId++;
    this.socket.write(encodeRequest(apiKey, version, id, 'brook-bench', body));
    if (!expectResponse) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`request ${apiKey} v${version} timed out`));
      }, timeoutMs);
      this.pending.set(id, { apiKey, version, resolve, reject, timer });
    });
  }

  onData(chunk) {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      let head = this.chunks[0].length >= 4 ? this.chunks[0] : Buffer.concat(this.chunks);
      const size = head.readInt32BE(0);
      if (this.buffered < 4 + size) return;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      const id = frame.readInt32BE(0);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      try {
        p.resolve(decodeResponse(p.apiKey, p.version, frame).body);
      } catch (err) {
        p.reject(err);
      }
    }
  }

  failAll(err) {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  close() {
    this.socket.destroy();
  }
}
