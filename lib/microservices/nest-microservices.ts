import type * as Microservices from '@nestjs/microservices';
import { requireOptional } from '../core';

let loaded: typeof Microservices | null | undefined;

/**
 * `@nestjs/microservices`, the app's copy, or `undefined` when the app does not
 * have it (it is an optional peer dependency: an HTTP-only app never loads it).
 */
export function nestMicroservices(): typeof Microservices | undefined {
  if (loaded === undefined) {
    loaded = requireOptional<typeof Microservices>('@nestjs/microservices') ?? null;
  }
  return loaded ?? undefined;
}

/** A transport's client library (`@grpc/grpc-js`), when the app has it. */
export function transportPackage<T>(name: '@grpc/grpc-js'): T | undefined {
  return requireOptional<T>(name);
}

/**
 * The NATS client library Nest's NATS transport loads, when the app has it:
 * `@nats-io/transport-node` (NATS.js 3) from Nest 12 on, `nats` (NATS.js 2) before.
 * Nest 12 is the one published as ES modules.
 */
export function natsPackage<T>(): T | undefined {
  const microservices = nestMicroservices() as { [Symbol.toStringTag]?: unknown } | undefined;
  return requireOptional<T>(microservices?.[Symbol.toStringTag] === 'Module' ? '@nats-io/transport-node' : 'nats');
}
