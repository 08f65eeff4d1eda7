// What the reliability tests share: forking load-server.ts (the traced gateway, in a
// process of its own), asking it to measure itself, stopping it with SIGTERM and
// timing its exit, and driving it with autocannon on loopback.
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { FromServer, Measure, ToServer } from './load-server';

/** The body of every answer to GET /orders/1. */
export const ORDER_BODY = JSON.stringify({ id: 1, item: 'book' });

/** A load server running in its own process. */
export interface LoadServer {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  /** Settles, collects garbage and reports (after a flush of the spans when `flush`). */
  measure(flush?: boolean): Promise<Measure>;
  /** Sends SIGTERM and waits for the exit (or `timeoutMs`, then SIGKILL). */
  stop(timeoutMs?: number): Promise<Exit>;
}

/** How a load server ended. */
export interface Exit {
  /** From SIGTERM to the exit. */
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether it had to be killed because it did not exit in time. */
  killed: boolean;
}

/** Forks load-server.ts with `env` and waits until it listens. */
export function startLoadServer(name: string, env: Record<string, string> = {}): Promise<LoadServer> {
  const child = fork(join(__dirname, 'load-server.ts'), [], {
    execArgv: ['--expose-gc', '-r', join(__dirname, '..', 'sdk', 'ts-register.cjs')],
    env: { ...withoutOtelVariables(process.env), ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const early = (code: number | null) => reject(new Error(`${name}: the load server exited with ${code} first`));
    child.once('exit', early);
    child.on('message', function ready(received: unknown) {
      const message = received as FromServer;
      if (message.type !== 'ready') {
        return;
      }
      child.removeListener('message', ready);
      child.removeListener('exit', early);
      resolve({
        name,
        child,
        url: `http://127.0.0.1:${message.port}`,
        measure: (flush = false) => measureOf(child, flush),
        stop: (timeoutMs = 15_000) => stopOf(child, timeoutMs),
      });
    });
  });
}

/** The environment without the SDK's OTEL_* variables, so that each server is set up by its options only. */
function withoutOtelVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('OTEL_')));
}

function measureOf(child: ChildProcess, flush: boolean): Promise<Measure> {
  return new Promise((resolve) => {
    child.on('message', function measured(received: unknown) {
      const message = received as FromServer;
      if (message.type === 'measured') {
        child.removeListener('message', measured);
        resolve(message.measure);
      }
    });
    child.send({ type: 'measure', flush } satisfies ToServer);
  });
}

function stopOf(child: ChildProcess, timeoutMs: number): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ ms: 0, code: child.exitCode, signal: child.signalCode, killed: false });
  }
  const started = performance.now();
  return new Promise((resolve) => {
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ ms: Math.round(performance.now() - started), code, signal, killed });
    });
    child.kill('SIGTERM');
  });
}

/** What one autocannon run saw. */
export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  p50: number;
  p99: number;
  requestsPerSecond: number;
}

/** Sends `amount` GET /orders/1 over `connections` keep-alive connections; every body is checked. */
export async function runLoad(url: string, amount: number, connections: number): Promise<LoadResult> {
  const started = performance.now();
  // autocannon notices it is done on its one-second tick: time the run to its last response.
  let lastResponse = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: `${url}/orders/1`, connections, amount, expectBody: ORDER_BODY, timeout: 10 },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', () => {
      lastResponse = performance.now();
    });
  });
  return {
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requestsPerSecond: Math.round(result.requests.total / ((lastResponse - started) / 1000)),
  };
}

/** Bytes as megabytes, one decimal. */
export const mb = (bytes: number): number => Math.round(bytes / 104857.6) / 10;

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
