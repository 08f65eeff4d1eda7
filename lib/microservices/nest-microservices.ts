import type * as Microservices from '@nestjs/microservices';

let loaded: typeof Microservices | null | undefined;

/**
 * `@nestjs/microservices`, the app's copy, or `undefined` when the app does not
 * have it (it is an optional peer dependency: an HTTP-only app never loads it).
 */
export function nestMicroservices(): typeof Microservices | undefined {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('@nestjs/microservices') as typeof Microservices;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** A transport's client library (`nats`, `@grpc/grpc-js`), when the app has it. */
export function transportPackage<T>(name: 'nats' | '@grpc/grpc-js'): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch {
    return undefined;
  }
}
