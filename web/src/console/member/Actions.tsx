import {
  CrownOutlined,
  DeleteOutlined,
  EditOutlined,
  MailOutlined,
  StopOutlined,
  UnlockOutlined,
} from '@ant-design/icons';
import { useMutation } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Modal,
  Radio,
  Select,
  Space,
  Tag,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { type ReactNode, useState } from 'react';
import { unwrap } from '../../api/client.ts';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { member as dictionary } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import { useApi, useCan } from '../session.tsx';
import {
  type Ladder,
  type Member,
  type MemberTier,
  signed,
  useIdempotencyKey,
  useRefreshMember,
} from './common.tsx';

type Action = 'adjust' | 'block' | 'unblock' | 'override' | 'invite' | 'erase';

interface Props {
  programId: string;
  member: Member;
  balance: number | undefined;
  tier: MemberTier | undefined;
  ladder: Ladder | undefined;
}

/** What staff may do to a member, as far as the key's role allows, each confirmed in a modal. */
export function MemberActions({ programId, member, balance, tier, ladder }: Props) {
  const t = useT(dictionary).actions;
  const can = useCan();
  const [open, setOpen] = useState<Action | null>(null);
  const admin = can.program(programId, 'admin');
  // A merged or erased member is history: nothing more is done to them here.
  const live = member.status === 'active' || member.status === 'blocked';
  const inviteTo = (tier?.eligible ?? []).filter((c) => c !== tier?.tier.code);
  const close = () => setOpen(null);
  const common = { programId, memberId: member.id, onClose: close };

  if (!live) return null;
  return (
    <>
      <Space wrap>
        {admin && (
          <Button
            type="primary"
            icon={<EditOutlined />}
            onClick={() => setOpen('adjust')}
            disabled={balance === undefined}
            data-testid="adjust-points"
          >
            {t.adjust}
          </Button>
        )}
        {admin && ladder && (
          <Button
            icon={<CrownOutlined />}
            onClick={() => setOpen('override')}
            data-testid="tier-override"
          >
            {t.override}
          </Button>
        )}
        {admin && inviteTo.length > 0 && (
          <Button
            icon={<MailOutlined />}
            onClick={() => setOpen('invite')}
            data-testid="tier-invite"
          >
            {t.invite}
          </Button>
        )}
        {admin &&
          (member.status === 'blocked' ? (
            <Button
              icon={<UnlockOutlined />}
              onClick={() => setOpen('unblock')}
              data-testid="member-unblock"
            >
              {t.unblock}
            </Button>
          ) : (
            <Button
              danger
              icon={<StopOutlined />}
              onClick={() => setOpen('block')}
              data-testid="member-block"
            >
              {t.block}
            </Button>
          ))}
        {can.coalitionAdmin && (
          <Button
            danger
            icon={<DeleteOutlined />}
            onClick={() => setOpen('erase')}
            data-testid="member-erase"
          >
            {t.erase}
          </Button>
        )}
      </Space>
      {open === 'adjust' && balance !== undefined && <AdjustPoints {...common} balance={balance} />}
      {(open === 'block' || open === 'unblock') && <Block {...common} block={open === 'block'} />}
      {open === 'override' && ladder && (
        <OverrideTier {...common} ladder={ladder} current={tier?.tier.code} />
      )}
      {open === 'invite' && ladder && <Invite {...common} ladder={ladder} codes={inviteTo} />}
      {open === 'erase' && <Erase {...common} />}
    </>
  );
}

interface ModalProps {
  programId: string;
  memberId: string;
  onClose: () => void;
}

/** A confirmation modal around a form: its error, and OK that submits it. */
function ConfirmModal({
  title,
  okText,
  danger,
  pending,
  error,
  onOk,
  onClose,
  okTestId,
  okDisabled,
  children,
}: {
  title: ReactNode;
  okText: string;
  danger?: boolean;
  pending: boolean;
  error: unknown;
  onOk: () => void;
  onClose: () => void;
  okTestId: string;
  okDisabled?: boolean;
  children: ReactNode;
}) {
  const s = useT(shell);
  return (
    <Modal
      open
      title={title}
      okText={okText}
      cancelText={s.cancel}
      onOk={onOk}
      onCancel={onClose}
      confirmLoading={pending}
      mask={{ closable: !pending }}
      okButtonProps={{ danger, disabled: okDisabled, 'data-testid': okTestId }}
      destroyOnHidden
    >
      <Space orientation="vertical" size="middle" style={{ width: '100%', marginTop: 8 }}>
        {children}
        {error ? <ErrorView error={error} /> : null}
      </Space>
    </Modal>
  );
}

function ReasonItem({ testId }: { testId: string }) {
  const s = useT(shell);
  const t = useT(dictionary).actions;
  return (
    <Form.Item
      name="reason"
      label={s.reason}
      rules={[{ required: true, whitespace: true, message: s.reasonRequired }]}
      style={{ marginBottom: 24 }}
    >
      <Input.TextArea
        rows={3}
        maxLength={500}
        showCount
        placeholder={t.reasonPlaceholder}
        data-testid={testId}
      />
    </Form.Item>
  );
}

/** Credit or debit points by hand, with a reason. */
function AdjustPoints({ programId, memberId, onClose, balance }: ModalProps & { balance: number }) {
  const t = useT(dictionary).actions;
  const f = useFormat();
  const api = useApi();
  const { message } = App.useApp();
  const refresh = useRefreshMember(programId, memberId);
  const idempotencyKey = useIdempotencyKey();
  const [form] = Form.useForm<{ direction: 'credit' | 'debit'; amount?: number; reason: string }>();
  const direction = Form.useWatch('direction', form) ?? 'credit';
  const amount = Form.useWatch('amount', form);
  const delta = amount ? (direction === 'debit' ? -amount : amount) : 0;

  const adjust = useMutation({
    mutationFn: async (body: { points: number; reason: string }) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/members/{memberId}/points/adjustments', {
          params: { path: { programId, memberId } },
          headers: { 'Idempotency-Key': idempotencyKey(memberId, body) },
          body,
        }),
      ),
    onSuccess: async (r, body) => {
      message.success(t.adjusted(signed(body.points, f.number), f.number(r.balance)));
      onClose();
      await refresh();
    },
  });

  return (
    <ConfirmModal
      title={t.adjustTitle}
      okText={t.adjustOk}
      danger={direction === 'debit'}
      pending={adjust.isPending}
      error={adjust.error}
      onOk={() => form.submit()}
      onClose={onClose}
      okTestId="adjust-submit"
    >
      <Form
        form={form}
        layout="vertical"
        initialValues={{ direction: 'credit' }}
        onFinish={(v) =>
          v.amount &&
          adjust.mutate({
            points: v.direction === 'debit' ? -v.amount : v.amount,
            reason: v.reason.trim(),
          })
        }
      >
        <Form.Item name="direction" label={t.direction}>
          <Radio.Group
            optionType="button"
            buttonStyle="solid"
            options={[
              { value: 'credit', label: t.credit },
              { value: 'debit', label: t.debit },
            ]}
            data-testid="adjust-direction"
          />
        </Form.Item>
        <Form.Item
          name="amount"
          label={t.amount}
          rules={[{ required: true, message: t.amountRequired }]}
        >
          <InputNumber
            min={1}
            max={1_000_000_000}
            precision={0}
            style={{ width: 220 }}
            data-testid="adjust-amount"
          />
        </Form.Item>
        <ReasonItem testId="adjust-reason" />
      </Form>
      {delta !== 0 && (
        <Alert
          type={direction === 'debit' ? 'warning' : 'info'}
          showIcon
          title={t.adjustSummary(
            direction === 'debit',
            f.number(Math.abs(delta)),
            f.number(balance + delta),
          )}
          data-testid="adjust-summary"
        />
      )}
    </ConfirmModal>
  );
}

/** Block or unblock, with a reason. */
function Block({ programId, memberId, onClose, block }: ModalProps & { block: boolean }) {
  const t = useT(dictionary).actions;
  const api = useApi();
  const { message } = App.useApp();
  const refresh = useRefreshMember(programId, memberId);
  const idempotencyKey = useIdempotencyKey();
  const [form] = Form.useForm<{ reason: string }>();
  const url = block
    ? '/v1/programs/{programId}/members/{memberId}/block'
    : '/v1/programs/{programId}/members/{memberId}/unblock';

  const change = useMutation({
    mutationFn: async (reason: string) =>
      unwrap(
        await api.POST(url, {
          params: { path: { programId, memberId } },
          headers: { 'Idempotency-Key': idempotencyKey(url, memberId, reason) },
          body: { reason },
        }),
      ),
    onSuccess: async () => {
      message.success(block ? t.blocked : t.unblocked);
      onClose();
      await refresh();
    },
  });

  return (
    <ConfirmModal
      title={block ? t.blockTitle : t.unblockTitle}
      okText={block ? t.block : t.unblock}
      danger={block}
      pending={change.isPending}
      error={change.error}
      onOk={() => form.submit()}
      onClose={onClose}
      okTestId="block-submit"
    >
      <Alert
        type={block ? 'warning' : 'info'}
        showIcon
        title={block ? t.blockText : t.unblockText}
      />
      <Form form={form} layout="vertical" onFinish={(v) => change.mutate(v.reason.trim())}>
        <ReasonItem testId="block-reason" />
      </Form>
    </ConfirmModal>
  );
}

/** Put the member in a tier of the ladder, with a reason and an optional end. */
function OverrideTier({
  programId,
  memberId,
  onClose,
  ladder,
  current,
}: ModalProps & { ladder: Ladder; current: string | undefined }) {
  const t = useT(dictionary).actions;
  const api = useApi();
  const { message } = App.useApp();
  const refresh = useRefreshMember(programId, memberId);
  const idempotencyKey = useIdempotencyKey();
  const [form] = Form.useForm<{ code: string; reason: string; validUntil?: Dayjs | null }>();

  const override = useMutation({
    mutationFn: async (body: { code: string; reason: string; validUntil?: string }) =>
      unwrap(
        await api.PUT('/v1/programs/{programId}/members/{memberId}/tier', {
          params: { path: { programId, memberId } },
          headers: { 'Idempotency-Key': idempotencyKey(memberId, body) },
          body,
        }),
      ),
    onSuccess: async () => {
      message.success(t.overridden);
      onClose();
      await refresh();
    },
  });

  return (
    <ConfirmModal
      title={t.overrideTitle}
      okText={t.override}
      pending={override.isPending}
      error={override.error}
      onOk={() => form.submit()}
      onClose={onClose}
      okTestId="tier-override-submit"
    >
      <Alert type="info" showIcon title={t.overrideText} />
      <Form
        form={form}
        layout="vertical"
        onFinish={(v) =>
          override.mutate({
            code: v.code,
            reason: v.reason.trim(),
            ...(v.validUntil && { validUntil: v.validUntil.endOf('day').toISOString() }),
          })
        }
      >
        <Form.Item name="code" label={t.tier} rules={[{ required: true, message: t.tierRequired }]}>
          <Select
            data-testid="tier-override-code"
            options={ladder.tiers.map((x) => ({
              value: x.code,
              label: (
                <Space size={6}>
                  {x.name}
                  <Typography.Text type="secondary">{x.code}</Typography.Text>
                  {x.code === current && <Tag color="blue">{t.current}</Tag>}
                  {x.inviteOnly && <Tag color="purple">{t.inviteOnly}</Tag>}
                </Space>
              ),
            }))}
          />
        </Form.Item>
        <Form.Item name="validUntil" label={t.validUntil} extra={t.validUntilHelp}>
          <DatePicker
            style={{ width: 220 }}
            disabledDate={(d) => d.isBefore(dayjs(), 'day')}
            data-testid="tier-override-until"
          />
        </Form.Item>
        <ReasonItem testId="tier-override-reason" />
      </Form>
    </ConfirmModal>
  );
}

/** Invite the member to an invite-only tier they qualify for. */
function Invite({
  programId,
  memberId,
  onClose,
  ladder,
  codes,
}: ModalProps & { ladder: Ladder; codes: string[] }) {
  const t = useT(dictionary).actions;
  const api = useApi();
  const { message } = App.useApp();
  const refresh = useRefreshMember(programId, memberId);
  const idempotencyKey = useIdempotencyKey();
  const [code, setCode] = useState(codes[0]);
  const nameOf = (c: string) => ladder.tiers.find((x) => x.code === c)?.name ?? c;

  const invite = useMutation({
    mutationFn: async (c: string) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/members/{memberId}/tier/invite', {
          params: { path: { programId, memberId } },
          headers: { 'Idempotency-Key': idempotencyKey(memberId, c) },
          body: { code: c },
        }),
      ),
    onSuccess: async () => {
      message.success(t.invited);
      onClose();
      await refresh();
    },
  });

  return (
    <ConfirmModal
      title={t.inviteTitle}
      okText={t.invite}
      pending={invite.isPending}
      error={invite.error}
      onOk={() => code && invite.mutate(code)}
      okDisabled={!code}
      onClose={onClose}
      okTestId="tier-invite-submit"
    >
      <Typography.Paragraph style={{ marginBottom: 0 }}>{t.inviteText}</Typography.Paragraph>
      <Radio.Group
        value={code}
        onChange={(e) => setCode(e.target.value as string)}
        options={codes.map((c) => ({ value: c, label: `${nameOf(c)} (${c})` }))}
        style={{ display: 'flex', flexDirection: 'column', gap: 8 }}
        data-testid="tier-invite-code"
      />
    </ConfirmModal>
  );
}

/** Erase the member's personal data everywhere: the coalition admin's, confirmed by the id. */
function Erase({ programId, memberId, onClose }: ModalProps) {
  const t = useT(dictionary).actions;
  const api = useApi();
  const { message } = App.useApp();
  const refresh = useRefreshMember(programId, memberId);
  const idempotencyKey = useIdempotencyKey();
  const [typed, setTyped] = useState('');
  const matches = typed.trim() === memberId;

  const erase = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/members/{memberId}/erase', {
          params: { path: { memberId } },
          headers: { 'Idempotency-Key': idempotencyKey(memberId) },
        }),
      ),
    onSuccess: async () => {
      message.success(t.erased);
      onClose();
      await refresh();
    },
  });

  return (
    <ConfirmModal
      title={t.eraseTitle}
      okText={t.eraseOk}
      danger
      pending={erase.isPending}
      error={erase.error}
      onOk={() => matches && erase.mutate()}
      okDisabled={!matches}
      onClose={onClose}
      okTestId="erase-submit"
    >
      <Alert type="error" showIcon title={t.eraseText} />
      <Space orientation="vertical" size={4} style={{ width: '100%' }}>
        <Typography.Text>{t.eraseConfirm(memberId)}</Typography.Text>
        <Input
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          status={typed && !matches ? 'error' : undefined}
          autoComplete="off"
          spellCheck={false}
          data-testid="erase-confirm"
        />
        {typed && !matches && <Typography.Text type="danger">{t.eraseMismatch}</Typography.Text>}
      </Space>
    </ConfirmModal>
  );
}
