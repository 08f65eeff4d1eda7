import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * The folder of the microservice specs' `.proto` files, from the repository's root
 * (where `npm test` runs): the specs also run compiled to ES modules, from elsewhere,
 * which have no `__dirname`.
 */
export const PROTO_DIR = resolve('test', 'microservices');
