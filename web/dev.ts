// `npm run dev:web`: the console and the portal with hot reload, each on its own Vite server, the
// API proxied to a running Tessera (TESSERA_API, default http://127.0.0.1:3000: `npm start`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { createServer } from 'vite';
import { WEB_APPS } from './build.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const api = process.env.TESSERA_API ?? 'http://127.0.0.1:3000';

for (const [i, { name }] of WEB_APPS.entries()) {
  const server = await createServer({
    configFile: false,
    root: path.join(here, 'src', name),
    base: `/${name}/`,
    plugins: [react()],
    server: { port: 5173 + i, proxy: { '/v1': api } },
  });
  await server.listen();
  console.log(`${name}: http://localhost:${5173 + i}/${name}/ (API: ${api})`);
}
