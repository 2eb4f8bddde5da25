import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { buildApp } from '../app.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('shop');
});
afterAll(() => t.close());

const json = { 'content-type': 'application/json' };

describe('every bad request answers a 4xx problem+json, never 500', () => {
  const cases = [
    {
      name: 'malformed JSON',
      method: 'POST',
      url: '/v1/programs',
      headers: json,
      payload: '{"id": "x",',
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'empty JSON body',
      method: 'POST',
      url: '/v1/programs',
      headers: json,
      payload: '',
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'JSON that is not an object',
      method: 'POST',
      url: '/v1/programs',
      headers: json,
      payload: '[1,2]',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'wrong type',
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 42, name: 'x' },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'unknown field',
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 'ab', name: 'x', color: 'red' },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'missing field',
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 'ab' },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'null body',
      method: 'POST',
      url: '/v1/programs',
      headers: json,
      payload: 'null',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'oversized body',
      method: 'POST',
      url: '/v1/programs',
      headers: json,
      payload: JSON.stringify({ id: 'big', name: 'x'.repeat(1024 * 1024) }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'text body',
      method: 'POST',
      url: '/v1/programs',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'bad query',
      method: 'GET',
      url: '/v1/programs?limit=1000',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'non-numeric limit',
      method: 'GET',
      url: '/v1/programs?limit=abc',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'unknown route',
      method: 'GET',
      url: '/v1/nothing-here',
      status: 404,
      code: 'not_found',
    },
    {
      name: 'unknown top-level route',
      method: 'GET',
      url: '/favicon.ico',
      status: 404,
      code: 'not_found',
    },
    {
      name: 'wrong method',
      method: 'PUT',
      url: '/v1/programs',
      status: 405,
      code: 'method_not_allowed',
    },
    {
      name: 'wrong method on a parameterised path',
      method: 'POST',
      url: '/v1/programs/shop',
      status: 405,
      code: 'method_not_allowed',
    },
    {
      name: 'NUL character in a body string',
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 'nul', name: 'a\u0000b' },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'NUL character in a nested body string',
      method: 'PATCH',
      url: '/v1/programs/shop',
      payload: { pointsName: '\u0000' },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'NUL character in a path',
      method: 'GET',
      url: '/v1/programs/p%00x',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'NUL character in a query',
      method: 'GET',
      url: '/v1/programs?cursor=%00',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'half of a surrogate pair in a nested body string',
      method: 'PATCH',
      url: '/v1/programs/shop',
      payload: { pointsName: 'a\ud800b' },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'NUL character inside a cursor',
      method: 'GET',
      url: `/v1/programs?cursor=${Buffer.from(JSON.stringify({ a: 'x\u0000' })).toString('base64url')}`,
      status: 400,
      code: 'invalid_cursor',
    },
    {
      name: 'JSON nested 10,000 deep, on a write route',
      method: 'POST',
      url: '/v1/programs/shop/members/m/points/redemptions',
      headers: json,
      payload: `{"points":1,"reference":"x","n":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a path parameter longer than an id may be',
      method: 'GET',
      url: `/v1/programs/${'p'.repeat(300)}`,
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a path segment longer than the router reads',
      method: 'GET',
      url: `/v1/programs/${'p'.repeat(1500)}`,
      status: 414,
      code: 'uri_too_long',
    },
    {
      name: 'a path that is not valid percent-encoded UTF-8',
      method: 'GET',
      url: '/v1/programs/%FF',
      status: 400,
      code: 'malformed_request',
    },
    {
      name: 'a body on a route that takes none (POST)',
      method: 'POST',
      url: '/v1/members/mem_x/erase',
      payload: { unexpected: true },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'an array body on a route that takes none',
      method: 'POST',
      url: '/v1/programs/shop/members/m/points/holds/h/release',
      headers: json,
      payload: '[]',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a string body on a route that takes none',
      method: 'POST',
      url: '/v1/programs/shop/members/m/points/holds/h/release',
      headers: json,
      payload: '"x"',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a null body on a route that takes none (DELETE)',
      method: 'DELETE',
      url: '/v1/programs/shop/api-keys/key_x',
      headers: json,
      payload: 'null',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'bad idempotency key',
      method: 'POST',
      url: '/v1/programs',
      headers: { 'idempotency-key': 'a'.repeat(300) },
      payload: { id: 'ik', name: 'x' },
      status: 400,
      code: 'idempotency_key_invalid',
    },
  ] as const;

  it.each(cases)('$name → $status $code', async (c) => {
    const res = await t.call({
      method: c.method,
      url: c.url,
      headers: 'headers' in c ? c.headers : {},
      ...('payload' in c ? { payload: c.payload } : {}),
    });
    expect(res.statusCode).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({ status: c.status, code: c.code });
    expect(typeof body.type).toBe('string');
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    expect(body.requestId).toBe(res.headers['x-request-id']);
    expect(res.body).not.toMatch(/at .*\.ts:\d+|select |insert into/i);
  });

  it('changes nothing on a bad request', async () => {
    const before = (await t.call({ method: 'GET', url: '/v1/programs' })).json().data.length;
    await t.call({
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 'ab', name: 'x', color: 'red' },
    });
    await t.call({ method: 'POST', url: '/v1/programs', headers: json, payload: '{' });
    expect((await t.call({ method: 'GET', url: '/v1/programs' })).json().data.length).toBe(before);
  });

  it('names the offending field in validation errors', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 'ab', name: 7 },
    });
    expect(res.json().errors).toEqual([{ path: 'name', message: expect.any(String) }]);
    expect(res.json().detail).toMatch(/^name: /);
  });

  it('refuses JSON nested deeper than 32 before parsing it, and reads 32', async () => {
    const nested = (depth: number) =>
      t.call({
        method: 'PATCH',
        url: '/v1/programs/shop',
        headers: json,
        payload: `{"name":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`,
      });
    expect((await nested(33)).json().errors).toEqual([
      { path: 'body', message: 'must not nest objects and arrays deeper than 32' },
    ]);
    expect((await nested(32)).json().errors).toEqual([
      { path: 'name', message: expect.any(String) },
    ]);
  });

  it('takes an empty object, or nothing, where a route takes no body', async () => {
    const m = (
      await t.call({
        method: 'POST',
        url: '/v1/programs/shop/members',
        payload: { identifiers: [{ type: 'phone', value: '13100000001' }], channel: 'pos' },
      })
    ).json().id;
    for (const payload of [{}, undefined]) {
      const res = await t.call({
        method: 'POST',
        url: `/v1/members/${m}/erase`,
        ...(payload && { payload }),
      });
      expect(res.statusCode, res.body).toBe(200);
    }
  });

  it('says which methods a path allows', async () => {
    const res = await t.call({ method: 'DELETE', url: '/v1/programs' });
    expect(res.headers.allow).toBe('GET, POST');
  });
});

describe('unexpected failures', () => {
  it('answer 500 internal_error without a stack trace or SQL', async () => {
    const app = await buildApp(t.deps);
    app.get('/boom', async () => {
      throw new Error('select * from secret_table where password = 1');
    });
    const res = await app.inject({ method: 'GET', url: '/boom' });
    await app.close();
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({
      code: 'internal_error',
      detail: 'An unexpected error occurred',
    });
    expect(res.body).not.toContain('secret_table');
  });
});

describe('operations endpoints', () => {
  it('serves /health and /ready without a key', async () => {
    expect((await t.call({ method: 'GET', url: '/health', key: null })).json()).toMatchObject({
      status: 'ok',
    });
    expect((await t.call({ method: 'GET', url: '/ready', key: null })).json()).toEqual({
      status: 'ready',
    });
  });

  it('keeps a sane request id from the caller and makes one otherwise', async () => {
    const given = await t.call({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'pos-7f3a' },
    });
    expect(given.headers['x-request-id']).toBe('pos-7f3a');
    const made = await t.call({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(made.headers['x-request-id']).toMatch(/^req_/);
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas, and a docs page', async () => {
    const res = await t.call({ method: 'GET', url: '/openapi.json', key: null });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(
      doc.paths['/v1/programs'].post.requestBody.content['application/json'].schema,
    ).toBeDefined();
    expect(doc.components.schemas.Program).toBeDefined();
    expect(doc.components.schemas.Problem).toBeDefined();
    const docs = await t.call({ method: 'GET', url: '/docs/', key: null });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('Swagger UI');
  });
});
