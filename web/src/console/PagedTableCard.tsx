import type { UseQueryResult } from '@tanstack/react-query';
import { Card, Table, type TableProps } from 'antd';
import type { ReactNode } from 'react';
import { ErrorView } from './ErrorView.tsx';
import { QueryPager, type useCursor } from './Pager.tsx';

/**
 * A card with one page of a list the API reads by cursor, its error, and previous / next.
 * `flush`: the table fills the card to its edges, as a page's main list does; an error then
 * stands in the card's place.
 */
export function PagedTableCard<T extends object>({
  title,
  query,
  pages,
  columns,
  testId,
  rowTestId,
  emptyText,
  size = 'small',
  flush = false,
}: {
  title?: ReactNode;
  query: UseQueryResult<{ data: T[]; nextCursor?: string | null }>;
  pages: ReturnType<typeof useCursor<string>>;
  columns: TableProps<T>['columns'];
  testId?: string;
  /** Each row's data-testid. */
  rowTestId?: (row: T) => string;
  emptyText?: ReactNode;
  size?: TableProps<T>['size'];
  flush?: boolean;
}) {
  if (query.error) {
    const error = <ErrorView error={query.error} retry={() => query.refetch()} />;
    return flush ? (
      error
    ) : (
      <Card title={title} styles={{ body: { paddingTop: 8 } }}>
        {error}
      </Card>
    );
  }
  const table = (
    <Table<T>
      size={size}
      rowKey="id"
      loading={query.isFetching}
      dataSource={query.data?.data ?? []}
      pagination={false}
      scroll={{ x: 'max-content' }}
      locale={emptyText === undefined ? undefined : { emptyText }}
      onRow={rowTestId && ((row) => ({ 'data-testid': rowTestId(row) }) as object)}
      data-testid={testId}
      columns={columns}
    />
  );
  const pager = <QueryPager query={query} pages={pages} />;
  return flush ? (
    <Card title={title} styles={{ body: { padding: 0 } }}>
      {table}
      <div style={{ padding: '0 16px 16px' }}>{pager}</div>
    </Card>
  ) : (
    <Card title={title} styles={{ body: { paddingTop: 8 } }}>
      {table}
      {pager}
    </Card>
  );
}
