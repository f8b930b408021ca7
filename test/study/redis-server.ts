// A private redis-server (Debian's) for tests and benchmarks: a free loopback port, no persistence,
// a temporary directory; stopped by stop(). Optionally with a password.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestRedis {
  port: number;
  /** redis://127.0.0.1:PORT, with :PASSWORD@ when started with one */
  url: string;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(o: { password?: string } = {}): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', dir, '--daemonize', 'no', '--loglevel', 'warning');
    if (o.password) args.push('--requirepass', o.password);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    const up = await ready(child, port);
    if (up) {
      const auth = o.password ? `:${encodeURIComponent(o.password)}@` : '';
      return {
        port,
        url: `redis://${auth}127.0.0.1:${port}`,
        stop: async () => {
          if (child.exitCode === null) {
            const gone = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await gone;
          }
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error('redis-server did not start (is Debian’s redis-server installed?)');
  }
}

/** Wait until the server accepts connections on the port (false if it exited first). */
async function ready(child: ChildProcess, port: number): Promise<boolean> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });
  for (let i = 0; i < 100 && !exited; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
