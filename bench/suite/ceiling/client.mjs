// Client of the plumbing ceiling's framing (see server.mjs): one socket, pipelined, in order.
import { connect } from 'node:net';
import { frameReader } from '../lib/frames.mjs';

export class CeilingClient {
  static async connect(host, port) {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new CeilingClient(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.waiting = []; // FIFO of { resolve, reject }: answers come in request order
    this.nextId = 1;
    socket.on(
      'data',
      frameReader((f) => this.waiting.shift().resolve(f)),
    );
    const fail = (e) => {
      for (const w of this.waiting) w.reject(e);
      this.waiting = [];
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  send(op, partition, head, body) {
    const f = Buffer.allocUnsafe(13 + head.length + (body ? body.length : 0));
    f.writeInt32BE(f.length - 4, 0);
    f.writeInt32BE(this.nextId++, 4);
    f.writeInt8(op, 8);
    f.writeInt32BE(partition, 9);
    head.copy(f, 13);
    if (body) f.set(body, 13 + head.length);
    this.socket.write(f);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Resolves with the base offset assigned to the batch. */
  async produce(partition, batch) {
    const r = await this.send(0, partition, Buffer.alloc(0), batch);
    return r.readDoubleBE(4);
  }

  /** Resolves with { hw, records: Buffer of concatenated batches }. */
  async fetch(partition, offset, maxBytes, maxWaitMs = 0) {
    const h = Buffer.allocUnsafe(16);
    h.writeDoubleBE(offset, 0);
    h.writeInt32BE(maxBytes, 8);
    h.writeInt32BE(maxWaitMs, 12);
    const r = await this.send(1, partition, h);
    return { hw: r.readDoubleBE(4), records: r.subarray(12) };
  }

  close() {
    this.socket.destroy();
  }
}
