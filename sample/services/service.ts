import type { INestApplicationContext } from '@nestjs/common';
import { TracingLogger } from 'nestjs-tracing';
import { tracing } from '../tracing';

/** The transport the orders service uses to tell inventory, chosen by the sample's main. */
export type EventTransport = 'nats' | 'redis' | 'tcp';

/** What every service of the sample reads from its environment. */
export const config = {
  gatewayPort: Number(process.env.SAMPLE_GATEWAY_PORT),
  ordersPort: Number(process.env.SAMPLE_ORDERS_PORT),
  inventoryPort: Number(process.env.SAMPLE_INVENTORY_PORT),
  eventTransport: (process.env.SAMPLE_EVENT_TRANSPORT ?? 'tcp') as EventTransport,
};

/**
 * Logs through `TracingLogger` from now on (quiet while booting), tells the sample's
 * main process that the service is up, and on its request closes the app and flushes
 * the spans.
 */
export function serve(app: INestApplicationContext, service: string): void {
  app.useLogger(new TracingLogger(service, { logLevels: ['log', 'error', 'warn'] }));
  const stop = async () => {
    await app.close();
    await tracing.shutdown();
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'flush') {
      void tracing.forceFlush().then(() => process.send?.('flushed'));
    } else if (message === 'stop') {
      void stop();
    }
  });
  process.send?.('ready');
}
