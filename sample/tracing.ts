import { startTracing } from 'nestjs-tracing/sdk';

// Start tracing before the application's modules are loaded.
export const tracing = startTracing({ serviceName: 'nestjs-tracing-sample', exporter: 'waterfall' });
