import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRACER_VERSION } from './tracing.constants';

describe('TRACER_VERSION', () => {
  it('is the version in package.json, reported as the instrumentation scope version', () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(TRACER_VERSION).toBe(version);
  });
});
