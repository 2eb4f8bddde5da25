import { Form, type FormInstance, Modal } from 'antd';
import type { ReactNode } from 'react';
import { shell } from '../i18n/console.ts';
import { useT } from '../i18n/i18n.tsx';
import { ErrorView } from './ErrorView.tsx';

/**
 * A dialog holding one form: OK submits it (and shows the request pending), Cancel closes. Every
 * create and edit dialog of the console is one, so they behave alike.
 */
export function FormModal<V extends object>({
  form,
  title,
  okText,
  okTestId,
  pending,
  width,
  initialValues,
  onFinish,
  onClose,
  error,
  children,
}: {
  form: FormInstance<V>;
  title: ReactNode;
  /** The OK button's text: "save" unless said otherwise. */
  okText?: string;
  okTestId: string;
  pending: boolean;
  width?: number;
  initialValues?: Partial<V>;
  onFinish: (values: V) => void;
  onClose: () => void;
  /** The request's failure, shown under the form. */
  error?: unknown;
  children: ReactNode;
}) {
  const s = useT(shell);
  return (
    <Modal
      open
      title={title}
      okText={okText ?? s.save}
      cancelText={s.cancel}
      onOk={() => form.submit()}
      onCancel={onClose}
      confirmLoading={pending}
      okButtonProps={{ 'data-testid': okTestId }}
      width={width}
    >
      <Form<V> form={form} layout="vertical" initialValues={initialValues} onFinish={onFinish}>
        {children}
      </Form>
      {error ? <ErrorView error={error} /> : null}
    </Modal>
  );
}
