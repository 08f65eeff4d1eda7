import { tracing } from './tracing';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  for (const id of ['42', '7']) {
    const response = await fetch(`${url}/users/${id}`);
    console.log(`GET /users/${id} -> ${response.status} ${await response.text()}`);
  }
  await app.close();
  console.log('\nFinished spans:\n');
  await tracing.shutdown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
