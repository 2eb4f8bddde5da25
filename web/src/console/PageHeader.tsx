import { Col, Row, Typography } from 'antd';
import type { ReactNode } from 'react';

/** A page's title, a line on what it is for, and its main action (when the key may take it). */
export function PageHeader({
  title,
  intro,
  extra,
}: {
  title: ReactNode;
  intro?: ReactNode;
  extra?: ReactNode;
}) {
  return (
    <Row justify="space-between" align="top" gutter={16} wrap={false}>
      <Col flex="auto">
        <Typography.Title level={3} style={{ marginTop: 0 }}>
          {title}
        </Typography.Title>
        {intro && <Typography.Text type="secondary">{intro}</Typography.Text>}
      </Col>
      {extra && <Col flex="none">{extra}</Col>}
    </Row>
  );
}
