// A process that traces, for the signal tests: it ends one span, says "ready", and
// waits for a signal. With WITH_CLOSER=1 it also listens to SIGTERM as Nest's
// enableShutdownHooks() does: it "closes the app" (ending one more span), removes its
// listener and raises the signal again.
import { trace } from '@opentelemetry/api';
import { startTracing } from '../../lib/sdk';

startTracing({ serviceName: 'signals', exporter: 'zipkin', zipkinEndpoint: process.env.ZIPKIN_URL });
trace.getTracer('child').startSpan('before the signal').end();

if (process.env.WITH_CLOSER === '1') {
  const closer = (): void => {
    setTimeout(() => {
      trace.getTracer('child').startSpan('while closing').end();
      process.removeListener('SIGTERM', closer);
      process.kill(process.pid, 'SIGTERM');
    }, 100);
  };
  process.on('SIGTERM', closer);
}

setInterval(() => undefined, 1000);
process.stdout.write('ready\n');
