import { TracingError } from '../tracing.error';
import { loadOptional } from './load-optional';

describe('loadOptional', () => {
  it('names the package to install when it is missing', () => {
    expect(() => loadOptional('@opentelemetry/exporter-not-there', 'export spans there')).toThrow(TracingError);
    expect(() => loadOptional('@opentelemetry/exporter-not-there', 'export spans there')).toThrow(
      'Cannot export spans there because the package @opentelemetry/exporter-not-there is not installed. ' +
        'Make sure to install it: npm install @opentelemetry/exporter-not-there',
    );
  });

  it('loads a package that is there', () => {
    expect(
      loadOptional<{ ZipkinExporter: unknown }>('@opentelemetry/exporter-zipkin', 'export to Zipkin'),
    ).toHaveProperty('ZipkinExporter');
  });
});
