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

/** A transport's client library (`nats`, `@grpc/grpc-js`), when the app has it. */
export function transportPackage<T>(name: 'nats' | '@grpc/grpc-js'): T | undefined {
  return requireOptional<T>(name);
}
