import { LeftOutlined, RightOutlined } from '@ant-design/icons';
import type { UseQueryResult } from '@tanstack/react-query';
import { Button, Space, Typography } from 'antd';
import { useCallback, useMemo, useState } from 'react';
import { pager } from '../i18n/console.ts';
import { useT } from '../i18n/i18n.tsx';

/**
 * Pages of a list read by the API's cursor: the cursors of the pages before, so one can go back.
 * `reset` returns to the first page (when a filter changes).
 */
export function useCursor<C = string>() {
  const [stack, setStack] = useState<C[]>([]);
  const next = useCallback((c: C) => setStack((s) => [...s, c]), []);
  const previous = useCallback(() => setStack((s) => s.slice(0, -1)), []);
  const reset = useCallback(() => setStack([]), []);
  return useMemo(
    () => ({ cursor: stack[stack.length - 1], page: stack.length + 1, next, previous, reset }),
    [stack, next, previous, reset],
  );
}

/** Previous / next buttons for a list read by cursor. */
export function Pager({
  page,
  nextCursor,
  onNext,
  onPrevious,
  loading,
}: {
  page: number;
  nextCursor: unknown;
  onNext: () => void;
  onPrevious: () => void;
  loading?: boolean;
}) {
  const t = useT(pager);
  if (page === 1 && (nextCursor === null || nextCursor === undefined)) return null;
  return (
    <Space style={{ marginTop: 16, width: '100%', justifyContent: 'flex-end' }}>
      <Typography.Text type="secondary">{t.page(page)}</Typography.Text>
      <Button
        icon={<LeftOutlined />}
        disabled={page === 1 || loading}
        onClick={onPrevious}
        data-testid="page-previous"
      >
        {t.previous}
      </Button>
      <Button
        icon={<RightOutlined />}
        iconPlacement="end"
        disabled={nextCursor === null || nextCursor === undefined || loading}
        onClick={onNext}
        data-testid="page-next"
      >
        {t.next}
      </Button>
    </Space>
  );
}

/** The pager under one page of a list the API reads by cursor (`nextCursor` in its answer). */
export function QueryPager({
  query,
  pages,
}: {
  query: Pick<UseQueryResult<{ nextCursor?: string | null }>, 'data' | 'isFetching'>;
  pages: ReturnType<typeof useCursor<string>>;
}) {
  return (
    <Pager
      page={pages.page}
      nextCursor={query.data?.nextCursor}
      loading={query.isFetching}
      onNext={() => query.data?.nextCursor && pages.next(query.data.nextCursor)}
      onPrevious={pages.previous}
    />
  );
}
