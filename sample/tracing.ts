import { startTracing, type ExporterName } from 'nestjs-tracing/sdk';

// Imported first by each service, so tracing starts before the app's modules load.
// The sample's services send their spans to the sample's collector (Zipkin JSON on
// loopback, which draws the waterfalls), and to an OTLP backend when
// OTEL_EXPORTER_OTLP_ENDPOINT is set.
const exporters: ExporterName[] = ['zipkin'];
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined) {
  exporters.push('otlp');
}

export const tracing = startTracing({
  serviceName: process.env.SAMPLE_SERVICE,
  exporter: exporters,
  zipkinEndpoint: process.env.SAMPLE_COLLECTOR_URL,
});
