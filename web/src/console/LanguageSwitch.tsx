import { Segmented } from 'antd';
import { LANGS, type Lang, LANG_NAMES as NAMES, useLang } from '../i18n/i18n.tsx';

export function LanguageSwitch() {
  const { lang, setLang } = useLang();
  return (
    <Segmented<Lang>
      size="small"
      value={lang}
      options={LANGS.map((l) => ({ value: l, label: NAMES[l] }))}
      onChange={setLang}
      data-testid="language"
    />
  );
}
