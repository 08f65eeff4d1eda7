import { config, serve } from './service';
import { Controller, Injectable, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { Traced, TracingModule } from 'nestjs-tracing';

@Injectable()
class StockService {
  private readonly logger = new Logger(StockService.name);
  private readonly stock = new Map<number, number>([[1, 10]]);

  @Traced()
  async reserve(productId: number, quantity: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 3));
    this.stock.set(productId, (this.stock.get(productId) ?? 0) - quantity);
    this.logger.log(`reserved ${quantity} of product ${productId}`);
  }

  /** A background job: no request around it, so it starts its own trace. */
  @Interval(1500)
  @Traced('inventory.restock')
  restock(): void {
    this.stock.set(1, 10);
  }
}

@Controller()
class InventoryController {
  constructor(private readonly stock: StockService) {}

  @EventPattern('order.placed')
  async placed(@Payload() order: { productId: number; quantity: number }) {
    await this.stock.reserve(order.productId, order.quantity);
  }
}

@Module({
  imports: [TracingModule.forRoot(), ScheduleModule.forRoot()],
  controllers: [InventoryController],
  providers: [StockService],
})
class InventoryModule {}

export function eventTransport(): MicroserviceOptions {
  switch (config.eventTransport) {
    case 'nats':
      return { transport: Transport.NATS, options: { servers: ['nats://127.0.0.1:4222'] } };
    case 'redis':
      return { transport: Transport.REDIS, options: { host: '127.0.0.1', port: 6379 } };
    default:
      return { transport: Transport.TCP, options: { host: '127.0.0.1', port: config.inventoryPort } };
  }
}

async function main(): Promise<void> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(InventoryModule, {
    ...eventTransport(),
    logger: ['error', 'warn'],
  });
  await app.listen();
  serve(app, 'inventory');
}

if (require.main === module) {
  void main();
}
