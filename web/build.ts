// `npm run build`: builds the console and the portal into web/dist, prints what each one's first
// page loads, and fails when that is over its budget. Also called by the server on a first start
// without a build, and by the browser tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The apps, each served under its own path, and the JavaScript its first page may load, gzipped. */
export const WEB_APPS = [
  { name: 'console', budget: 400_000 },
  { name: 'portal', budget: 150_000 },
] as const;

export type WebApp = (typeof WEB_APPS)[number]['name'];

/** Where an app's built files are. */
export const distOf = (app: WebApp) => path.join(here, 'dist', app);

/** True when both apps have been built. */
export const isBuilt = () =>
  WEB_APPS.every((a) => fs.existsSync(path.join(distOf(a.name), 'index.html')));

export interface AppSize {
  app: WebApp;
  /** Gzipped bytes of the scripts the first page loads (its entry and the chunks it preloads). */
  firstPage: number;
  budget: number;
  /** Every script of the app: name → gzipped bytes. */
  chunks: Map<string, number>;
}

/** The scripts an app's index.html loads before anything else, and every script it has. */
export function sizeOf(app: WebApp, budget: number): AppSize {
  const dist = distOf(app);
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const gz = (file: string) => gzipSync(fs.readFileSync(file), { level: 9 }).length;
  const loaded = [...html.matchAll(/(?:src|href)="\/[a-z]+\/(assets\/[^"]+\.js)"/g)].map(
    (m) => m[1] as string,
  );
  const assets = path.join(dist, 'assets');
  const chunks = new Map(
    fs
      .readdirSync(assets)
      .filter((f) => f.endsWith('.js'))
      .map((f) => [f, gz(path.join(assets, f))] as const),
  );
  const firstPage = loaded.reduce((sum, f) => sum + gz(path.join(dist, f)), 0);
  return { app, firstPage, budget, chunks };
}

const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`;

/** Builds both apps; returns their sizes. Throws when one is over its budget. */
export async function buildWeb(options: { quiet?: boolean } = {}): Promise<AppSize[]> {
  const { build } = await import('vite');
  const { default: react } = await import('@vitejs/plugin-react');
  const sizes: AppSize[] = [];
  for (const { name, budget } of WEB_APPS) {
    await build({
      configFile: false,
      root: path.join(here, 'src', name),
      base: `/${name}/`,
      plugins: [react()],
      logLevel: options.quiet ? 'silent' : 'warn',
      build: {
        outDir: distOf(name),
        emptyOutDir: true,
        chunkSizeWarningLimit: 2_000,
      },
    });
    sizes.push(sizeOf(name, budget));
  }
  const over = sizes.filter((s) => s.firstPage > s.budget);
  if (!options.quiet) {
    for (const s of sizes) {
      const biggest = [...s.chunks].sort((a, b) => b[1] - a[1]).slice(0, 5);
      console.log(
        `${s.app}: first page ${kb(s.firstPage)} of JavaScript gzipped (budget ${kb(s.budget)}); ` +
          `${s.chunks.size} scripts, largest ${biggest.map(([f, n]) => `${f} ${kb(n)}`).join(', ')}`,
      );
    }
  }
  if (over.length > 0) {
    throw new Error(
      over
        .map((s) => `${s.app}'s first page is ${kb(s.firstPage)}, over ${kb(s.budget)}`)
        .join('; '),
    );
  }
  return sizes;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildWeb();
  } catch (error) {
    console.error(`web build failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
