import { useQueryClient } from '@tanstack/react-query';
import { Tag } from 'antd';
import { useCallback, useRef } from 'react';
import type { components } from '../../api/schema';
import { useT } from '../../i18n/i18n.tsx';
import { labels } from '../../i18n/members.ts';
import { uuid } from '../../uuid.ts';

export type Member = components['schemas']['Member'];
export type MemberStatus = Member['status'];
export type IdentifierType = Member['identifiers'][number]['type'];
export type Channel = Member['channel'];
export type Gender = NonNullable<Member['profile']['gender']>;
export type Points = components['schemas']['Points'];
export type MemberTier = components['schemas']['MemberTier'];
export type Ladder = components['schemas']['TierLadder'];

export const IDENTIFIER_TYPES: IdentifierType[] = [
  'phone',
  'email',
  'wechat_openid',
  'alipay_user_id',
  'card_number',
  'external_id',
];
export const CHANNELS: Channel[] = ['pos', 'app', 'web', 'payment', 'import'];
export const GENDERS: Gender[] = ['female', 'male', 'other', 'undisclosed'];

const STATUS_COLOR: Record<MemberStatus, string> = {
  active: 'green',
  blocked: 'red',
  erased: 'default',
  merged: 'purple',
};

export function StatusTag({ status }: { status: MemberStatus }) {
  const l = useT(labels);
  return (
    <Tag color={STATUS_COLOR[status]} data-testid="member-status">
      {l.status[status]}
    </Tag>
  );
}

/** Every query of a member starts with this, so one invalidation refreshes the whole page. */
export const memberKey = (programId: string, memberId: string) =>
  ['member', programId, memberId] as const;

/** Refreshes everything shown of a member, and the members list. */
export function useRefreshMember(programId: string, memberId: string) {
  const queries = useQueryClient();
  return useCallback(
    () =>
      Promise.all([
        queries.invalidateQueries({ queryKey: memberKey(programId, memberId) }),
        queries.invalidateQueries({ queryKey: ['members', programId] }),
      ]),
    [queries, programId, memberId],
  );
}

/**
 * An Idempotency-Key per request: the same request again (a double click, a retry after a lost
 * answer) reuses its key, so the API applies it once; a changed request gets a new one (the API
 * refuses one key for two different requests).
 */
export function useIdempotencyKey() {
  const last = useRef<{ request: string; key: string } | null>(null);
  return useCallback((...request: unknown[]) => {
    const json = JSON.stringify(request);
    if (last.current?.request !== json) last.current = { request: json, key: uuid() };
    return last.current.key;
  }, []);
}

/** A profile's address on one line. */
export function addressLine(a: Member['profile']['address']): string {
  if (!a) return '';
  return [a.country, a.province, a.city, a.district, a.line, a.postalCode]
    .filter((x) => x?.trim())
    .join(' ');
}

/** Signed points: +120 / −80, in the language's digits. */
export function signed(n: number, format: (n: number) => string): string {
  return n > 0 ? `+${format(n)}` : n < 0 ? `−${format(-n)}` : format(0);
}
