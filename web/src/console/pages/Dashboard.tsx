import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Segmented, Space, Statistic, Table, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { paths } from '../../api/schema';
import { dashboard } from '../../i18n/dashboard.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { Chart, type ChartOption } from '../Chart.tsx';
import { ErrorView } from '../ErrorView.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useApi } from '../session.tsx';

type Metrics =
  paths['/v1/programs/{programId}/metrics']['get']['responses'][200]['content']['application/json'];

const RANGES = [7, 30, 90, 365] as const;

/** A program at a glance: members, points in and out, the liability, tiers, the rules that pay. */
export default function Dashboard() {
  const { programId = '' } = useParams();
  const t = useT(dashboard);
  const f = useFormat();
  const api = useApi();
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const program = useQuery({
    queryKey: ['program', programId],
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs/{programId}', { params: { path: { programId } } })),
  });
  const timezone = program.data?.timezone;
  const metrics = useQuery({
    queryKey: ['metrics', programId, days, timezone],
    enabled: !!timezone,
    queryFn: async () => {
      // Days are the program's: today is today in its time zone.
      const to = new Intl.DateTimeFormat('en-CA', { timeZone: timezone }).format(new Date());
      const from = new Date(Date.parse(`${to}T00:00:00Z`) - (days - 1) * 86_400_000)
        .toISOString()
        .slice(0, 10);
      return unwrap(
        await api.GET('/v1/programs/{programId}/metrics', {
          params: { path: { programId }, query: { from, to } },
        }),
      );
    },
  });
  const error = program.error ?? metrics.error;

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.title}
        intro={timezone && t.timezone(timezone)}
        extra={
          <Segmented
            value={days}
            options={RANGES.map((d) => ({ value: d, label: t.last(d) }))}
            onChange={(d) => setDays(d as (typeof RANGES)[number])}
            data-testid="dashboard-range"
          />
        }
      />
      {error && <ErrorView error={error} />}
      <Row gutter={[16, 16]}>
        <Col xs={24} md={12} xl={6}>
          <Card loading={!metrics.data && !error}>
            <Statistic
              title={t.outstanding}
              value={metrics.data ? f.number(metrics.data.outstanding.total) : ''}
              data-testid="liability"
            />
            {metrics.data && (
              <Typography.Text type="secondary">
                {t.held(f.number(metrics.data.outstanding.held))}
              </Typography.Text>
            )}
          </Card>
        </Col>
        {(
          [
            ['enrolledTotal', 'enrolled'],
            ['issuedTotal', 'issued'],
            ['redeemedTotal', 'redeemed'],
          ] as const
        ).map(([label, key]) => (
          <Col xs={24} md={12} xl={6} key={key}>
            <Card loading={!metrics.data && !error}>
              <Statistic
                title={t[label]}
                value={metrics.data ? f.number(metrics.data.totals[key]) : ''}
              />
              <Typography.Text type="secondary">{t.last(days)}</Typography.Text>
            </Card>
          </Col>
        ))}
      </Row>
      {metrics.data && <Charts metrics={metrics.data} />}
    </Space>
  );
}

function Charts({ metrics }: { metrics: Metrics }) {
  const t = useT(dashboard);
  const f = useFormat();
  const options = useMemo(() => {
    const x = metrics.days.map((d) => d.day.slice(5));
    const grid = { left: 48, right: 16, top: 32, bottom: 28 };
    const axis = { type: 'value', axisLabel: { formatter: (v: number) => f.number(v) } };
    const enrolled: ChartOption = {
      grid,
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: x },
      yAxis: { ...axis, minInterval: 1 },
      series: [
        {
          name: t.enrolled,
          type: 'bar',
          data: metrics.days.map((d) => d.enrolled),
          itemStyle: { color: '#1f5fbf' },
        },
      ],
    };
    const points: ChartOption = {
      grid,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'category', data: x },
      yAxis: axis,
      series: [
        {
          name: t.issued,
          type: 'bar',
          stack: 'in',
          data: metrics.days.map((d) => d.issued),
          itemStyle: { color: '#3b82f6' },
        },
        {
          name: t.redeemed,
          type: 'bar',
          stack: 'out',
          data: metrics.days.map((d) => d.redeemed),
          itemStyle: { color: '#f59e0b' },
        },
        {
          name: t.expired,
          type: 'bar',
          stack: 'out',
          data: metrics.days.map((d) => d.expired),
          itemStyle: { color: '#9ca3af' },
        },
        // Conversions with other coalition programs, net: below zero when more left than came in.
        ...(metrics.days.some((d) => d.exchanged !== 0)
          ? [
              {
                name: t.exchanged,
                type: 'bar' as const,
                data: metrics.days.map((d) => d.exchanged),
                itemStyle: { color: '#8b5cf6' },
              },
            ]
          : []),
      ],
    };
    const liability: ChartOption = {
      grid,
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: x, boundaryGap: false },
      yAxis: axis,
      series: [
        {
          name: t.liability,
          type: 'line',
          smooth: true,
          areaStyle: { opacity: 0.15 },
          data: metrics.days.map((d) => d.outstanding),
          itemStyle: { color: '#1f5fbf' },
        },
      ],
    };
    const tiers: ChartOption = {
      tooltip: { trigger: 'item' },
      legend: { bottom: 0 },
      series: [
        {
          name: t.members,
          type: 'pie',
          radius: ['45%', '70%'],
          top: -20,
          data: metrics.tiers.map((x) => ({ name: x.name, value: x.members })),
          label: { formatter: '{b}: {c}' },
        },
      ],
    };
    return { enrolled, points, liability, tiers };
  }, [metrics, t, f]);

  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={12}>
        <Card title={t.pointsChart}>
          <Chart option={options.points} testId="chart-points" />
        </Card>
      </Col>
      <Col xs={24} xl={12}>
        <Card title={t.liabilityChart}>
          <Chart option={options.liability} />
        </Card>
      </Col>
      <Col xs={24} xl={12}>
        <Card title={t.enrolledChart}>
          <Chart option={options.enrolled} />
        </Card>
      </Col>
      <Col xs={24} xl={12}>
        <Card title={t.tiersChart}>
          <Chart option={options.tiers} />
        </Card>
      </Col>
      <Col span={24}>
        <Card title={t.rulesChart}>
          {metrics.topRules.length === 0 ? (
            <Empty description={t.noRules} />
          ) : (
            <Table
              rowKey="ruleId"
              pagination={false}
              size="small"
              dataSource={metrics.topRules}
              columns={[
                { title: t.rule, dataIndex: 'name' },
                {
                  title: t.points,
                  dataIndex: 'points',
                  align: 'right',
                  render: (n: number) => f.number(n),
                },
                {
                  title: t.purchases,
                  dataIndex: 'purchases',
                  align: 'right',
                  render: (n: number) => f.number(n),
                },
              ]}
            />
          )}
        </Card>
      </Col>
    </Row>
  );
}
