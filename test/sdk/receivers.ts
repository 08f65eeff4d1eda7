import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';

/** A span as a receiver got it, in one shape for OTLP and Zipkin. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentId: string | undefined;
  name: string;
  serviceName: string | undefined;
  attributes: Record<string, unknown>;
}

/** A local receiver on loopback: its URL and what it has received. */
export interface Receiver {
  url: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

async function listen(
  handle: (path: string, body: Buffer, contentType: string) => void,
): Promise<Receiver & { server: Server }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        handle(request.url ?? '/', Buffer.concat(chunks), String(request.headers['content-type']));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error) {
        response.writeHead(400).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    spans: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** An OTLP/HTTP receiver: decodes `POST /v1/traces` (protobuf) with protobufjs. */
export async function startOtlpReceiver(): Promise<Receiver> {
  const root = await protobuf.load(join(__dirname, 'otlp-trace.proto'));
  const Request = root.lookupType('otlp.ExportTraceServiceRequest');
  const receiver = await listen((path, body, contentType) => {
    if (path !== '/v1/traces' || contentType !== 'application/x-protobuf') {
      throw new Error(`unexpected ${path} ${contentType}`);
    }
    const request = Request.toObject(Request.decode(body), { longs: Number, bytes: Array }) as {
      resourceSpans?: {
        resource?: { attributes?: { key: string; value: Record<string, unknown> }[] };
        scopeSpans?: {
          spans?: {
            traceId: number[];
            spanId: number[];
            parentSpanId?: number[];
            name: string;
            attributes?: { key: string; value: Record<string, unknown> }[];
          }[];
        }[];
      }[];
    };
    for (const resourceSpans of request.resourceSpans ?? []) {
      const resource = keyValues(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          receiver.spans.push({
            traceId: hex(Uint8Array.from(span.traceId)),
            spanId: hex(Uint8Array.from(span.spanId)),
            parentId: span.parentSpanId?.length ? hex(Uint8Array.from(span.parentSpanId)) : undefined,
            name: span.name,
            serviceName: resource['service.name'] as string | undefined,
            attributes: { ...resource, ...keyValues(span.attributes) },
          });
        }
      }
    }
  });
  return receiver;
}

function keyValues(list: { key: string; value: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, Object.values(value)[0]]));
}

/** A Zipkin v2 receiver: `POST /api/v2/spans` with a JSON array of spans. */
export async function startZipkinReceiver(): Promise<Receiver> {
  const receiver = await listen((path, body) => {
    if (path !== '/api/v2/spans') {
      throw new Error(`unexpected ${path}`);
    }
    const spans = JSON.parse(body.toString()) as {
      traceId: string;
      id: string;
      parentId?: string;
      name: string;
      localEndpoint?: { serviceName?: string };
      tags?: Record<string, string>;
    }[];
    for (const span of spans) {
      receiver.spans.push({
        traceId: span.traceId,
        spanId: span.id,
        parentId: span.parentId,
        name: span.name,
        serviceName: span.localEndpoint?.serviceName,
        attributes: span.tags ?? {},
      });
    }
  });
  return receiver;
}
