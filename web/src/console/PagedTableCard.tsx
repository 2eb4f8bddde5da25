import type { UseQueryResult } from '@tanstack/react-query';
import { Card, Table, type TableProps } from 'antd';
import type { ReactNode } from 'react';
import { ErrorView } from './ErrorView.tsx';
import { Pager, type useCursor } from './Pager.tsx';

/** A card with one page of a list the API reads by cursor, its error, and previous / next. */
export function PagedTableCard<T extends object>({
  title,
  query,
  pages,
  columns,
  testId,
}: {
  title: ReactNode;
  query: UseQueryResult<{ data: T[]; nextCursor?: string | null }>;
  pages: ReturnType<typeof useCursor<string>>;
  columns: TableProps<T>['columns'];
  testId: string;
}) {
  return (
    <Card title={title} styles={{ body: { paddingTop: 8 } }}>
      {query.error ? (
        <ErrorView error={query.error} retry={() => query.refetch()} />
      ) : (
        <>
          <Table<T>
            size="small"
            rowKey="id"
            loading={query.isFetching}
            dataSource={query.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            data-testid={testId}
            columns={columns}
          />
          <Pager
            page={pages.page}
            nextCursor={query.data?.nextCursor}
            loading={query.isFetching}
            onNext={() => query.data?.nextCursor && pages.next(query.data.nextCursor)}
            onPrevious={pages.previous}
          />
        </>
      )}
    </Card>
  );
}
