// Checks that a TCP call between two Nest versions made one trace: the server's
// `process greet` span is the child of the client's `send greet` span. Reads the
// `SPANS {...}` line each process printed (test/smoke/apps/main.ts, SMOKE_ROLE).
/* eslint-disable @typescript-eslint/no-require-imports */
const { readFileSync } = require('node:fs');

function spansOf(file) {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((candidate) => candidate.startsWith('SPANS '));
  if (line === undefined) {
    throw new Error(`${file} has no SPANS line`);
  }
  return JSON.parse(line.slice('SPANS '.length));
}

function named(side, name) {
  const span = side.spans.find((candidate) => candidate.name === name);
  if (span === undefined) {
    throw new Error(`Nest ${side.nestVersion} exported no "${name}" span: ${JSON.stringify(side.spans)}`);
  }
  return span;
}

const client = spansOf(process.argv[2]);
const server = spansOf(process.argv[3]);
const sent = named(client, 'send greet');
const processed = named(server, 'process greet');
if (processed.traceId !== sent.traceId || processed.parentSpanId !== sent.spanId) {
  throw new Error(
    `Nest ${client.nestVersion} → Nest ${server.nestVersion}: "process greet" is not the child of "send greet": ` +
      JSON.stringify({ sent, processed }),
  );
}
console.log(
  `smoke ok: Nest ${client.nestVersion} client → Nest ${server.nestVersion} server, one trace ${sent.traceId}`,
);
