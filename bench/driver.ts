// What the benchmark drivers share: reading the CPU time, peak RSS and span count of a
// benchmark process they forked (http.bench.ts, microservices.bench.ts), a free port
// for one to listen on, and the median of the rounds.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** The unit of the CPU times in `/proc/<pid>/stat` (USER_HZ, `getconf CLK_TCK`: 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU time of a process, in clock ticks (`/proc/<pid>/stat` fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The CPU time of `ticks` clock ticks spread over `count` operations, in µs per operation. */
export function cpuMicrosPer(ticks: number, count: number): number {
  return ((ticks / CLOCK_TICKS_PER_SECOND) * 1e6) / count;
}

/** The peak resident set size of a process, in kB (`VmHWM`). */
export function peakRssKb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]);
}

/** How many spans a benchmark process's exporter has received: its answer to `count`. */
export function spanCount(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'spans' in message) {
        child.removeListener('message', listener);
        resolve((message as { spans: number }).spans);
      }
    };
    child.on('message', listener);
    child.send('count');
  });
}

/** A TCP port free on loopback, for a benchmark server to listen on. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The middle value, or the mean of the two middle values when there is an even number. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
