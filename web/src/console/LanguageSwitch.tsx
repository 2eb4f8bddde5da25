import { Segmented } from 'antd';
import { type Lang, useLang } from '../i18n/i18n.tsx';

const NAMES: Record<Lang, string> = { 'zh-CN': '中文', en: 'EN' };

/** Each language named in itself, so anyone can find theirs. */
export function LanguageSwitch() {
  const { lang, setLang } = useLang();
  return (
    <Segmented<Lang>
      size="small"
      value={lang}
      options={(Object.keys(NAMES) as Lang[]).map((l) => ({ value: l, label: NAMES[l] }))}
      onChange={setLang}
      data-testid="language"
    />
  );
}
