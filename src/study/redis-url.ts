// Redis URLs for the study queue: parsed strictly, shown only with the password replaced, and
// probed once with a clear error when the server cannot be reached. A password never appears in
// anything tlc prints: every message from Redis or its client passes through scrub() first.
import { InputError, SetupError } from '../engine/errors.ts';

export interface QueueUrl {
  /** the full URL, password included: only for the Redis client */
  url: string;
  /** the URL with its password replaced by *** (for messages and logs) */
  shown: string;
  password: string | null;
}

/** `redis://[user:password@]host:port[/db]`, `rediss://…`, or `env:NAME` to read it from an environment variable. */
export function parseQueueUrl(spec: string, env: NodeJS.ProcessEnv = process.env): QueueUrl {
  let text = spec;
  if (spec.startsWith('env:')) {
    const name = spec.slice(4);
    text = env[name] ?? '';
    if (!text) throw new InputError(`--queue ${spec}: the environment variable ${name} is not set`);
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new InputError(
      `--queue: expected a URL like redis://HOST:PORT, found '${redactText(text)}'`,
      'e.g. --queue redis://10.0.0.5:6379 (a password: redis://:PASSWORD@HOST:PORT, or --queue env:TLC_REDIS_URL)',
    );
  }
  const password = u.password ? decodeURIComponent(u.password) : null;
  const shownUrl = new URL(u.href);
  if (shownUrl.password) shownUrl.password = '***';
  const shown = shownUrl.href.replace(/\/$/, '');
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new InputError(`--queue: expected a redis:// or rediss:// URL, found '${shown}'`);
  if (!u.hostname) throw new InputError(`--queue: the URL ${shown} names no host`);
  if (u.pathname && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname))
    throw new InputError(`--queue: the path of ${shown} must be a database number (/0 … /15)`);
  return { url: u.href, shown, password };
}

/** A URL-looking string with any password replaced (for echoing input that failed to parse). */
function redactText(s: string): string {
  return s.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/** Replace the password wherever it occurs in a message from Redis, the client or a child. */
export function scrub(text: string, q: QueueUrl): string {
  let out = redactText(text);
  if (q.password) out = out.split(q.password).join('***');
  const enc = q.password ? encodeURIComponent(q.password) : null;
  if (enc && enc !== q.password) out = out.split(enc).join('***');
  return out;
}

/** Connection options for BullMQ (it wants maxRetriesPerRequest null on workers). */
export function connectionOf(q: QueueUrl): { url: string; maxRetriesPerRequest: null } {
  return { url: q.url, maxRetriesPerRequest: null };
}

/** Connect once, PING, disconnect: a SetupError naming the (redacted) URL when Redis is not there. */
export async function probeRedis(q: QueueUrl, timeoutMs = 5000): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(q.url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError = '';
  client.on('error', (e: Error) => {
    lastError = e.message;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const why = scrub(lastError || (e as Error).message || 'no answer', q);
    throw new SetupError(
      `cannot reach Redis at ${q.shown}: ${why}`,
      'start redis-server there (bound to an address the workers can reach), or check the host, port and password',
    );
  } finally {
    client.disconnect();
  }
}
