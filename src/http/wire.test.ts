import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';

// What Node's HTTP parser refuses never reaches Fastify, so `inject` cannot show it: these
// requests go over a real socket, byte for byte.

let t: TestContext;
let port: number;
beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(() => t.close());

/** Sends raw bytes and returns everything the server answers before it closes the connection. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (d) => {
      answer += d;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

function parse(answer: string) {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const [status = '', ...headers] = head.split('\r\n');
  const h = Object.fromEntries(
    headers.map((l) => [
      l.slice(0, l.indexOf(':')).toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim(),
    ]),
  );
  return { status: Number(status.split(' ')[1]), headers: h, body: JSON.parse(body) };
}

describe('requests Node itself refuses answer problem+json with a request id', () => {
  it.each([
    [
      'a 20,000-character path',
      `GET /v1/programs/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    [
      'a control character in a header',
      'GET /health HTTP/1.1\r\nHost: x\r\nX-Odd: a\u0001b\r\n\r\n',
      400,
      'malformed_request',
    ],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n', 400, 'malformed_request'],
  ])('%s → %i %s', async (_, request, status, code) => {
    const res = parse(await raw(request));
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code });
    expect(res.body.requestId).toMatch(/^req_/);
    expect(res.headers['x-request-id']).toBe(res.body.requestId);
  });
});
