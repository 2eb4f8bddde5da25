// `npm run bench [name…]`: runs every benchmark under bench/, or the named ones.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const all = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const names = wanted.length ? wanted : all;
for (const name of names) {
  if (!all.includes(name)) {
    console.error(`No benchmark ${name}; there are: ${all.join(', ')}`);
    process.exit(2);
  }
  const { run } = (await import(`./${name}.bench.ts`)) as { run: () => Promise<void> };
  console.log(`\n== ${name} ==`);
  await run();
}
