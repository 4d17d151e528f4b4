/**
 * Gateway: the Kafka protocol listener, the node's front door. Lives on the main thread. It
 * accepts at most `maxConnections` connections; each `Connection` frames, decodes and dispatches
 * its own requests.
 */
import { createServer, type Server } from 'node:net';
import type { Broker } from './context.js';
import { Connection } from './connection.js';
import { listen } from './listen.js';

export class Gateway {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();

  constructor(private readonly broker: Omit<Broker, 'advertised'> & { advertised: { host: string; port: number } }) {
    this.server = createServer((socket) => {
      const c = new Connection(socket, this.broker, (closed) => this.connections.delete(closed));
      this.connections.add(c);
    });
    this.server.maxConnections = broker.config.maxConnections;
  }

  /** Binds the listener; returns the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return listen(this.server, host, port);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting, then closes every open connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.close('node stopping');
    await closed;
  }
}
