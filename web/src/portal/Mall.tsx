import { Button, Dialog, Empty, Input, List, Result, Tag } from 'antd-mobile';
import { useCallback, useState } from 'react';
import type { paths } from '../api/schema';
import { useFormat, useT } from '../i18n/i18n.tsx';
import { portalMall } from '../i18n/mall.ts';
import { uuid } from '../uuid.ts';
import {
  CodeDialog,
  CodeItem,
  codeOf,
  Problem,
  Spinner,
  useClient,
  useLoad,
} from './Coalition.tsx';

type Shelf = paths['/v1/portal/rewards']['get']['responses'][200]['content']['application/json'];
type Item = Shelf['data'][number];
type Coupons = paths['/v1/portal/coupons']['get']['responses'][200]['content']['application/json'];
type Coupon = Coupons['data'][number];

/** What the member picked, with the id this confirmation orders under (made once). */
interface Picked {
  item: Item;
  requestId: string;
}

/**
 * The rewards mall at the member's prices: order with points after one confirmation (goods ask
 * where to send them), then the member's orders. One request id per confirmation, so a double
 * tap or a retry orders once.
 */
export function MallView({ token, onChanged }: { token: string; onChanged: () => void }) {
  const t = useT(portalMall).mall;
  const f = useFormat();
  const api = useClient(token);
  const shelf = useLoad(useCallback(async () => (await api.GET('/v1/portal/rewards')).data, [api]));
  const orders = useLoad(useCallback(async () => (await api.GET('/v1/portal/orders')).data, [api]));
  const [picked, setPicked] = useState<Picked | null>(null);
  const [address, setAddress] = useState({ name: '', phone: '', line: '' });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const goods = picked?.item.kind === 'goods';
  const addressReady =
    !goods || (address.name.trim() && address.phone.trim() && address.line.trim());

  const orderNow = async () => {
    if (!picked || !addressReady) return;
    setBusy(true);
    setProblem(null);
    const answer = await api.POST('/v1/portal/orders', {
      body: {
        requestId: picked.requestId,
        items: [{ rewardId: picked.item.rewardId, quantity: 1 }],
        ...(goods && {
          address: {
            name: address.name.trim(),
            phone: address.phone.trim(),
            lines: [address.line.trim()],
          },
        }),
      },
    });
    setBusy(false);
    setPicked(null);
    if (answer.error || !answer.data) {
      setProblem(t.problems[codeOf(answer.error) ?? ''] ?? t.failedOrder);
      return;
    }
    setDone(picked.item.name);
    onChanged();
    void shelf.reload();
    void orders.reload();
  };

  const s = shelf.data;
  if (!s) return shelf.failed ? <Empty description={t.failed} /> : <Spinner />;

  if (done) {
    return (
      <div className="section" data-testid="order-done">
        <Result status="success" title={t.done} description={t.doneBody(done)} />
        <Button block color="primary" onClick={() => setDone(null)}>
          {t.again}
        </Button>
        <OrderList orders={orders.data?.data ?? []} />
      </div>
    );
  }

  return (
    <div data-testid="mall">
      <Dialog
        visible={picked !== null}
        title={t.confirmTitle}
        onClose={() => setPicked(null)}
        closeOnMaskClick
        content={
          picked && (
            <div>
              <div>{t.confirmBody(picked.item.name, f.number(picked.item.pricePoints))}</div>
              {goods && (
                <List header={t.address} className="section" data-testid="order-address">
                  <List.Item>
                    <Input
                      placeholder={t.addressName}
                      value={address.name}
                      onChange={(v) => setAddress({ ...address, name: v })}
                      data-testid="address-name"
                    />
                  </List.Item>
                  <List.Item>
                    <Input
                      placeholder={t.addressPhone}
                      inputMode="tel"
                      value={address.phone}
                      onChange={(v) => setAddress({ ...address, phone: v })}
                      data-testid="address-phone"
                    />
                  </List.Item>
                  <List.Item>
                    <Input
                      placeholder={t.addressLine}
                      value={address.line}
                      onChange={(v) => setAddress({ ...address, line: v })}
                      data-testid="address-line"
                    />
                  </List.Item>
                </List>
              )}
              {!addressReady && <div className="note">{t.addressNeeded}</div>}
            </div>
          )
        }
        actions={[
          [
            { key: 'cancel', text: t.cancel, onClick: () => setPicked(null) },
            {
              key: 'ok',
              text: t.ok,
              bold: true,
              disabled: !addressReady || busy,
              onClick: () => void orderNow(),
            },
          ],
        ]}
        data-testid="order-confirm"
      />
      <div className="section note">{t.intro(f.number(s.available))}</div>
      <Problem text={problem} />
      <List className="section" data-testid="mall-items">
        {s.data.length === 0 ? (
          <List.Item>{t.none}</List.Item>
        ) : (
          s.data.map((r) => (
            <List.Item
              key={r.rewardId}
              data-testid={`mall-item-${r.sku}`}
              description={[
                r.pricePoints !== r.listPricePoints ? t.listPrice(f.number(r.listPricePoints)) : '',
                r.priceCash ? t.cashPart(f.money(r.priceCash)) : '',
                r.stockLeft !== null ? t.left(f.number(r.stockLeft)) : '',
              ]
                .filter(Boolean)
                .join(' · ')}
              extra={
                <Button
                  size="small"
                  color="primary"
                  disabled={!r.affordable}
                  loading={busy && picked?.item.rewardId === r.rewardId}
                  onClick={() => {
                    setProblem(null);
                    // This confirmation, once given, is one order: its id is made now.
                    setPicked({ item: r, requestId: uuid() });
                  }}
                  data-testid={`mall-order-${r.sku}`}
                >
                  {r.affordable || r.priceCash ? t.order : t.tooFew}
                </Button>
              }
            >
              <div>{r.name}</div>
              <div className="price" data-testid={`mall-price-${r.sku}`}>
                {t.points(f.number(r.pricePoints))}
              </div>
            </List.Item>
          ))
        )}
      </List>
      <OrderList orders={orders.data?.data ?? []} />
    </div>
  );
}

type Order = NonNullable<
  paths['/v1/portal/orders']['get']['responses'][200]['content']['application/json']
>['data'][number];

function OrderList({ orders }: { orders: Order[] }) {
  const t = useT(portalMall).mall;
  const f = useFormat();
  return (
    <List header={t.orders} className="section" data-testid="mall-orders">
      {orders.length === 0 ? (
        <List.Item>{t.noOrders}</List.Item>
      ) : (
        orders.map((o) => (
          <List.Item
            key={o.id}
            description={[
              f.dateTime(o.placedAt),
              o.tracking ? `${o.carrier ?? ''} ${o.tracking}` : '',
            ]
              .filter(Boolean)
              .join(' · ')}
            extra={
              <Tag
                color={o.status === 'cancelled' || o.status === 'expired' ? 'default' : 'primary'}
              >
                {t.statuses[o.status] ?? o.status}
              </Tag>
            }
          >
            {o.items.map((i) => `${i.name} × ${i.quantity}`).join(', ')}
            <span className="minus">{` −${f.number(o.points)}`}</span>
          </List.Item>
        ))
      )}
    </List>
  );
}

/** The member's coupons: what each takes off, until when, and its code as a QR to show. */
export function CouponsView({ token }: { token: string }) {
  const t = useT(portalMall).coupons;
  const f = useFormat();
  const api = useClient(token);
  const coupons = useLoad(
    useCallback(async () => (await api.GET('/v1/portal/coupons')).data, [api]),
  );
  const [shown, setShown] = useState<Coupon | null>(null);

  const what = (c: Coupon) => {
    const tpl = c.template;
    if (!tpl) return c.templateId;
    const value =
      tpl.kind === 'amount_off'
        ? t.amountOff(f.money(tpl.amountOffFen ?? 0))
        : tpl.kind === 'percent_off'
          ? t.percentOff(tpl.percentOff ?? 0)
          : tpl.kind === 'gift'
            ? t.gift(tpl.gift ?? '')
            : t.freeShipping;
    return `${tpl.name} · ${value}`;
  };

  const c = coupons.data;
  if (!c) return coupons.failed ? <Empty description={t.failed} /> : <Spinner />;
  return (
    <div data-testid="coupons">
      <div className="section note">{t.intro}</div>
      <List className="section" data-testid="coupon-list">
        {c.data.length === 0 ? (
          <List.Item>{t.none}</List.Item>
        ) : (
          c.data.map((x) => (
            <CodeItem
              key={x.id}
              code={x.code}
              usable={x.status === 'issued'}
              status={t.status[x.status] ?? x.status}
              note={x.expiresAt && t.expires(f.date(x.expiresAt))}
              testId="coupon-code"
              itemTestId={`coupon-${x.id}`}
              onShow={() => setShown(x)}
            >
              {what(x)}
            </CodeItem>
          ))
        )}
      </List>
      {shown && (
        <CodeDialog
          title={shown.template?.name ?? t.show}
          code={shown.code}
          note={shown.expiresAt && t.expires(f.date(shown.expiresAt))}
          closeText={t.close}
          testId="coupon-code"
          onClose={() => setShown(null)}
        />
      )}
    </div>
  );
}
