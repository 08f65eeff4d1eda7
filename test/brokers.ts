import { connect } from 'node:net';

/**
 * The local brokers the e2e tests talk to, on loopback. `.ci/brokers.sh` starts any
 * that is down (CI runs it before the tests).
 */
export const BROKERS = {
  redis: { host: '127.0.0.1', port: 6379 },
  rabbitmq: { host: '127.0.0.1', port: 5672, url: 'amqp://guest:guest@127.0.0.1:5672' },
  nats: { host: '127.0.0.1', port: 4222, url: 'nats://127.0.0.1:4222' },
  mqtt: { host: '127.0.0.1', port: 1883, url: 'mqtt://127.0.0.1:1883' },
} as const;

export type BrokerName = keyof typeof BROKERS;

const CONNECT_TIMEOUT_MS = 2000;

/**
 * Resolves once the broker accepts a TCP connection; rejects, naming the broker, its
 * address and how to start it, when it does not within 2 s. It never skips: a suite
 * that needs a broker fails without one, locally as under CI. Call it in `beforeAll`.
 */
export async function requireBroker(name: BrokerName): Promise<void> {
  const { host, port } = BROKERS[name];
  try {
    await tcpConnect(host, port, CONNECT_TIMEOUT_MS);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot reach the ${name} broker at ${host}:${port} because ${reason}. ` +
        'The e2e tests need it running. Make sure to start the local brokers with `bash .ci/brokers.sh`.',
      { cause: error },
    );
  }
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`it did not accept a connection within ${timeoutMs} ms`));
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}
