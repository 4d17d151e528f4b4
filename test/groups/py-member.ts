/**
 * One python consumer-group member (python/group_member.py) in a child process, for the group
 * interop tests: what it consumed, each assignment and revocation it was given, and two ways to
 * end it, a clean close or a crash (SIGKILL: no LeaveGroup, no more heartbeats).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from '../helpers/clients.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'python', 'group_member.py');

export interface Line {
  partition: number;
  offset: number;
  value: string | null;
}

export interface PyMemberOptions {
  assignor?: string;
  /** librdkafka only: group.instance.id, which makes the member static (KIP-345). */
  groupInstanceId?: string;
  sessionTimeoutMs?: number;
  /** The member exits on its own after this long (default 60 s), so a failed test leaves no process behind. */
  maxS?: number;
}

export class PyMember {
  readonly records: Line[] = [];
  readonly assignments: number[][] = [];
  readonly revocations: number[][] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(
    client: 'ck' | 'kp',
    bootstrap: string,
    topic: string,
    group: string,
    private readonly stopFile: string,
    opts: PyMemberOptions = {},
  ) {
    this.child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.end(
      JSON.stringify({
        client,
        bootstrap,
        topic,
        group,
        assignor: opts.assignor ?? 'range',
        stop_file: stopFile,
        max_s: opts.maxS ?? 60,
        group_instance_id: opts.groupInstanceId ?? null,
        session_timeout_ms: opts.sessionTimeoutMs ?? 6000,
      }),
    );
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Line & { assigned?: number[]; revoked?: number[] };
        buf = buf.slice(nl + 1);
        if (line.assigned) this.assignments.push(line.assigned);
        else if (line.revoked) this.revocations.push(line.revoked);
        else this.records.push(line);
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** The partitions of the latest assignment, or [] before the first. */
  get owned(): number[] {
    return this.assignments.at(-1) ?? [];
  }

  /** Asks the member to close (commit; LeaveGroup unless static) and waits for it, killing it after 20 s. */
  async stop(): Promise<void> {
    writeFileSync(this.stopFile, '');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const code = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`python member exited with ${code}: ${this.stderr}`);
  }

  /** Crashes the member: SIGKILL, so it neither leaves the group nor commits. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
