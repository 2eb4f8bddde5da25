import { CheckCircleOutlined, DownloadOutlined, LockOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Card,
  DatePicker,
  Drawer,
  Empty,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { coalition } from '../../i18n/coalition.ts';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { usePartyName } from '../coalition/common.tsx';
import { ErrorView } from '../ErrorView.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { QueryPager, useCursor } from '../Pager.tsx';
import { useApi, useCan } from '../session.tsx';

type Statement = components['schemas']['SettlementStatement'];
type Pair = Statement['pairs'][number];
type Line = components['schemas']['SettlementLine'];

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;
const STATUS_COLOR: Record<Statement['status'], string> = {
  open: 'blue',
  closed: 'orange',
  settled: 'green',
};

/**
 * A month's settlement between the brands: per pair what each owes the other and the net, the
 * lines behind a pair, CSV export, and (for the coalition admin) closing and settling the period.
 * A program key sees the pairs its program is in: the API answers only those.
 */
export default function Settlements() {
  const t = useT(coalition).settlements;
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const queries = useQueryClient();
  const { message, modal } = App.useApp();
  const name = usePartyName();
  const [params, setParams] = useSearchParams();
  const asked = params.get('period') ?? '';
  const period = PERIOD.test(asked) ? asked : dayjs().format('YYYY-MM');
  const [open, setOpen] = useState<Pair | null>(null);
  const [exporting, setExporting] = useState(false);

  const statement = useQuery({
    queryKey: ['settlements', period],
    queryFn: async () =>
      unwrap(await api.GET('/v1/coalition/settlements', { params: { query: { period } } })),
  });
  const act = useMutation({
    mutationFn: async (what: 'close' | 'settle') =>
      unwrap(
        what === 'close'
          ? await api.POST('/v1/coalition/settlements/{period}/close', {
              params: { path: { period } },
            })
          : await api.POST('/v1/coalition/settlements/{period}/settle', {
              params: { path: { period } },
            }),
      ),
    onSuccess: (next, what) => {
      queries.setQueryData(['settlements', period], next);
      message.success(what === 'close' ? t.closed : t.settled);
    },
    onError: (error) => message.error(error.message),
  });

  // The CSV answers to the key, which a plain link cannot send: fetch it, then hand it over.
  const download = async () => {
    setExporting(true);
    try {
      const answer = await api.GET('/v1/coalition/settlements/{period}/export.csv', {
        params: { path: { period } },
        parseAs: 'blob',
      });
      const blob = unwrap(answer) as unknown as Blob;
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `settlement-${period}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      message.error((error as Error).message);
    } finally {
      setExporting(false);
    }
  };

  const data = statement.data;
  const totals = (data?.pairs ?? []).reduce(
    (sum, p) => ({ aOwesB: sum.aOwesB + p.aOwesB, bOwesA: sum.bOwesA + p.bOwesA }),
    { aOwesB: 0, bOwesA: 0 },
  );
  const confirm = (what: 'close' | 'settle') =>
    modal.confirm({
      title: what === 'close' ? t.close : t.settle,
      content: what === 'close' ? t.closeConfirm : t.settleConfirm,
      okText: s.confirm,
      cancelText: s.cancel,
      onOk: () => act.mutateAsync(what),
    });

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.title}
        intro={can.coalitionAdmin ? t.intro : t.introProgram}
        extra={
          <Button
            icon={<DownloadOutlined />}
            onClick={download}
            loading={exporting}
            disabled={!data || data.pairs.length === 0}
            data-testid="settlement-export"
          >
            {t.export}
          </Button>
        }
      />
      <Card>
        <Space wrap size="middle" style={{ width: '100%', justifyContent: 'space-between' }}>
          <Space wrap size="middle">
            <Typography.Text type="secondary">{t.period}</Typography.Text>
            <DatePicker
              picker="month"
              allowClear={false}
              value={dayjs(`${period}-01`)}
              onChange={(d) => d && setParams({ period: d.format('YYYY-MM') }, { replace: true })}
              data-testid="settlement-period"
            />
            {data && (
              <Tag color={STATUS_COLOR[data.status]} data-testid="settlement-status">
                {t.statuses[data.status]}
              </Tag>
            )}
            {data?.closedAt && (
              <Typography.Text type="secondary">
                {t.closedAt(f.dateTime(data.closedAt))}
              </Typography.Text>
            )}
            {data?.settledAt && (
              <Typography.Text type="secondary">
                {t.settledAt(f.dateTime(data.settledAt))}
              </Typography.Text>
            )}
          </Space>
          {can.coalitionAdmin && data && (
            <Space>
              {data.status === 'open' && (
                <Button
                  icon={<LockOutlined />}
                  onClick={() => confirm('close')}
                  loading={act.isPending}
                  data-testid="settlement-close"
                >
                  {t.close}
                </Button>
              )}
              {data.status === 'closed' && (
                <Button
                  type="primary"
                  icon={<CheckCircleOutlined />}
                  onClick={() => confirm('settle')}
                  loading={act.isPending}
                  data-testid="settlement-settle"
                >
                  {t.settle}
                </Button>
              )}
            </Space>
          )}
        </Space>
      </Card>
      {statement.error ? (
        <ErrorView error={statement.error} retry={() => statement.refetch()} />
      ) : (
        <Card styles={{ body: { padding: 0 } }}>
          <Table<Pair>
            rowKey={(p) => `${p.a}|${p.b}`}
            loading={statement.isLoading}
            dataSource={data?.pairs ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: <Empty description={t.none} /> }}
            onRow={(p) => ({ 'data-testid': `settlement-row-${p.a}-${p.b}` }) as object}
            summary={() =>
              (data?.pairs.length ?? 0) > 1 && (
                <Table.Summary.Row>
                  <Table.Summary.Cell index={0} colSpan={2}>
                    <Typography.Text strong>{t.total}</Typography.Text>
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={2} align="right">
                    {f.money(totals.aOwesB)}
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={3} align="right">
                    {f.money(totals.bOwesA)}
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={4} colSpan={3} />
                </Table.Summary.Row>
              )
            }
            columns={[
              { title: t.partyA, dataIndex: 'a', render: (id: string) => name(id) },
              { title: t.partyB, dataIndex: 'b', render: (id: string) => name(id) },
              {
                title: t.aOwesB,
                dataIndex: 'aOwesB',
                align: 'right',
                render: (v: number) => f.money(v),
              },
              {
                title: t.bOwesA,
                dataIndex: 'bOwesA',
                align: 'right',
                render: (v: number) => f.money(v),
              },
              {
                title: (
                  <Tooltip title={t.netHelp}>
                    <span style={{ borderBottom: '1px dashed #bfbfbf', cursor: 'help' }}>
                      {t.net}
                    </span>
                  </Tooltip>
                ),
                dataIndex: 'net',
                align: 'right',
                render: (v: number, p) => (
                  <Typography.Text
                    strong
                    type={v < 0 ? 'danger' : undefined}
                    data-testid={`settlement-net-${p.a}-${p.b}`}
                    data-fen={v}
                  >
                    {f.money(v)}
                  </Typography.Text>
                ),
              },
              {
                title: t.lines,
                dataIndex: 'lines',
                align: 'right',
                render: (v: number) => f.number(v),
              },
              {
                title: s.actions,
                key: 'actions',
                render: (_, p) => (
                  <Button
                    size="small"
                    onClick={() => setOpen(p)}
                    data-testid={`settlement-lines-${p.a}-${p.b}`}
                  >
                    {t.viewLines}
                  </Button>
                ),
              },
            ]}
          />
        </Card>
      )}
      {open && <Lines period={period} pair={open} onClose={() => setOpen(null)} />}
    </Space>
  );
}

/** The lines between two parties in the period, either way, page by page. */
function Lines({ period, pair, onClose }: { period: string; pair: Pair; onClose: () => void }) {
  const t = useT(coalition).settlements;
  const f = useFormat();
  const api = useApi();
  const name = usePartyName();
  const pages = useCursor();
  const lines = useQuery({
    queryKey: ['settlements', period, pair.a, pair.b, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/coalition/settlements/{period}/{a}/{b}', {
          params: {
            path: { period, a: pair.a, b: pair.b },
            query: { limit: 50, ...(pages.cursor && { cursor: pages.cursor }) },
          },
        }),
      ),
  });
  return (
    <Drawer
      open
      size={960}
      title={t.linesTitle(name(pair.a), name(pair.b))}
      onClose={onClose}
      data-testid="settlement-drawer"
    >
      {lines.error ? (
        <ErrorView error={lines.error} retry={() => lines.refetch()} />
      ) : (
        <>
          <Table<Line>
            size="small"
            rowKey="id"
            loading={lines.isFetching}
            dataSource={lines.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            onRow={() => ({ 'data-testid': 'settlement-line' }) as object}
            columns={[
              { title: t.at, dataIndex: 'createdAt', render: (d: string) => f.dateTime(d) },
              {
                title: t.kind,
                dataIndex: 'kind',
                render: (k: string) => <Tag>{t.kinds[k] ?? k}</Tag>,
              },
              { title: t.debtor, dataIndex: 'debtor', render: (id: string) => name(id) },
              { title: t.creditor, dataIndex: 'creditor', render: (id: string) => name(id) },
              {
                title: t.points,
                dataIndex: 'points',
                align: 'right',
                render: (v: number | null) => (v === null ? '—' : f.number(v)),
              },
              {
                title: t.amount,
                dataIndex: 'amountFen',
                align: 'right',
                render: (v: number) => f.money(v),
              },
              {
                title: t.member,
                dataIndex: 'memberId',
                render: (v: string | null) =>
                  v ? <Typography.Text code>{v}</Typography.Text> : '—',
              },
              {
                title: t.source,
                dataIndex: 'sourceId',
                render: (v: string) => <Typography.Text type="secondary">{v}</Typography.Text>,
              },
            ]}
          />
          <QueryPager query={lines} pages={pages} />
        </>
      )}
    </Drawer>
  );
}
