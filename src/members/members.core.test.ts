import { describe, expect, it } from 'vitest';
import {
  activation,
  normalizeEmail,
  normalizePhone,
  parseIdentifierParam,
} from './members.core.ts';

describe('normalizePhone', () => {
  it.each([
    ['13800138000', '+8613800138000'],
    ['138 0013 8000', '+8613800138000'],
    ['138-0013-8000', '+8613800138000'],
    ['+86 138 0013 8000', '+8613800138000'],
    ['008613800138000', '+8613800138000'],
    ['8613800138000', '+8613800138000'],
    ['+86 10 6552 9988', '+861065529988'],
    ['+1 (415) 555-2671', '+14155552671'],
    ['+852 9123 4567', '+85291234567'],
  ])('%s → %s', (input, e164) => {
    expect(normalizePhone(input)).toBe(e164);
  });

  it.each(['12345', '23800138000', '+86 138', '+0123456789', 'phone', '', '+8613800138000999'])(
    'refuses %j',
    (input) => {
      expect(normalizePhone(input)).toBeUndefined();
    },
  );
});

describe('normalizeEmail', () => {
  it('lower-cases and trims', () =>
    expect(normalizeEmail('  Li.Na@Example.COM ')).toBe('li.na@example.com'));
  it.each(['no-at', 'a@b', 'a b@c.cn', '@c.cn'])('refuses %j', (e) =>
    expect(normalizeEmail(e)).toBeUndefined(),
  );
});

describe('parseIdentifierParam', () => {
  it('splits at the first colon only', () =>
    expect(parseIdentifierParam('external_id:crm:42')).toEqual({
      type: 'external_id',
      value: 'crm:42',
    }));
  it('normalises the value', () =>
    expect(parseIdentifierParam('phone:13800138000')).toEqual({
      type: 'phone',
      value: '+8613800138000',
    }));
  it.each(['phone', 'fax:1', ':x', 'phone:1'])('refuses %j', (p) =>
    expect('error' in parseIdentifierParam(p)).toBe(true),
  );
});

describe('activation', () => {
  const known = { name: '王芳', birthday: null, gender: null, address: null };
  it('pre-fills known fields and names the missing ones', () =>
    expect(activation(known, {})).toEqual({
      prefilled: ['name'],
      missing: ['birthday', 'gender'],
      complete: false,
    }));
  it('counts given fields as neither', () =>
    expect(activation(known, { birthday: '1990-01-01', gender: 'male' })).toEqual({
      prefilled: ['name'],
      missing: [],
      complete: true,
    }));
});
