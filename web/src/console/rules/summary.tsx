import { Space, Tag, Typography } from 'antd';
import type { components } from '../../api/schema';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { rules as dictionary } from '../../i18n/rules.ts';

export type Rule = components['schemas']['EarningRule'];
export type Effect = components['schemas']['EarningEffect'];
export type Conditions = components['schemas']['EarningConditions'];
export type Limits = components['schemas']['EarningLimits'];

/** The conditions that are lists of codes, in the order the form shows them. */
export const LIST_CONDITIONS = [
  'tiers',
  'stores',
  'channels',
  'paymentMethods',
  'categories',
  'excludeCategories',
  'skus',
  'excludeSkus',
] as const;

/** A rule's effect in a few words: "1 point per ¥10.00", "× 2", "+100". */
export function EffectSummary({ effect }: { effect: Effect }) {
  const t = useT(dictionary);
  const f = useFormat();
  switch (effect.type) {
    case 'rate':
      return <>{t.effectSummary.rate(f.number(effect.points), f.money(effect.per))}</>;
    case 'multiplier':
      return <>{t.effectSummary.multiplier(f.number(effect.factor))}</>;
    case 'bonus':
      return <>{t.effectSummary.bonus(f.number(effect.points))}</>;
  }
}

/** A rule's conditions, one tag each. */
export function ConditionTags({ conditions: c }: { conditions: Conditions }) {
  const t = useT(dictionary);
  const f = useFormat();
  const tags: { key: string; text: string; color?: string }[] = [];
  for (const k of LIST_CONDITIONS) {
    const values = c[k];
    if (values?.length)
      tags.push({
        key: k,
        text: `${t.cond[k]}: ${values.join(', ')}`,
        ...(k.startsWith('exclude') && { color: 'red' }),
      });
  }
  if (c.minSpend !== undefined)
    tags.push({ key: 'minSpend', text: t.condTag.minSpend(f.money(c.minSpend)) });
  if (c.from) tags.push({ key: 'from', text: t.condTag.from(f.dateTime(c.from)) });
  if (c.to) tags.push({ key: 'to', text: t.condTag.to(f.dateTime(c.to)) });
  if (c.weekdays?.length)
    tags.push({
      key: 'weekdays',
      text: c.weekdays.map((d) => t.weekdayNames[d - 1] ?? String(d)).join(', '),
    });
  if (c.daysOfMonth?.length)
    tags.push({ key: 'daysOfMonth', text: t.condTag.daysOfMonth(c.daysOfMonth.join(', ')) });
  if (c.birthday)
    tags.push({ key: 'birthday', text: t.birthdayName[c.birthday], color: 'magenta' });
  if (c.firstPurchase)
    tags.push({ key: 'firstPurchase', text: t.condTag.firstPurchase, color: 'cyan' });
  if (tags.length === 0)
    return <Typography.Text type="secondary">{t.noConditions}</Typography.Text>;
  return (
    <Space size={[0, 4]} wrap>
      {tags.map((x) => (
        <Tag key={x.key} color={x.color ?? 'blue'}>
          {x.text}
        </Tag>
      ))}
    </Space>
  );
}

/** A rule's caps per purchase, day and month (its budget has a column of its own). */
export function LimitTags({ limits }: { limits: Limits }) {
  const t = useT(dictionary);
  const f = useFormat();
  const tags = (['perPurchase', 'perMemberPerDay', 'perMemberPerMonth'] as const).flatMap((k) => {
    const n = limits[k];
    return n === undefined ? [] : [{ key: k, text: t.limitTag[k](f.number(n)) }];
  });
  if (tags.length === 0) return <Typography.Text type="secondary">{t.noLimits}</Typography.Text>;
  return (
    <Space size={[0, 4]} wrap>
      {tags.map((x) => (
        <Tag key={x.key}>{x.text}</Tag>
      ))}
    </Space>
  );
}
