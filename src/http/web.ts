import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { distOf, WEB_APPS } from '../../web/build.ts';
import { DomainError } from '../shared/errors.ts';

/**
 * Serves the built console and portal, each under its own path: their files, and for any other
 * path under it the app's index.html, so that a reload of /console/p/x/members opens that page.
 * Hashed assets are cached for a year; index.html never, so a new build is seen at once. An app
 * not built yet answers 503 saying how to build it.
 */
export async function registerWeb(app: FastifyInstance): Promise<void> {
  for (const { name } of WEB_APPS) {
    const root = distOf(name);
    const index = path.join(root, 'index.html');
    const hide = { schema: { hide: true } };
    app.get(`/${name}`, hide, (_request, reply) => reply.redirect(`/${name}/`));
    if (!fs.existsSync(index)) {
      app.get(`/${name}/*`, hide, async () => {
        throw new DomainError('unavailable', `The ${name} is not built: run npm run build`);
      });
      continue;
    }
    const html = fs.readFileSync(index);
    await app.register(fastifyStatic, {
      root,
      prefix: `/${name}/`,
      decorateReply: false,
      wildcard: false,
      index: false,
      schemaHide: true,
      cacheControl: false,
      setHeaders(res, file) {
        res.setHeader(
          'cache-control',
          file.includes(`${path.sep}assets${path.sep}`)
            ? 'public, max-age=31536000, immutable'
            : 'no-cache',
        );
      },
    });
    app.get(`/${name}/*`, hide, (_request, reply) =>
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html),
    );
  }
}
