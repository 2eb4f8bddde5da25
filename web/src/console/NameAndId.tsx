import { Space, Typography } from 'antd';
import type { ReactNode } from 'react';

/** A list's name cell: the name in bold, and below it in grey the id (or SKU) it goes by. */
export function NameAndId({ name, id }: { name: ReactNode; id: ReactNode }) {
  return (
    <Space orientation="vertical" size={0}>
      <Typography.Text strong>{name}</Typography.Text>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {id}
      </Typography.Text>
    </Space>
  );
}
