import type { IncomingMessage } from 'node:http';
import { resolveHttpOptions } from './http-tracing.options';
import { requestAttributes, requestTarget } from './request-attributes';

function fakeRequest(fields: { method?: string; url?: string; headers?: Record<string, string> }): IncomingMessage {
  return {
    method: fields.method ?? 'GET',
    url: fields.url ?? '/',
    headers: fields.headers ?? {},
    httpVersion: '1.1',
    socket: { remoteAddress: '10.0.0.9' },
  } as unknown as IncomingMessage;
}

function attributesOf(fields: Parameters<typeof fakeRequest>[0]) {
  const request = fakeRequest(fields);
  return requestAttributes(request, requestTarget(request), resolveHttpOptions());
}

describe('requestTarget', () => {
  it.each([
    ['/users/1?page=2', '/users/1', 'page=2'],
    ['/users/1', '/users/1', undefined],
    ['/?', '/', ''],
    ['*', '*', undefined],
    ['http://evil.example:9/api/users/1?x=1', '/api/users/1', 'x=1'],
    ['http://evil.example', '/', undefined],
    ['http://evil.example?x=/y', '/', 'x=/y'],
  ])('reads %j as path %j and query %j', (url, path, query) => {
    expect(requestTarget(fakeRequest({ url }))).toMatchObject({ path, query });
  });

  it('keeps known methods and names others _OTHER / HTTP', () => {
    expect(requestTarget(fakeRequest({ method: 'PATCH' }))).toMatchObject({ method: 'PATCH', spanNamePrefix: 'PATCH' });
    expect(requestTarget(fakeRequest({ method: 'PROPFIND' }))).toMatchObject({
      method: '_OTHER',
      spanNamePrefix: 'HTTP',
    });
  });
});

describe('requestAttributes', () => {
  it.each([
    ['example.com:8080', 'example.com', 8080],
    ['example.com', 'example.com', 80],
    ['[::1]:3000', '::1', 3000],
    ['[::1]', '::1', 80],
    ['example.com:abc', 'example.com', undefined],
    ['example.com:0', 'example.com', undefined],
    ['example.com:70000', 'example.com', undefined],
    ['[::1', undefined, undefined],
    ['[::1]x', undefined, undefined],
    [':80', undefined, undefined],
    ['a'.repeat(300), undefined, undefined],
  ])('reads Host %j as server.address %j and server.port %j', (host, address, port) => {
    const attributes = attributesOf({ headers: { host } });
    expect(attributes['server.address']).toBe(address);
    expect(attributes['server.port']).toBe(port);
  });

  it('takes client.address from the first X-Forwarded-For entry, else the peer', () => {
    expect(attributesOf({ headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } })['client.address']).toBe(
      '203.0.113.7',
    );
    expect(attributesOf({})['client.address']).toBe('10.0.0.9');
    expect(attributesOf({ headers: { 'x-forwarded-for': 'x'.repeat(100) } })['client.address']).toBe('10.0.0.9');
  });

  it('keeps the original of an unknown method', () => {
    expect(attributesOf({ method: 'PROPFIND' })).toMatchObject({
      'http.request.method': '_OTHER',
      'http.request.method_original': 'PROPFIND',
    });
  });
});
