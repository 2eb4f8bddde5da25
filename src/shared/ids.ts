import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';

/** Prefixes say what an id names, so a stray id in a log or a ticket explains itself. */
export type IdPrefix =
  | 'key'
  | 'mem'
  | 'req'
  | 'aud'
  | 'trf'
  | 'acc'
  | 'hld'
  | 'cmd'
  | 'grw'
  | 'tch'
  | 'use'
  | 'alr'
  | 'evt'
  | 'pbn'
  | 'pcl'
  | 'rwd'
  | 'ofr'
  | 'ogr'
  | 'rul'
  | 'cnv'
  | 'cpt'
  | 'cpn';

/** Makes a new prefixed id. Injected so tests can make ids they can predict. */
export type IdGenerator = (prefix: IdPrefix) => string;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

function encode(value: bigint, length: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(v & 31n)] + out;
    v >>= 5n;
  }
  return out;
}

const RANDOM_MAX = (1n << 80n) - 1n;

/**
 * ULID-style ids: 48 bits of milliseconds then 80 bits that are random for a new millisecond and
 * incremented within one, so ids sort in the order they were made — which is what cursor
 * pagination and index locality rely on.
 */
export function createIdGenerator(clock: Clock, random: (n: number) => Buffer = randomBytes) {
  let lastMs = -1;
  let lastRandom = 0n;
  const generate: IdGenerator = (prefix) => {
    const ms = Math.max(clock.now().getTime(), lastMs);
    if (ms === lastMs && lastRandom < RANDOM_MAX) {
      lastRandom += 1n;
    } else {
      lastMs = ms;
      lastRandom = BigInt(`0x${random(10).toString('hex')}`);
    }
    return `${prefix}_${encode(BigInt(ms), 10)}${encode(lastRandom, 16)}`;
  };
  return generate;
}
