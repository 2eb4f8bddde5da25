import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TYPES, apiTypes } from '../web/gen-api.ts';
import { createTestApp, type TestContext } from './harness.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('web: the console and the portal are served by the API server', () => {
  it('serves each app at its path, and its index.html for any page under it', async () => {
    for (const app of ['console', 'portal']) {
      const root = await t.call({ method: 'GET', url: `/${app}/`, key: null });
      expect(root.statusCode).toBe(200);
      expect(root.headers['content-type']).toMatch(/^text\/html/);
      expect(root.headers['cache-control']).toBe('no-cache');
      const deep = await t.call({ method: 'GET', url: `/${app}/p/x/members/y`, key: null });
      expect(deep.statusCode).toBe(200);
      expect(deep.body).toBe(root.body);
      const bare = await t.call({ method: 'GET', url: `/${app}`, key: null });
      expect(bare.statusCode).toBe(302);
      expect(bare.headers.location).toBe(`/${app}/`);
      // Its scripts, named by their content, cached for good.
      const script = /src="(\/[a-z]+\/assets\/[^"]+\.js)"/.exec(root.body)?.[1] as string;
      const js = await t.call({ method: 'GET', url: script, key: null });
      expect(js.statusCode).toBe(200);
      expect(js.headers['content-type']).toMatch(/javascript/);
      expect(js.headers['cache-control']).toContain('immutable');
    }
  });

  it('keeps the API answering problem+json around them', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/nowhere' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });
});

describe('web: the apps are typed by the API as it is', () => {
  it('has API types generated from the current OpenAPI document (npm run gen:api)', async () => {
    const now = await apiTypes();
    const committed = fs.readFileSync(API_TYPES, 'utf8');
    expect(committed === now, 'web/src/api/schema.d.ts is stale: run npm run gen:api').toBe(true);
  });

  it('writes no user-visible text into a component: every string comes from a dictionary', () => {
    const src = path.join(import.meta.dirname, '..', 'web', 'src');
    const files = fs
      .readdirSync(src, { recursive: true, encoding: 'utf8' })
      // The dictionaries are where the texts belong.
      .filter((f) => f.endsWith('.tsx') && !f.startsWith(`i18n${path.sep}`))
      .map((f) => path.join(src, f));
    expect(files.length).toBeGreaterThan(5);
    const offences: string[] = [];
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      const checks: [RegExp, string][] = [
        // Chinese anywhere outside the dictionaries.
        [/[\u4e00-\u9fff]+/gu, 'Chinese text'],
        // Text between JSX tags: `>Save<`, `> Members </`.
        [/>\s*([A-Za-z][^<>{}=;()]*?)\s*<\//g, 'JSX text'],
        // Text in the attributes people read.
        [
          /\b(?:title|placeholder|label|alt|aria-label|okText|cancelText)="([^"]*[A-Za-z][^"]*)"/g,
          'attribute',
        ],
      ];
      for (const [pattern, what] of checks) {
        for (const m of text.matchAll(pattern))
          offences.push(`${path.relative(src, file)}: ${what} ${JSON.stringify(m[0].trim())}`);
      }
    }
    expect(offences).toEqual([]);
  });
});
