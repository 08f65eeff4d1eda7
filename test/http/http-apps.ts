import { VersioningType, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { TracingModuleOptions } from 'nestjs-tracing';
import { HttpAppModule } from './app.module';

export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** A running test app on loopback and its base URL (with the global prefix `api`). */
export interface RunningApp {
  app: INestApplication;
  url: string;
}

/**
 * Starts `HttpAppModule` on an ephemeral loopback port with the given adapter;
 * `withoutRequestHook` makes the adapter look like one older than Nest 11.1.4.
 */
export async function startHttpApp(
  adapter: AdapterName,
  options: TracingModuleOptions = {},
  { withoutRequestHook = false } = {},
): Promise<RunningApp> {
  const httpAdapter = adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  if (withoutRequestHook) {
    Object.defineProperty(httpAdapter, 'setOnRequestHook', { value: undefined });
  }
  const app = await NestFactory.create(HttpAppModule.with(options), httpAdapter, { logger: false });
  app.setGlobalPrefix('api');
  app.enableVersioning({ type: VersioningType.URI });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url: `${url}/api` };
}
