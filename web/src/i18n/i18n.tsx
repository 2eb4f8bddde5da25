import { createContext, type ReactNode, useContext, useMemo, useState } from 'react';

/** The languages of the console and the portal; zh-CN is the default. */
export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];

/** Each language named in itself, so anyone can find theirs. */
export const LANG_NAMES: Record<Lang, string> = { 'zh-CN': '中文', en: 'EN' };

/**
 * A dictionary of one area of the apps, in every language. The zh-CN entries define the shape;
 * the en ones must match it (`dict` checks), so no text is missing in either language.
 */
export type Dict<T> = { 'zh-CN': T; en: T };
export const dict = <T,>(zh: T, en: NoInfer<T>): Dict<T> => ({ 'zh-CN': zh, en });

const STORAGE = 'tessera.lang';

interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
}

const Context = createContext<I18n>({ lang: 'zh-CN', setLang: () => {} });

function initialLang(): Lang {
  const saved = globalThis.localStorage?.getItem(STORAGE);
  return LANGS.find((l) => l === saved) ?? 'zh-CN';
}

/** Holds the chosen language (kept in the browser for next time). */
export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const value = useMemo<I18n>(
    () => ({
      lang,
      setLang(next) {
        localStorage.setItem(STORAGE, next);
        document.documentElement.lang = next;
        setLangState(next);
      },
    }),
    [lang],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export const useLang = () => useContext(Context);

/** An area's texts in the current language. */
export function useT<T>(d: Dict<T>): T {
  return d[useContext(Context).lang];
}

/** Numbers, money and dates as the current language writes them. */
export function useFormat() {
  const { lang } = useContext(Context);
  return useMemo(() => {
    const number = new Intl.NumberFormat(lang);
    const money = new Intl.NumberFormat(lang, { style: 'currency', currency: 'CNY' });
    const date = new Intl.DateTimeFormat(lang, { dateStyle: 'medium' });
    const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
    const toDate = (d: string | Date) => (typeof d === 'string' ? new Date(d) : d);
    return {
      number: (n: number) => number.format(n),
      /** Money is integer fen. */
      money: (fen: number) => money.format(fen / 100),
      date: (d: string | Date) => date.format(toDate(d)),
      dateTime: (d: string | Date) => dateTime.format(toDate(d)),
      percent: (x: number) =>
        new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 0 }).format(x),
    };
  }, [lang]);
}
